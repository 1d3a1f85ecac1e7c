import Foundation
import Models

/// `evaluation.json`: the held-out results of a run, in the keys other tools read (rates in [0, 1]).
public struct RefusalEvaluationSummary: Codable, Sendable {
    public struct Selected: Codable, Sendable { public var position: Int; public var layer: Int }
    /// Rates of the five conditions; NaN (written `null`) for a condition with no prompts.
    public struct Rates: Codable, Sendable {
        public var harmfulBaseline, harmfulAblation, harmfulSubtraction, harmlessBaseline, harmlessAddition: Double
        enum CodingKeys: String, CodingKey {
            case harmfulBaseline = "harmful_baseline", harmfulAblation = "harmful_ablation"
            case harmfulSubtraction = "harmful_subtraction", harmlessBaseline = "harmless_baseline"
            case harmlessAddition = "harmless_addition"
        }

        public init(harmfulBaseline: Double, harmfulAblation: Double, harmfulSubtraction: Double, harmlessBaseline: Double,
                    harmlessAddition: Double) {
            self.harmfulBaseline = harmfulBaseline; self.harmfulAblation = harmfulAblation
            self.harmfulSubtraction = harmfulSubtraction; self.harmlessBaseline = harmlessBaseline
            self.harmlessAddition = harmlessAddition
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            harmfulBaseline = try c.decodeNumberOrNaN(.harmfulBaseline); harmfulAblation = try c.decodeNumberOrNaN(.harmfulAblation)
            harmfulSubtraction = try c.decodeNumberOrNaN(.harmfulSubtraction)
            harmlessBaseline = try c.decodeNumberOrNaN(.harmlessBaseline); harmlessAddition = try c.decodeNumberOrNaN(.harmlessAddition)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            for (k, v) in [(CodingKeys.harmfulBaseline, harmfulBaseline), (.harmfulAblation, harmfulAblation),
                           (.harmfulSubtraction, harmfulSubtraction), (.harmlessBaseline, harmlessBaseline),
                           (.harmlessAddition, harmlessAddition)] { try c.encodeNumberOrNull(v, forKey: k) }
        }
    }

    /// Mean cross-entropy per reply token; NaN (written `null`) when the harmless replies have no tokens.
    public struct Loss: Codable, Sendable {
        public var baseline, ablation, addition: Double
        enum CodingKeys: String, CodingKey { case baseline, ablation, addition }

        public init(baseline: Double, ablation: Double, addition: Double) {
            self.baseline = baseline; self.ablation = ablation; self.addition = addition
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            baseline = try c.decodeNumberOrNaN(.baseline); ablation = try c.decodeNumberOrNaN(.ablation)
            addition = try c.decodeNumberOrNaN(.addition)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            for (k, v) in [(CodingKeys.baseline, baseline), (.ablation, ablation), (.addition, addition)] {
                try c.encodeNumberOrNull(v, forKey: k)
            }
        }
    }
    public struct Counts: Codable, Sendable {
        public var harmfulTest, harmlessTest: Int
        enum CodingKeys: String, CodingKey { case harmfulTest = "harmful_test", harmlessTest = "harmless_test" }
    }

    /// The generation conditions, in report order.
    public static let conditions = ["harmful_baseline", "harmful_ablation", "harmful_subtraction", "harmless_baseline", "harmless_addition"]

    public var selected: Selected
    public var refusalRate: Rates
    /// Per condition: refusals out of completions, with the Wilson 95% interval of the rate.
    public var refusalRateCI: [String: WilsonInterval]?
    /// Per condition: how repetitive the completions are (`Degeneration`).
    public var degeneration: [String: Degeneration]?
    /// Mean KL of the ablation on harmless prompts; NaN (written `null`) when there are none.
    public var klHarmlessAblation: Double
    public var ceLoss: Loss
    public var n: Counts
    /// Seconds per stage (filled by the pipeline).
    public var timings: [String: Double] = [:]
    public var maxNewTokens: Int

    enum CodingKeys: String, CodingKey {
        case selected, n, timings
        case refusalRate = "refusal_rate"
        case refusalRateCI = "refusal_rate_ci"
        case degeneration
        case klHarmlessAblation = "kl_harmless_ablation"
        case ceLoss = "ce_loss"
        case maxNewTokens = "max_new_tokens"
    }

    public init(selected: Selected, refusalRate: Rates, refusalRateCI: [String: WilsonInterval]?, degeneration: [String: Degeneration]?,
                klHarmlessAblation: Double, ceLoss: Loss, n: Counts, timings: [String: Double] = [:], maxNewTokens: Int) {
        self.selected = selected; self.refusalRate = refusalRate; self.refusalRateCI = refusalRateCI
        self.degeneration = degeneration; self.klHarmlessAblation = klHarmlessAblation; self.ceLoss = ceLoss; self.n = n
        self.timings = timings; self.maxNewTokens = maxNewTokens
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        selected = try c.decode(Selected.self, forKey: .selected)
        refusalRate = try c.decode(Rates.self, forKey: .refusalRate)
        refusalRateCI = try c.decodeIfPresent([String: WilsonInterval].self, forKey: .refusalRateCI)
        degeneration = try c.decodeIfPresent([String: Degeneration].self, forKey: .degeneration)
        klHarmlessAblation = try c.decodeNumberOrNaN(.klHarmlessAblation)
        ceLoss = try c.decode(Loss.self, forKey: .ceLoss)
        n = try c.decode(Counts.self, forKey: .n)
        timings = try c.decodeIfPresent([String: Double].self, forKey: .timings) ?? [:]
        maxNewTokens = try c.decode(Int.self, forKey: .maxNewTokens)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(selected, forKey: .selected)
        try c.encode(refusalRate, forKey: .refusalRate)
        try c.encodeIfPresent(refusalRateCI, forKey: .refusalRateCI)
        try c.encodeIfPresent(degeneration, forKey: .degeneration)
        try c.encodeNumberOrNull(klHarmlessAblation, forKey: .klHarmlessAblation)
        try c.encode(ceLoss, forKey: .ceLoss)
        try c.encode(n, forKey: .n)
        try c.encode(timings, forKey: .timings)
        try c.encode(maxNewTokens, forKey: .maxNewTokens)
    }

    /// The five generation conditions, their prompts and hooks, then KL and loss on the harmless prompts.
    /// `keys.baseline` keys what the baseline conditions depend on (model, test prompts, generation length),
    /// `keys.direction` (derived from it) that plus the direction and its layer: completions and the KL / loss passes are cached
    /// under them, so a rerun that selects the same direction (other thresholds, a resume) runs no pass, and
    /// one that selects another regenerates only the conditions with edits.
    static func compute(evaluator: RefusalEvaluator, direction: [Float], position: Int, layer: Int, harmful: [String], harmless: [String],
                        encode: ([String]) throws -> [[Int]], store: RunStore, keys: (baseline: String, direction: String),
                        progress: ProgressHandler) throws -> RefusalEvaluationSummary {
        let harmfulIds = try encode(harmful), harmlessIds = try encode(harmless)
        let model = evaluator.model
        let ablation = try Steering.ablation(direction, model: model)
        let addition = try Steering.addition(direction, layer: layer, scale: 1, model: model)
        let conditions = [
            EvaluationCondition(name: "harmful_baseline", texts: harmful, ids: harmfulIds, edits: [], key: keys.baseline),
            EvaluationCondition(name: "harmful_ablation", texts: harmful, ids: harmfulIds, edits: ablation, key: keys.direction),
            EvaluationCondition(name: "harmful_subtraction", texts: harmful, ids: harmfulIds,
                                edits: try Steering.addition(direction, layer: layer, scale: -1, model: model), key: keys.direction),
            EvaluationCondition(name: "harmless_baseline", texts: harmless, ids: harmlessIds, edits: [], key: keys.baseline),
            EvaluationCondition(name: "harmless_addition", texts: harmless, ids: harmlessIds, edits: addition, key: keys.direction),
        ]
        let results = try ConditionResults.generate(conditions, evaluator: evaluator, store: store, progress: progress)
        let rates = results.rates, records = results.records
        let responses = (records["harmless_baseline"] ?? []).map(\.tokens)
        let damage = try store.cached("damage.json", key: store.key(keys.direction, "damage"), keep: \.isFinite) {
            try evaluator.damage(prompts: harmlessIds, responses: responses, conditions: [ablation, addition]) {
                progress("KL and loss", $0, harmlessIds.count)
            }
        }
        let kl = damage.kl[0]
        let ce = Loss(baseline: damage.baselineCE, ablation: damage.ce[0], addition: damage.ce[1])
        return RefusalEvaluationSummary(
            selected: Selected(position: position, layer: layer),
            refusalRate: Rates(harmfulBaseline: rates["harmful_baseline"] ?? .nan, harmfulAblation: rates["harmful_ablation"] ?? .nan,
                               harmfulSubtraction: rates["harmful_subtraction"] ?? .nan,
                               harmlessBaseline: rates["harmless_baseline"] ?? .nan,
                               harmlessAddition: rates["harmless_addition"] ?? .nan),
            refusalRateCI: results.intervals, degeneration: results.degeneration, klHarmlessAblation: kl, ceLoss: ce, n: Counts(harmfulTest: harmful.count, harmlessTest: harmless.count),
            maxNewTokens: evaluator.maxNewTokens)
    }
}
