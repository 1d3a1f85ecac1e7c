import Foundation
import XCTest
@testable import Experiments

/// Undefined means (no reply tokens, a condition without prompts) are NaN: `evaluation.json` writes them as
/// `null` and reads them back as NaN, while every defined figure keeps its value.
final class EvaluationSummaryCodingTests: XCTestCase {
    func testUndefinedMeansWriteNullAndReadBackAsNaN() throws {
        typealias S = RefusalEvaluationSummary
        let empty = Degeneration(completions: [])
        XCTAssertTrue(empty.repeatedNGramRate.isNaN)
        let summary = S(selected: .init(position: -1, layer: 3),
                        refusalRate: .init(harmfulBaseline: 0.75, harmfulAblation: 0.25, harmfulSubtraction: 0.5,
                                           harmlessBaseline: .nan, harmlessAddition: .nan),
                        refusalRateCI: nil, degeneration: ["harmless_baseline": empty],
                        klHarmlessAblation: .nan, ceLoss: .init(baseline: .nan, ablation: 1.5, addition: .nan),
                        n: .init(harmfulTest: 4, harmlessTest: 0), timings: ["evaluation": 2], maxNewTokens: 8)
        let data = try RunStore.encode(summary)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertTrue(json["kl_harmless_ablation"] is NSNull)
        let loss = try XCTUnwrap(json["ce_loss"] as? [String: Any])
        XCTAssertTrue(loss["baseline"] is NSNull)
        XCTAssertEqual(loss["ablation"] as? Double, 1.5)
        let rates = try XCTUnwrap(json["refusal_rate"] as? [String: Any])
        XCTAssertTrue(rates["harmless_addition"] is NSNull)
        XCTAssertEqual(rates["harmful_baseline"] as? Double, 0.75)
        XCTAssertTrue((json["degeneration"] as? [String: [String: Any]])?["harmless_baseline"]?["repeated_4gram_rate"] is NSNull)

        let back = try JSONDecoder().decode(S.self, from: data)
        XCTAssertTrue(back.klHarmlessAblation.isNaN && back.ceLoss.baseline.isNaN && back.ceLoss.addition.isNaN)
        XCTAssertTrue(back.refusalRate.harmlessBaseline.isNaN && back.refusalRate.harmlessAddition.isNaN)
        XCTAssertEqual(back.ceLoss.ablation, 1.5)
        XCTAssertEqual(back.refusalRate.harmfulSubtraction, 0.5)
        XCTAssertEqual(back.selected.layer, 3)
        XCTAssertEqual(back.timings, ["evaluation": 2])
        XCTAssertTrue(try XCTUnwrap(back.degeneration?["harmless_baseline"]).repeatedNGramRate.isNaN)
        // A defined summary round-trips exactly.
        var defined = summary
        defined.klHarmlessAblation = 0.0125
        defined.ceLoss = .init(baseline: 1, ablation: 2, addition: 3)
        let again = try JSONDecoder().decode(S.self, from: RunStore.encode(defined))
        XCTAssertEqual(again.klHarmlessAblation, 0.0125)
        XCTAssertEqual(again.ceLoss.addition, 3)
    }
}
