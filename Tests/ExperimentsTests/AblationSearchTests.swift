import XCTest
import Interventions
import ModelFormats
import Models
@testable import Experiments

/// The per-layer strength search on the pipeline fixture: every trial scored as the padded forward pass
/// with the matching weighted hooks scores it, a consistent Pareto front and choice, and seeded trials.
final class AblationSearchTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pipeline")

    func testTrialsScoreAsWeightedHookAblationAndFrontIsConsistent() throws {
        let dir = Self.root.appendingPathComponent("model")
        let model = try ModelLoader.load(directory: dir)
        let formatter = try ChatFormatter(directory: dir)
        func ids(_ name: String) throws -> [[Int]] {
            try PromptSet.load(Self.root.appendingPathComponent("prompts/\(name).json")).texts.map { try formatter.promptIds(user: $0) }
        }
        let harmful = try ids("harmful_val"), harmless = try ids("harmless_val")
        let reference = try SafeCandidates(url: Self.root.appendingPathComponent("reference/candidates.safetensors"))
        let direction = reference.strongest
        let tokens = [43, 478]
        var search = AblationSearch(model: model, refusalTokens: tokens)
        search.trials = 9
        search.seed = 3
        let r = try search.run(direction: direction, harmful: harmful, harmless: harmless)
        XCTAssertEqual(r.trials.count, 9)
        XCTAssertEqual(r.trials[0].maxWeight, 1); XCTAssertEqual(r.trials[0].minWeight, 1)

        // Every score as a plain prefill computes it with DirectionalAblation's weighted edits; packed
        // and plain passes differ only in rounding (`ScoreTolerance`).
        let tolerance = try ScoreTolerance(directory: dir, model: model, tokens: (harmful + harmless).map(\.count).max() ?? 1)
        let runner = BatchRunner(model: model, batchSize: 4)
        let v = model.config.vocabSize
        let base = try runner.lastLogits(harmless)
        for t in r.trials.prefix(4) {
            let edits = try DirectionalAblation.matchingWeightEdit(direction: direction, weighting: try t.weighting()).edits(for: model)
            XCTAssertEqual(t.refusalScore, try runner.meanRefusalScore(harmful, refusalTokens: tokens, edits: edits), accuracy: tolerance.score)
            let ablated = try runner.lastLogits(harmless, edits: edits)
            let kl = (0..<harmless.count).map { RefusalMetrics.kl(base.pointer + $0 * v, ablated.pointer + $0 * v, vocab: v) }.reduce(0, +)
                / Double(harmless.count)
            XCTAssertEqual(t.kl, kl, accuracy: tolerance.kl(max(t.kl, kl)))
        }
        XCTAssertEqual(r.baselineRefusalScore, try runner.meanRefusalScore(harmful, refusalTokens: tokens), accuracy: tolerance.score)

        for (i, t) in r.trials.enumerated() {
            let dominated = r.trials.contains { $0.refusalScore <= t.refusalScore && $0.kl <= t.kl && ($0.refusalScore < t.refusalScore || $0.kl < t.kl) }
            XCTAssertEqual(t.pareto, !dominated, "trial \(i)")
        }
        if let b = r.best {
            XCTAssertLessThanOrEqual(r.trials[b].kl, r.maxKL)
            XCTAssertFalse(r.trials.contains { $0.kl <= r.maxKL && $0.refusalScore < r.trials[b].refusalScore })
            XCTAssertTrue(r.trials[b].pareto)
        }
        let again = try search.run(direction: direction, harmful: harmful, harmless: harmless)
        XCTAssertEqual(again.trials.map(\.peak), r.trials.map(\.peak))
        XCTAssertEqual(again.trials.map(\.kl), r.trials.map(\.kl))
        search.seed = 4
        XCTAssertNotEqual(try search.run(direction: direction, harmful: harmful, harmless: harmless).trials.map(\.peak), r.trials.map(\.peak))
        XCTAssertTrue(SearchPlot.svg(r).hasPrefix("<svg"))
        XCTAssertTrue(SearchPlot.table(r).contains("refusal_score"))
    }
}

/// The reference candidates, and the one of largest norm (a real direction for the search).
struct SafeCandidates {
    let strongest: [Float]

    init(url: URL) throws {
        let file = try SafeTensorsFile(url: url)
        let values = try file.floats("candidates"), d = try file.tensorInfo("candidates").shape.last ?? 1
        var best: [Float] = [], bestNorm: Float = -1
        for start in stride(from: 0, to: values.count, by: d) {
            let v = Array(values[start..<(start + d)])
            let n = v.reduce(0) { $0 + $1 * $1 }
            if n > bestNorm { bestNorm = n; best = v }
        }
        strongest = best
    }
}
