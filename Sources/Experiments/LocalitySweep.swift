import Foundation
import Models
import Compute

/// One row of a locality sweep: ablation restricted to layers `[start, start + width)`.
public struct LocalityRow: Codable, Sendable {
    public var start: Int
    public var width: Int
    /// Mean refusal score of the prompts (last position, no generation).
    public var refusalScore: Double
    /// Share of greedy completions containing a refusal phrase (nil when generation is off).
    public var refusalRate: Double?
    /// How repetitive those completions are (nil when generation is off).
    public var degeneration: Degeneration?

    enum CodingKeys: String, CodingKey {
        case start, width, degeneration
        case refusalScore = "refusal_score"
        case refusalRate = "refusal_rate"
    }
}

/// The whole sweep, with the baseline (no ablation) and all-layer ablation for reference.
public struct LocalityResult: Codable, Sendable {
    public var layers: Int
    public var baseline: LocalityRow
    public var allLayers: LocalityRow
    public var windows: [LocalityRow]
    public var prompts: Int
    /// The layer the direction was selected at (from its file's metadata), if known.
    public var directionLayer: Int?

    enum CodingKeys: String, CodingKey {
        case layers, baseline, windows, prompts
        case allLayers = "all_layers"
        case directionLayer = "direction_layer"
    }
}

/// Ablates a direction only inside windows of layers and measures how much refusal is left (SPEC §3, locality).
public struct LocalitySweep {
    public let evaluator: RefusalEvaluator
    public let refusalTokens: [Int]
    public var generate = true

    public init(evaluator: RefusalEvaluator, refusalTokens: [Int]) {
        self.evaluator = evaluator
        self.refusalTokens = refusalTokens
    }

    /// `directionLayer` (where the direction was selected) is recorded for the chart.
    public func run(direction: [Float], prompts: [[Int]], widths: [Int], directionLayer: Int? = nil,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> LocalityResult {
        let L = evaluator.model.config.numLayers
        let runner = BatchRunner(model: evaluator.model, batchSize: evaluator.batchSize)
        var windows: [(Int, Int)] = []
        for w in widths where w >= 1 && w <= L { for s in 0...(L - w) { windows.append((s, w)) } }
        let conditions: [(start: Int, width: Int, edits: [ActivationEdit])] =
            [(0, 0, []), (0, L, try Steering.ablation(direction, model: evaluator.model))]
            + (try windows.map { s, w in (s, w, try Steering.ablation(direction, layers: Array(s..<(s + w)), model: evaluator.model)) })
        // Progress counts one unit per condition scored and one per completion generated.
        let total = conditions.count * (generate ? 1 + prompts.count : 1)
        var done = 0
        var scores = [Double](repeating: .nan, count: conditions.count)
        let lock = NSLock()
        try evaluator.model.backend.jobs(conditions.count) { i in
            let score = try runner.meanRefusalScore(prompts, refusalTokens: refusalTokens, edits: conditions[i].edits)
            lock.lock(); defer { lock.unlock() }
            scores[i] = score
            done += 1
            progress(done, total)
        }
        var rates = [Double?](repeating: nil, count: conditions.count)
        var degeneration = [Degeneration?](repeating: nil, count: conditions.count)
        if generate {
            let outs = try evaluator.complete(conditions.map { (prompts, $0.edits) }) { progress(conditions.count + $0, total) }
            rates = outs.map { o in Double(o.filter { RefusalPhrases.isRefusal(evaluator.text($0)) }.count) / Double(max(1, o.count)) }
            degeneration = outs.map { o in Degeneration(completions: o.map { $0.filter { !evaluator.eosTokenIds.contains($0) } }) }
        }
        let rows = conditions.indices.map {
            LocalityRow(start: conditions[$0].start, width: conditions[$0].width, refusalScore: scores[$0], refusalRate: rates[$0],
                        degeneration: degeneration[$0])
        }
        return LocalityResult(layers: L, baseline: rows[0], allLayers: rows[1], windows: Array(rows.dropFirst(2)), prompts: prompts.count,
                              directionLayer: directionLayer)
    }
}
