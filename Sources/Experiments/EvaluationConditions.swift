import Foundation
import Models

/// One generation condition of a held-out evaluation: its name (e.g. `harmful_ablation`), prompts and edits,
/// and the cache key its completions are checkpointed under (a key of what they depend on, so that runs that
/// share a condition, such as the baselines of two selections, share its completions).
struct EvaluationCondition {
    var name: String
    var texts: [String]
    var ids: [[Int]]
    var edits: [ActivationEdit]
    var key: String

    /// The checkpoint of its completions in the run's cache.
    var cacheName: String { "\(key)-\(name).jsonl" }
}

/// Greedy completions of several conditions (SPEC §3.8) and what is read from them: refusal rate by
/// substring, its Wilson 95% interval, and how degenerate the completions are. Shared by `steer refusal`
/// and `steer leace`.
struct ConditionResults {
    var records: [String: [CompletionRecord]] = [:]
    var rates: [String: Double] = [:]
    var intervals: [String: WilsonInterval] = [:]
    var degeneration: [String: Degeneration] = [:]

    /// Generates every condition not already checkpointed under its key in the run's cache (all missing ones
    /// together, as one list of batches), checkpoints them, and publishes `completions/<name>.jsonl`.
    static func generate(_ conditions: [EvaluationCondition], evaluator: RefusalEvaluator, store: RunStore,
                         stage: String = "evaluation", progress: ProgressHandler) throws -> ConditionResults {
        let total = conditions.reduce(0) { $0 + $1.texts.count }
        var cached: [String: [CompletionRecord]] = [:]
        for c in conditions {
            let rows = store.readLines(CompletionRecord.self, cacheName: c.cacheName)
            if rows.count == c.texts.count { cached[c.name] = rows }
        }
        let missing = conditions.filter { cached[$0.name] == nil }
        let already = total - missing.reduce(0) { $0 + $1.texts.count }
        progress(stage, already, total)
        let outs = try evaluator.complete(missing.map { ($0.ids, $0.edits) }) { progress(stage, already + $0, total) }
        for (c, tokens) in zip(missing, outs) {
            let rows = zip(c.texts, tokens).map { text, tokens in
                let completion = evaluator.text(tokens)
                return CompletionRecord(condition: c.name, prompt: text, completion: completion,
                                        refusal: RefusalPhrases.isRefusal(completion), tokens: tokens)
            }
            try? FileManager.default.removeItem(at: store.cache.appendingPathComponent(c.cacheName))
            for r in rows { try store.appendLine(r, cacheName: c.cacheName) }
            cached[c.name] = rows
        }
        var out = ConditionResults()
        for c in conditions {
            let rows = cached[c.name] ?? []
            try store.writeLines(rows, "completions/\(c.name).jsonl")
            out.rates[c.name] = Double(rows.filter(\.refusal).count) / Double(max(1, rows.count))
            out.intervals[c.name] = Statistics.wilson(rows.map(\.refusal))
            out.degeneration[c.name] = Degeneration(completions: rows.map { $0.tokens.filter { !evaluator.eosTokenIds.contains($0) } })
            out.records[c.name] = rows
        }
        return out
    }
}
