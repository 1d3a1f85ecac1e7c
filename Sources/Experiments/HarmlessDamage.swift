import Foundation
import Models
import Compute

/// The damage an edit does on harmless prompts (SPEC §3.8): cross-entropy of the baseline's replies,
/// token-weighted over reply tokens, and the mean KL(baseline ‖ edited) of the next-token distribution
/// after each prompt.
public struct HarmlessDamage: Codable, Sendable {
    /// Cross-entropy of the replies without edits (NaN when no reply has a token).
    public var baselineCE: Double
    /// Per edit set, in the order given: cross-entropy under it and KL from the baseline.
    public var ce: [Double]
    public var kl: [Double]

    /// Whether JSON can hold every number (a run caches only such results).
    var isFinite: Bool { ([baselineCE] + ce + kl).allSatisfy(\.isFinite) }
}

extension RefusalEvaluator {
    /// `HarmlessDamage` of each edit set in `conditions`, from teacher-forced packed passes over
    /// `prompts[i] + responses[i]`.
    ///
    /// One pass per condition plus the baseline's, where cross-entropy and KL used to take two passes
    /// each: the KL rows (after the prompt) are the first rows of the cross-entropy pass; logits are
    /// computed only for the rows that predict a reply token; prompts share their common prefix; and a
    /// condition whose edits all act at layer `l` or above starts at block `l` from the baseline pass's
    /// `resid_pre[l]` (blocks below it compute what the baseline computed). Chunks of prompts run on
    /// every thread at once; sums are taken in prompt order. `progress(prompts done)` is called after each
    /// chunk, one call at a time.
    public func damage(prompts: [[Int]], responses: [[Int]], conditions: [[ActivationEdit]],
                       progress: (Int) -> Void = { _ in }) throws -> HarmlessDamage {
        guard prompts.count == responses.count else { throw ModelError.badInput("damage: \(prompts.count) prompts, \(responses.count) replies") }
        if let empty = prompts.firstIndex(where: \.isEmpty) { throw ModelError.badInput("prompt \(empty) has no tokens") }
        let v = model.config.vocabSize, be = model.backend, d = model.config.hiddenSize
        let starts = conditions.map(Self.firstLayer)
        let cached = Set(starts.filter { $0 > 0 })
        // Logit rows per prompt: the ones predicting its reply, or the one after the prompt when it has none.
        let logitRows = responses.map { max(1, $0.count) }
        let rowBudget = max(64, (256 << 20) / (4 * max(1, v)))
        let chunks = PackedGroup.balancedChunks(sizes: logitRows, budget: rowBudget, parts: be.threads)
        var perPrompt = [(ce: [Double], kl: [Double])](repeating: ([], []), count: prompts.count)
        let lock = NSLock(), pool = Workspace.Pool(backend: be)
        var done = 0
        try be.jobs(chunks.count) { k in
            let range = chunks[k]
            var group = PackedGroup(prompts: Array(prompts[range]))
            let P = group.prefix.count
            group.rows = range.map { Array((prompts[$0] + responses[$0]).dropFirst(P)) }
            group.logitRanges = range.map { i in
                let first = prompts[i].count - 1 - P
                return first..<(first + logitRows[i])
            }
            let states = Dictionary(uniqueKeysWithValues: cached.map { ($0, be.tensor(rows: group.tokenCount, cols: d)) })
            let capture = states.isEmpty ? [] : [ActivationEdit(point: .residPre, layers: cached.sorted(),
                                                                 op: .capture(Capture(rows: Array(0..<group.tokenCount), mode: .copy(states))))]
            guard let base = try pool.with({ try model.forwardPacked([group], extraEdits: capture, workspace: $0) }) else { return }
            var results = range.map { _ in (ce: [Double](), kl: [Double]()) }
            var references: [RefusalMetrics.Reference] = []
            var row = 0
            for (j, i) in range.enumerated() {
                references.append(RefusalMetrics.Reference(base.pointer + row * v, vocab: v))
                results[j].ce.append(Self.replyCE(base.pointer + row * v, vocab: v, reply: responses[i]))
                row += logitRows[i]
            }
            for (c, edits) in conditions.enumerated() {
                var g = group
                g.edits = edits
                if starts[c] > 0, let state = states[starts[c]] { g.startLayer = starts[c]; g.initialState = state }
                guard let out = try pool.with({ try model.forwardPacked([g], workspace: $0) }) else { return }
                row = 0
                for (j, i) in range.enumerated() {
                    let ptr = out.pointer + row * v
                    results[j].ce.append(Self.replyCE(ptr, vocab: v, reply: responses[i]))
                    results[j].kl.append(references[j].kl(ptr))
                    row += logitRows[i]
                }
            }
            lock.lock(); defer { lock.unlock() }
            for (j, i) in range.enumerated() { perPrompt[i] = results[j] }
            done += range.count
            progress(done)
        }
        let tokens = responses.reduce(0) { $0 + $1.count }
        func meanCE(_ c: Int) -> Double {
            tokens == 0 ? .nan : zip(perPrompt, responses).reduce(0.0) { $0 + $1.0.ce[c] * Double($1.1.count) } / Double(tokens)
        }
        func meanKL(_ c: Int) -> Double {
            perPrompt.isEmpty ? .nan : perPrompt.reduce(0.0) { $0 + $1.kl[c] } / Double(perPrompt.count)
        }
        return HarmlessDamage(baselineCE: meanCE(0), ce: conditions.indices.map { meanCE($0 + 1) },
                              kl: conditions.indices.map(meanKL))
    }

    /// Mean cross-entropy of a reply from the logit rows that predict it (0 for an empty reply, which
    /// weighs nothing).
    static func replyCE(_ logits: UnsafePointer<Float>, vocab: Int, reply: [Int]) -> Double {
        reply.isEmpty ? 0 : RefusalMetrics.crossEntropy(logits, vocab: vocab, targets: reply)
    }

    /// The lowest block any of `edits` acts at (0 when one acts at every layer): blocks below it are
    /// the baseline's, so a pass may start there from the baseline's `resid_pre`.
    static func firstLayer(_ edits: [ActivationEdit]) -> Int {
        edits.map { $0.layers?.min() ?? 0 }.min() ?? 0
    }
}
