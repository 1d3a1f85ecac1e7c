import Foundation
import Compute

/// Prompts that share a prefix, for a forward pass without padding: the prefix is computed once and
/// every row attends to it and to its own tokens. All rows of a group get the same edits, so a group is
/// the unit of per-candidate steering.
public struct PackedGroup {
    /// Tokens every row starts with (may be empty).
    public var prefix: [Int]
    /// What follows the prefix in each row; every row needs at least one token (its last token's
    /// next-token logits are the output).
    public var rows: [[Int]]
    /// The block the pass starts at for this group; above 0, `initialState` supplies `resid_pre` of
    /// that block, and blocks below it are not run for this group.
    public var startLayer: Int
    /// `resid_pre[startLayer]` of the group's tokens (`tokenCount × d`: prefix, then each row) in the
    /// model's backend.
    public var initialState: Tensor?
    /// Edits acting on this group's rows only (their `rows` scope is replaced by the group).
    public var edits: [ActivationEdit]
    /// Per row, the token indices (within the row, after the prefix) whose next-token logits the pass
    /// returns; nil: each row's last token only.
    public var logitRanges: [Range<Int>]?

    public init(prefix: [Int], rows: [[Int]], startLayer: Int = 0, initialState: Tensor? = nil, edits: [ActivationEdit] = []) {
        self.prefix = prefix; self.rows = rows; self.startLayer = startLayer
        self.initialState = initialState; self.edits = edits
    }

    /// Logit rows the pass returns for this group.
    public var logitCount: Int { logitRanges?.reduce(0) { $0 + $1.count } ?? rows.count }

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

    /// Consecutive ranges of about equal total size for `parts` passes running at once: as few ranges
    /// as keep each near `budget`, their number rounded up to a multiple of `parts` (while there are
    /// items to go round), so that no thread idles while another runs a long last pass. `chunks(sizes:budget:)`
    /// fills ranges up to the budget and leaves a short remainder: 3,700 tokens at a budget of 3,600
    /// became one pass of 3,600 and one of 100, and two threads ran at one thread's speed.
    public static func balancedChunks(sizes: [Int], budget: Int, parts: Int) -> [Range<Int>] {
        guard !sizes.isEmpty else { return [] }
        let total = sizes.reduce(0, +), p = max(1, parts)
        var n = max(1, (total + max(1, budget) - 1) / max(1, budget))
        n = min(sizes.count, (n + p - 1) / p * p)
        guard n > 1 else { return [0..<sizes.count] }
        // Cut before an item whose midpoint lies past the next of the n - 1 equal boundaries.
        var out: [Range<Int>] = [], start = 0, running = 0
        for (i, size) in sizes.enumerated() {
            let boundary = Double(total) * Double(out.count + 1) / Double(n)
            if i > start, out.count < n - 1, Double(running) + Double(size) / 2 > boundary {
                out.append(start..<i); start = i
            }
            running += size
        }
        out.append(start..<sizes.count)
        return out
    }

    /// `balancedChunks(sizes:budget:parts:)` of the prompts' lengths.
    public static func balancedChunks(_ prompts: [[Int]], budget: Int, parts: Int) -> [Range<Int>] {
        balancedChunks(sizes: prompts.map(\.count), budget: budget, parts: parts)
    }

    /// Tokens per pass that keep one pass's activations near `bytes` (at most 4096 tokens). By default
    /// `concurrentPasses` passes running at once share 1 GB (at least 32 MB each).
    public static func tokenBudget(_ c: ModelConfig, concurrentPasses: Int = 1, bytes: Int? = nil) -> Int {
        let budget = bytes ?? max(32 << 20, (1 << 30) / max(1, concurrentPasses))
        let qkv = c.blocks.map(\.attention.qkvWidth).max() ?? 0
        let perToken = 4 * (4 * c.hiddenSize + 2 * qkv + 3 * c.intermediateSize)
        return max(64, min(4096, budget / max(1, perToken)))
    }

    /// Token index (within the group) of where each row starts.
    public var rowStarts: [Int] {
        var out: [Int] = [], t = prefix.count
        for r in rows { out.append(t); t += r.count }
        return out
    }
}

extension LanguageModel {
    /// One forward pass over packed groups; returns the next-token logits of every row's last token
    /// (or of its `logitRanges`), `[Σ logit rows × vocab]` in group order. With `stopAtLayer: l` the pass ends after the `resid_pre`
    /// edits of block `l` and returns nil (for captures). `extraEdits` act on every group (captures
    /// address rows of the pass: see `packedLayout`).
    ///
    /// Numerically this is `prefill` of each row alone (positions count from 0 at the prefix).
    /// Groups are run in order of `startLayer`, so that at every block the active tokens are one
    /// contiguous block of rows and each matrix product covers exactly the tokens that need it.
    public func forwardPacked(_ groups: [PackedGroup], stopAtLayer: Int? = nil, extraEdits: [ActivationEdit] = [],
                              workspace: Workspace? = nil) throws -> FloatBuffer? {
        guard !groups.isEmpty else { throw ModelError.badInput("forwardPacked: no groups") }
        for g in groups {
            guard !g.rows.isEmpty, g.rows.allSatisfy({ !$0.isEmpty }) else {
                throw ModelError.badInput("forwardPacked: every group needs rows, and every row a token after the prefix")
            }
            if let r = g.logitRanges {
                guard r.count == g.rows.count, zip(r, g.rows).allSatisfy({ $0.lowerBound >= 0 && $0.upperBound <= $1.count }) else {
                    throw ModelError.badInput("forwardPacked: logit ranges must lie within their rows")
                }
            }
            guard (0..<config.numLayers).contains(g.startLayer), g.startLayer == 0 || g.initialState != nil else {
                throw ModelError.badInput("forwardPacked: start layer \(g.startLayer) needs 0..<\(config.numLayers) and an initial state above 0")
            }
        }
        let plan = PackedPlan(groups)
        var edits = extraEdits
        for (k, gi) in plan.order.enumerated() { edits += groups[gi].edits.map { $0.scoped(to: [k]) } }
        let ws = workspace ?? Workspace(backend: backend)
        let store = ws.scratchStore(slots: plan.input.rows, config: config)
        guard let logits = try forward(plan.input, kv: store, edits: edits.isEmpty ? nil : prepare(edits),
                                       stopAtLayer: stopAtLayer, workspace: ws) else { return nil }
        return plan.inGroupOrder(logits, vocab: config.vocabSize)
    }

    /// The rows a packed pass of `groups` gives each group's tokens (prefix, then each row), in the
    /// caller's group order: what captures passed as `extraEdits` address.
    public func packedRows(_ groups: [PackedGroup]) -> [Range<Int>] {
        let plan = PackedPlan(groups)
        var out = [Range<Int>](repeating: 0..<0, count: groups.count)
        for (k, gi) in plan.order.enumerated() { out[gi] = plan.input.groups[k].rows }
        return out
    }
}

/// Where every group's tokens sit in a packed pass: groups in order of start layer, each group's
/// prefix then its rows, slot = row.
struct PackedPlan {
    /// Group indices in run order (stable by start layer).
    let order: [Int]
    let input: ForwardInput
    /// Per group (run order): the number of logit rows.
    let rowCounts: [Int]
    /// Per group (caller order): the first output row of its logits.
    let outputStart: [Int]

    init(_ groups: [PackedGroup]) {
        order = groups.indices.sorted { (groups[$0].startLayer, $0) < (groups[$1].startLayer, $1) }
        var layout = SequenceLayout(), tokens: [Int] = [], info: [RowInfo] = [], rowGroups: [RowGroup] = [], logits: [Int] = []
        var sequence = 0
        for gi in order {
            let g = groups[gi], first = tokens.count, P = g.prefix.count
            let prefixRun = KVRun(slot: first, position: 0, count: P)
            if P > 0 {
                let c = layout.addContext([prefixRun])
                layout.addRows(count: P, firstPosition: 0, firstSlot: first, context: c)
                tokens += g.prefix
                info += (0..<P).map { RowInfo(sequence: -1, position: $0, promptLength: P) }
            }
            for (ri, r) in g.rows.enumerated() {
                let own = tokens.count
                let c = layout.addContext((P > 0 ? [prefixRun] : []) + [KVRun(slot: own, position: P, count: r.count)])
                layout.addRows(count: r.count, firstPosition: P, firstSlot: own, context: c)
                tokens += r
                info += (0..<r.count).map { RowInfo(sequence: sequence, position: P + $0, promptLength: P + r.count) }
                if let ranges = g.logitRanges { logits += ranges[ri].map { own + $0 } } else { logits.append(tokens.count - 1) }
                sequence += 1
            }
            rowGroups.append(RowGroup(rows: first..<tokens.count, startLayer: g.startLayer, initialState: g.initialState))
        }
        input = ForwardInput(layout: layout, tokens: tokens, info: info, groups: rowGroups, logitRows: logits)
        rowCounts = order.map { groups[$0].logitCount }
        var out: [Int] = [], o = 0
        for g in groups { out.append(o); o += g.logitCount }
        outputStart = out
    }

    /// Reorders last-token logits from run order to the caller's group order.
    func inGroupOrder(_ logits: FloatBuffer, vocab: Int) -> FloatBuffer {
        if order == Array(order.indices) { return logits }
        let out = FloatBuffer(uninitializedCount: logits.count)
        var src = 0
        for (k, gi) in order.enumerated() {
            (out.pointer + outputStart[gi] * vocab).update(from: logits.pointer + src * vocab, count: rowCounts[k] * vocab)
            src += rowCounts[k]
        }
        return out
    }
}
