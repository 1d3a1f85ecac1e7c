import Foundation
import Models

/// One row of a locality sweep: ablation restricted to layers `[start, start + width)`.
public struct LocalityRow: Codable, Sendable {
    public var start: Int
    public var width: Int
    /// Mean refusal score of the prompts (last position, no generation).
    public var refusalScore: Double
    /// Share of greedy completions containing a refusal phrase (nil when generation is off).
    public var refusalRate: Double?

    enum CodingKeys: String, CodingKey {
        case start, width
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

    enum CodingKeys: String, CodingKey {
        case layers, baseline, windows, prompts
        case allLayers = "all_layers"
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

    public func run(direction: [Float], prompts: [[Int]], widths: [Int],
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> LocalityResult {
        let L = evaluator.model.config.numLayers
        let runner = BatchRunner(model: evaluator.model, batchSize: evaluator.batchSize)
        var windows: [(Int, Int)] = []
        for w in widths where w >= 1 && w <= L { for s in 0...(L - w) { windows.append((s, w)) } }
        let total = windows.count + 2
        var done = 0
        func measure(_ start: Int, _ width: Int, _ hooks: Hooks?) throws -> LocalityRow {
            let score = try runner.meanRefusalScore(prompts, refusalTokens: refusalTokens, hooks: hooks)
            var rate: Double?
            if generate {
                let outs = try evaluator.complete(prompts, hooks: hooks)
                rate = Double(outs.filter { RefusalPhrases.isRefusal(evaluator.text($0)) }.count) / Double(max(1, outs.count))
            }
            done += 1
            progress(done, total)
            return LocalityRow(start: start, width: width, refusalScore: score, refusalRate: rate)
        }
        let baseline = try measure(0, 0, nil)
        let all = try measure(0, L, try Steering.ablation(direction, model: evaluator.model))
        let rows = try windows.map { s, w in try measure(s, w, try Steering.ablation(direction, layers: Array(s..<(s + w)), model: evaluator.model)) }
        return LocalityResult(layers: L, baseline: baseline, allLayers: all, windows: rows, prompts: prompts.count)
    }
}
