import Foundation
import Models
import Interventions

/// `evaluation.json` of `steer leace`: baseline, LEACE at every fitted layer and (with a direction)
/// directional ablation side by side on held-out prompts. Values the run did not measure (ablation without
/// `--direction`) are `null`; rates are in [0, 1].
public struct LeaceEvaluationSummary: Codable, Sendable {
    /// The per-layer class-mean gap of the fitting activations, before and after erasure.
    public struct Gap: Codable, Sendable {
        public var layers: [Int]
        public var before: [Double]
        public var after: [Double]
    }

    public struct Counts: Codable, Sendable {
        public var harmfulTest, harmlessTest: Int
        public var harmfulFit = 0, harmlessFit = 0
        enum CodingKeys: String, CodingKey {
            case harmfulTest = "harmful_test", harmlessTest = "harmless_test"
            case harmfulFit = "harmful_fit", harmlessFit = "harmless_fit"
        }
    }

    /// The generation conditions, in report order (the ablation ones only with a direction).
    public static let conditions = ["harmful_baseline", "harmful_leace", "harmful_ablation",
                                    "harmless_baseline", "harmless_leace", "harmless_ablation"]

    /// `harmful_baseline`, `harmful_leace`, `harmful_ablation`, `harmless_baseline`, `harmless_leace`, `harmless_ablation`.
    public var refusalRate: [String: Double?]
    /// Mean KL(baseline ‖ edited) of the last-position distributions on harmless test prompts: `leace`, `ablation`.
    public var klHarmless: [String: Double?]
    /// Cross-entropy of the baseline's harmless completions (response tokens): `baseline`, `leace`, `ablation`.
    public var ceLoss: [String: Double?]
    public var classMeanGap = Gap(layers: [], before: [], after: [])
    /// Per condition: refusals out of completions, with the Wilson 95% interval.
    public var refusalRateCI: [String: WilsonInterval]
    /// Per condition: how repetitive the completions are (`Degeneration`).
    public var degeneration: [String: Degeneration]
    /// Layers given the identity eraser, with the reason.
    public var identityLayers: [String: String] = [:]
    /// `-1`, `eoi`, … as given.
    public var positions = ""
    public var n: Counts
    public var maxNewTokens: Int
    /// Seconds per stage.
    public var timings: [String: Double] = [:]

    enum CodingKeys: String, CodingKey {
        case n, positions, timings, degeneration
        case refusalRate = "refusal_rate"
        case klHarmless = "kl_harmless"
        case ceLoss = "ce_loss"
        case classMeanGap = "class_mean_gap"
        case refusalRateCI = "refusal_rate_ci"
        case identityLayers = "identity_layers"
        case maxNewTokens = "max_new_tokens"
    }

    /// Generates the conditions (checkpointed under `key`), then KL and cross-entropy on the harmless prompts
    /// (cached under `key` too).
    static func compute(evaluator: RefusalEvaluator, erasure: LeaceErasure, direction: [Float]?, harmful: [String], harmless: [String],
                        encode: ([String]) throws -> [[Int]], store: RunStore, key: String,
                        progress: ProgressHandler) throws -> LeaceEvaluationSummary {
        let model = evaluator.model
        let harmfulIds = try encode(harmful), harmlessIds = try encode(harmless)
        let leace = try erasure.edits(for: model)
        let ablation = try direction.map { try Steering.ablation($0, model: model) }
        var conditions = [
            EvaluationCondition(name: "harmful_baseline", texts: harmful, ids: harmfulIds, edits: [], key: key),
            EvaluationCondition(name: "harmful_leace", texts: harmful, ids: harmfulIds, edits: leace, key: key),
            EvaluationCondition(name: "harmless_baseline", texts: harmless, ids: harmlessIds, edits: [], key: key),
            EvaluationCondition(name: "harmless_leace", texts: harmless, ids: harmlessIds, edits: leace, key: key),
        ]
        if let ablation {
            conditions.insert(EvaluationCondition(name: "harmful_ablation", texts: harmful, ids: harmfulIds, edits: ablation, key: key), at: 2)
            conditions.append(EvaluationCondition(name: "harmless_ablation", texts: harmless, ids: harmlessIds, edits: ablation, key: key))
        }
        let results = try ConditionResults.generate(conditions, evaluator: evaluator, store: store, progress: progress)
        let responses = (results.records["harmless_baseline"] ?? []).map(\.tokens)
        // Cached with the completions: a repeated run runs no pass.
        let damage = harmless.isEmpty ? nil : try store.cached("damage.json", key: store.key(key, "damage"), keep: \.isFinite) {
            try evaluator.damage(prompts: harmlessIds, responses: responses, conditions: [leace] + (ablation.map { [$0] } ?? [])) {
                progress("KL and loss", $0, harmlessIds.count)
            }
        }
        var rates: [String: Double?] = [:]
        for c in conditions { rates[c.name] = results.rates[c.name] }
        for c in Self.conditions where rates[c] == nil { rates[c] = .some(nil) }
        // JSON has no NaN: a measure without prompts or tokens is null.
        func finite(_ v: Double?) -> Double? { v.flatMap { $0.isFinite ? $0 : nil } }
        return LeaceEvaluationSummary(
            refusalRate: rates.mapValues(finite),
            klHarmless: ["leace": finite(damage?.kl[0]), "ablation": finite(ablation == nil ? nil : damage?.kl[1])],
            ceLoss: ["baseline": finite(damage?.baselineCE), "leace": finite(damage?.ce[0]),
                     "ablation": finite(ablation == nil ? nil : damage?.ce[1])],
            refusalRateCI: results.intervals, degeneration: results.degeneration.filter { $0.value.degenerate.trials > 0 },
            n: Counts(harmfulTest: harmful.count, harmlessTest: harmless.count), maxNewTokens: evaluator.maxNewTokens)
    }

    /// A rate, KL or loss by key (nil when not measured).
    public func value(_ table: [String: Double?], _ key: String) -> Double? { table[key] ?? nil }
}
