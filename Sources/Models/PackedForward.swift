import Foundation
import TensorKit

/// Prompts that share a prefix, for a forward pass without padding: the prefix is computed once and
/// every row attends to it and to its own tokens. All rows of a group get the same intervention
/// (`hook`), so a group is the unit of per-candidate steering.
public struct PackedGroup {
    /// Tokens every row starts with (may be empty).
    public var prefix: [Int]
    /// What follows the prefix in each row; every row needs at least one token (its last token's
    /// next-token logits are the output).
    public var rows: [[Int]]
    /// The block the pass starts at for this group; above 0, `initialState` supplies `resid_pre` of
    /// that block, and blocks below it are not run for this group.
    public var startLayer: Int
    /// Writes `resid_pre[startLayer]` of the group's tokens (`tokenCount × d`: prefix, then each row).
    public var initialState: ((UnsafeMutablePointer<Float>) -> Void)?
    /// Hook functions of this group (see `PackedActivation`).
    public var hook: ((PackedActivation) -> Void)?

    public init(prefix: [Int], rows: [[Int]], startLayer: Int = 0,
                initialState: ((UnsafeMutablePointer<Float>) -> Void)? = nil, hook: ((PackedActivation) -> Void)? = nil) {
        self.prefix = prefix; self.rows = rows; self.startLayer = startLayer
        self.initialState = initialState; self.hook = hook
    }

    /// Prefix tokens plus every row's tokens.
    public var tokenCount: Int { prefix.count + rows.reduce(0) { $0 + $1.count } }

    /// The longest common prefix of `prompts`, kept short enough that every prompt has at least
    /// `keep` tokens (and always one) left after it.
    public static func sharedPrefixLength(_ prompts: [[Int]], keep: Int = 1) -> Int {
        guard var n = prompts.map(\.count).min() else { return 0 }
        n -= max(1, keep)
        for p in prompts.dropFirst() {
            var i = 0
            while i < n, p[i] == prompts[0][i] { i += 1 }
            n = i
        }
        return max(0, n)
    }

    /// One group of `prompts` that shares their common prefix (leaving `keep` tokens in every row).
    public init(prompts: [[Int]], keep: Int = 1, startLayer: Int = 0) {
        let p = Self.sharedPrefixLength(prompts, keep: keep)
        self.init(prefix: Array(prompts.first?.prefix(p) ?? []), rows: prompts.map { Array($0.dropFirst(p)) },
                  startLayer: startLayer)
    }

    /// Consecutive ranges of `prompts` of at most `budget` tokens each (a longer prompt gets a range of its own).
    public static func chunks(_ prompts: [[Int]], budget: Int) -> [Range<Int>] {
        chunks(sizes: prompts.map(\.count), budget: budget)
    }

    /// Consecutive ranges of items whose sizes add up to at most `budget` (a larger item gets a range of its own).
    public static func chunks(sizes: [Int], budget: Int) -> [Range<Int>] {
        var out: [Range<Int>] = [], start = 0, total = 0
        for (i, size) in sizes.enumerated() {
            if i > start && total + size > budget { out.append(start..<i); start = i; total = 0 }
            total += size
        }
        if start < sizes.count { out.append(start..<sizes.count) }
        return out
    }

    /// Tokens per pass that keep one pass's activations near `bytes` (at most 4096 tokens). By default
    /// the passes running at once on `Parallel.threads` threads share 1 GB (at least 32 MB each).
    public static func tokenBudget(_ c: ModelConfig, bytes: Int = max(32 << 20, (1 << 30) / max(1, Parallel.threads))) -> Int {
        let perToken = 4 * (4 * c.hiddenSize + 2 * (c.qDim + 2 * c.kvDim) + 3 * c.intermediateSize)
        return max(64, min(4096, bytes / max(1, perToken)))
    }

    /// Token index (within the group) of where each row starts.
    public var rowStarts: [Int] {
        var out: [Int] = [], t = prefix.count
        for r in rows { out.append(t); t += r.count }
        return out
    }
}

/// The activation a packed group's hook sees and may change in place: `rows × width` floats.
/// Up to the last block's attention these are all the group's tokens (prefix, then each row);
/// from the last block's attention output on they are only each row's last token, since nothing
/// else reaches the logits.
public struct PackedActivation {
    public let point: HookPoint
    public let layer: Int
    public let data: UnsafeMutablePointer<Float>
    public let rows: Int
    public let width: Int
    /// True when the rows are the last tokens of the group's rows only.
    public let lastTokensOnly: Bool
}

extension LanguageModel {
    /// One forward pass over packed groups; returns the next-token logits of every row's last token,
    /// `[Σ rows × vocab]` in group order. With `stopAtLayer: l` the pass ends after the `resid_pre`
    /// hooks of block `l` and returns nil (for captures).
    ///
    /// Numerically this is `prefill` of each row alone (positions count from 0 at the prefix).
    /// Groups are run in order of `startLayer`, so that at every block the active tokens are one
    /// contiguous block of rows and each matrix product covers exactly the tokens that need it.
    /// `workspace` lends buffers kept from an earlier pass on this thread.
    public func forwardPacked(_ groups: [PackedGroup], stopAtLayer: Int? = nil,
                              workspace: PackedWorkspace? = nil) throws -> FloatBuffer? {
        let c = config, d = c.hiddenSize, L = c.numLayers
        guard !groups.isEmpty else { throw ModelError.badInput("forwardPacked: no groups") }
        for g in groups {
            guard !g.rows.isEmpty, g.rows.allSatisfy({ !$0.isEmpty }) else {
                throw ModelError.badInput("forwardPacked: every group needs rows, and every row a token after the prefix")
            }
            guard (0..<L).contains(g.startLayer), g.startLayer == 0 || g.initialState != nil else {
                throw ModelError.badInput("forwardPacked: start layer \(g.startLayer) needs 0..<\(L) and an initial state above 0")
            }
            try checkTokens(g.prefix)
            for r in g.rows { try checkTokens(r) }
            try checkSequenceLength(g.prefix.count + (g.rows.map(\.count).max() ?? 0))
        }
        let end = min(L - 1, stopAtLayer ?? L - 1)
        let plan = PackedPlan(groups)
        let n = plan.tokens

        let (scratch, x) = (workspace ?? PackedWorkspace()).buffers(config: c, rows: n)
        let (cosT, sinT) = c.rope.tables(positions: plan.positions, sequenceLength: (plan.positions.max() ?? 0) + 1)
        var active = 0   // groups (in plan order) that have started
        for l in 0...end {
            while active < plan.order.count, groups[plan.order[active]].startLayer <= l {
                let g = groups[plan.order[active]], at = x.pointer + plan.tokenStart[active] * d
                if g.startLayer == 0 { embed(g.prefix + g.rows.flatMap { $0 }, into: at) } else { g.initialState?(at) }
                active += 1
            }
            let tokens = active == plan.order.count ? n : plan.tokenStart[active]
            let w = layers[l]
            let full = plan.hook(groups, layer: l, activeGroups: active, lastTokensOnly: false, width: d)
            full?(.residPre, x.pointer)
            if l == stopAtLayer { return nil }
            attentionInput(w, x: x.pointer, n: tokens, scratch: scratch, cos: cosT.pointer, sin: sinT.pointer)
            let last = l == L - 1
            // In the last block only each row's last token matters once keys and values exist.
            let queries = last ? plan.lastQueries(activeGroups: active) : Array(plan.queries[0..<tokens])
            Attention.packed(qkv: scratch.qkv.pointer, qkvStride: c.qDim + 2 * c.kvDim, heads: c.numHeads,
                             kvHeads: c.numKVHeads, headDim: c.headDim, scale: c.attentionScale,
                             softcap: c.attentionSoftcap, window: c.slidingWindows[l], queries: queries,
                             out: scratch.attn.pointer)
            if last {
                let rows = queries.count
                let xs = FloatBuffer(count: rows * d)
                for (i, q) in queries.enumerated() { (xs.pointer + i * d).update(from: x.pointer + q.token * d, count: d) }
                let compact = plan.hook(groups, layer: l, activeGroups: active, lastTokensOnly: true, width: d)
                attentionOutput(w, x: xs.pointer, n: rows, scratch: scratch, hook: compact)
                mlpBlock(w, x: xs.pointer, n: rows, scratch: scratch, hook: compact)
                let logits = headLogits(xs.pointer, n: rows)
                return plan.inGroupOrder(logits, vocab: c.vocabSize)
            }
            attentionOutput(w, x: x.pointer, n: tokens, scratch: scratch, hook: full)
            mlpBlock(w, x: x.pointer, n: tokens, scratch: scratch, hook: full)
        }
        return nil
    }
}

/// Where every group's tokens sit in a packed pass.
struct PackedPlan {
    /// Group indices in run order (stable by start layer).
    let order: [Int]
    /// First token row of each group, in run order.
    let tokenStart: [Int]
    let tokens: Int
    /// Position of every token row.
    let positions: [Int]
    /// Attention geometry of every token row.
    let queries: [Attention.PackedQuery]
    /// Per group (run order): the token row of each row's last token.
    let lastTokens: [[Int]]
    /// Per group (caller order): the first output row of its logits.
    let outputStart: [Int]

    init(_ groups: [PackedGroup]) {
        order = groups.indices.sorted { (groups[$0].startLayer, $0) < (groups[$1].startLayer, $1) }
        var starts: [Int] = [], positions: [Int] = [], queries: [Attention.PackedQuery] = [], lasts: [[Int]] = []
        var t = 0
        for gi in order {
            let g = groups[gi]
            starts.append(t)
            let pre = t, P = g.prefix.count
            for i in 0..<P {
                positions.append(i)
                queries.append(.init(token: t, position: i, prefixStart: pre, prefixCount: 0, ownStart: pre))
                t += 1
            }
            var groupLasts: [Int] = []
            for r in g.rows {
                let own = t
                for i in 0..<r.count {
                    positions.append(P + i)
                    queries.append(.init(token: t, position: P + i, prefixStart: pre, prefixCount: P, ownStart: own))
                    t += 1
                }
                groupLasts.append(t - 1)
            }
            lasts.append(groupLasts)
        }
        tokenStart = starts
        tokens = t
        self.positions = positions
        self.queries = queries
        lastTokens = lasts
        var out: [Int] = [], o = 0
        for g in groups { out.append(o); o += g.rows.count }
        outputStart = out
    }

    /// The last-token queries of the first `activeGroups` groups (run order).
    func lastQueries(activeGroups: Int) -> [Attention.PackedQuery] {
        lastTokens[0..<activeGroups].flatMap { $0.map { queries[$0] } }
    }

    /// The hook dispatcher of one block: each group's function on its rows (all tokens, or its rows' last tokens).
    func hook(_ groups: [PackedGroup], layer: Int, activeGroups: Int, lastTokensOnly: Bool, width: Int) -> LanguageModel.BlockHook? {
        var calls: [(first: Int, count: Int, fn: (PackedActivation) -> Void)] = []
        var r = 0
        for k in 0..<activeGroups {
            let n = lastTokensOnly ? lastTokens[k].count : ((k + 1 < order.count ? tokenStart[k + 1] : tokens) - tokenStart[k])
            if let fn = groups[order[k]].hook { calls.append((r, n, fn)) }
            r += n
        }
        if calls.isEmpty { return nil }
        return { point, data in
            for call in calls {
                call.fn(PackedActivation(point: point, layer: layer, data: data + call.first * width, rows: call.count,
                                         width: width, lastTokensOnly: lastTokensOnly))
            }
        }
    }

    /// Reorders last-token logits from run order to the caller's group order.
    func inGroupOrder(_ logits: FloatBuffer, vocab: Int) -> FloatBuffer {
        if order == Array(order.indices) { return logits }
        let out = FloatBuffer(count: logits.count)
        var src = 0
        for (k, gi) in order.enumerated() {
            let rows = lastTokens[k].count
            (out.pointer + outputStart[gi] * vocab).update(from: logits.pointer + src * vocab, count: rows * vocab)
            src += rows
        }
        return out
    }
}
