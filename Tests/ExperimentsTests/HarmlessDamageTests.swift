import XCTest
import Interventions
import Models
@testable import Experiments

/// `RefusalEvaluator.damage` (packed teacher-forced passes, logits only where needed, late start from the
/// baseline's `resid_pre`) against the plain computation: each prompt + reply prefilled alone with every
/// position's logits, and each prompt alone for the KL rows.
final class HarmlessDamageTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pipeline/model")

    func testDamageEqualsPerPromptPrefills() throws {
        let model = try ModelLoader.load(directory: Self.dir)
        let evaluator = RefusalEvaluator(model: model, tokenizer: try ChatFormatter(directory: Self.dir).tokenizer,
                                         maxNewTokens: 8, batchSize: 4)
        let c = model.config, v = c.vocabSize, d = c.hiddenSize
        // Prompts sharing a prefix (and one that does not), replies of several lengths, one of them empty.
        let prompts = [[1, 5, 9, 13, 17], [1, 5, 9, 21], [1, 5, 9, 13, 30, 31, 32], [4, 7], [1, 5, 40, 41, 42]]
        let replies = [[50, 51, 52], [60], [], [70, 71, 72, 73, 74, 75], [80, 81]]
        let direction = (0..<d).map { Float(sin(Double($0) * 0.7)) }
        let ablation = try DirectionalAblation(direction: direction).edits(for: model)
        let addition = try ActivationAddition(vector: direction.map { $0 * 3 }, layer: 2, scale: 1).edits(for: model)
        let got = try evaluator.damage(prompts: prompts, responses: replies, conditions: [ablation, addition])

        func ce(_ edits: [ActivationEdit]) throws -> Double {
            var total = 0.0, count = 0
            for (p, r) in zip(prompts, replies) where !r.isEmpty {
                let (_, logits) = try model.prefill([p + r], edits: edits, logits: .all)
                let all = try XCTUnwrap(logits)
                total += RefusalMetrics.crossEntropy(all.pointer + (p.count - 1) * v, vocab: v, targets: r) * Double(r.count)
                count += r.count
            }
            return total / Double(count)
        }
        func kl(_ edits: [ActivationEdit]) throws -> Double {
            var total = 0.0
            for p in prompts {
                let base = try XCTUnwrap(try model.prefill([p], logits: .last).1)
                let other = try XCTUnwrap(try model.prefill([p], edits: edits, logits: .last).1)
                total += RefusalMetrics.kl(base.pointer, other.pointer, vocab: v)
            }
            return total / Double(prompts.count)
        }
        // The two computations differ in float32 rounding only (other pass shapes and a resumed pass).
        // Cross-entropy is −log softmax(z)[t], whose gradient in z has L1 norm ≤ 2, so |δCE| ≤ 2Δ per token
        // and for the token-weighted mean; KL as in `ScoreTolerance.kl`.
        let tol = try ScoreTolerance(directory: Self.dir, model: model, tokens: 13)
        let wantCE = [try ce([]), try ce(ablation), try ce(addition)]
        let gotCE = [got.baselineCE] + got.ce
        for (i, name) in ["baseline", "ablation", "addition"].enumerated() {
            XCTAssertEqual(gotCE[i], wantCE[i], accuracy: 2 * tol.logits, "cross-entropy, \(name)")
        }
        let wantKL = [try kl(ablation), try kl(addition)]
        for (i, name) in ["ablation", "addition"].enumerated() {
            XCTAssertEqual(got.kl[i], wantKL[i], accuracy: tol.kl(wantKL[i]), "KL, \(name)")
            XCTAssertGreaterThan(wantKL[i], 1e-4, "the edit must move the distribution for the test to mean anything")
        }
        XCTAssertGreaterThan(abs(wantCE[2] - wantCE[0]), 1e-3, "the addition must change the loss")
        // Every reply empty: KL is still measured, cross-entropy has no tokens.
        let none = try evaluator.damage(prompts: prompts, responses: prompts.map { _ in [] }, conditions: [ablation])
        XCTAssertTrue(none.baselineCE.isNaN)
        XCTAssertEqual(none.kl[0], try kl(ablation), accuracy: tol.kl(none.kl[0]))
        XCTAssertThrowsError(try evaluator.damage(prompts: prompts, responses: [], conditions: []))
    }

    func testBalancedChunksCoverEveryItemEvenly() {
        // Filling up to the budget left 3,600 + 100; balanced: two halves.
        XCTAssertEqual(PackedGroup.balancedChunks(sizes: Array(repeating: 100, count: 37), budget: 3_600, parts: 2),
                       [0..<19, 19..<37])
        XCTAssertEqual(PackedGroup.balancedChunks(sizes: [5, 5, 5], budget: 100, parts: 1), [0..<3])
        XCTAssertEqual(PackedGroup.balancedChunks(sizes: [5, 5, 5], budget: 100, parts: 2), [0..<2, 2..<3])
        XCTAssertEqual(PackedGroup.balancedChunks(sizes: [7], budget: 1, parts: 4), [0..<1])
        XCTAssertEqual(PackedGroup.balancedChunks(sizes: [], budget: 10, parts: 2), [])
        for (sizes, budget, parts) in [([3, 9, 1, 1, 8, 2, 2, 7, 5], 10, 2), ([1, 1, 1, 1, 50], 20, 3), (Array(1...40), 64, 4)] {
            let chunks = PackedGroup.balancedChunks(sizes: sizes, budget: budget, parts: parts)
            XCTAssertEqual(chunks.flatMap { Array($0) }, Array(sizes.indices), "every item once, in order")
            XCTAssertTrue(chunks.allSatisfy { !$0.isEmpty })
        }
    }
}
