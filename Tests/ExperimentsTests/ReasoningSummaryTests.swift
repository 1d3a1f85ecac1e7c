import XCTest
@testable import Experiments

/// Summaries of trace and articulation rows: Wilson intervals, the curve, its area and 50% crossing.
final class ReasoningSummaryTests: XCTestCase {
    func row(_ condition: String, fraction: Double? = nil, answer: String?, original: String = "approve", id: String = "r",
             source: String = "original", target: String? = nil) -> TraceRow {
        TraceRow(rolloutId: id, sample: 0, source: source, condition: condition, fraction: fraction, keptUnits: nil, totalUnits: nil,
                 prefix: "", prefixTokens: 0, completion: "", answer: answer, strictValid: answer != nil, originalAnswer: original,
                 consistent: answer == original, attributeTarget: target, probabilities: nil)
    }

    func testConditionWilson37of100() throws {
        let rows = (0..<100).map { row("frozen-closed", answer: $0 < 37 ? "approve" : ($0 < 90 ? "reject" : nil), id: "r\($0)") }
        let s = try TraceSummary(rows: rows, rollouts: 100, usableRollouts: 100)
        let c = try XCTUnwrap(s.conditions["frozen-closed"])
        let w = try Statistics.wilson(successes: 37, trials: 100)
        XCTAssertEqual(c.n, 100); XCTAssertEqual(c.consistent, 37)
        // One division each; the same Wilson call; a published interval printed to 4 decimals (±0.5e-4).
        XCTAssertEqual(c.consistency, 0.37, accuracy: float64Agreement(operations: 1))
        XCTAssertEqual(c.ciLow, w.lower); XCTAssertEqual(c.ciHigh, w.upper)
        XCTAssertEqual(c.ciLow, 0.2818, accuracy: 0.5e-4); XCTAssertEqual(c.ciHigh, 0.4678, accuracy: 0.5e-4)
        XCTAssertEqual(c.invalidRate, 0.10, accuracy: float64Agreement(operations: 1))
        XCTAssertTrue(s.curve.isEmpty); XCTAssertNil(s.curveArea); XCTAssertNil(s.fractionAt50)
    }

    func testCurveAreaAndCrossing() throws {
        // consistency(f): 0 → 0.2, 0.5 → 0.4, 1 → 1.0 (10 rows per fraction).
        var rows: [TraceRow] = []
        for (f, k) in [(0.0, 2), (0.5, 4), (1.0, 10)] {
            for i in 0..<10 { rows.append(row("truncated", fraction: f, answer: i < k ? "approve" : "reject", id: "r\(i)")) }
        }
        let s = try TraceSummary(rows: rows, rollouts: 10, usableRollouts: 10)
        XCTAssertEqual(s.curve.map(\.fraction), [0, 0.5, 1])
        XCTAssertEqual(s.curve.map(\.consistency), [0.2, 0.4, 1.0])
        XCTAssertEqual(s.curve.map(\.n), [10, 10, 10])
        XCTAssertEqual(try XCTUnwrap(s.curveArea), 0.5 * (0.2 + 0.4) / 2 + 0.5 * (0.4 + 1.0) / 2, accuracy: float64Agreement(operations: 10))
        // 0.4 → 1.0 over [0.5, 1]: reaches 0.5 at 0.5 + 0.5·(0.1/0.6).
        XCTAssertEqual(try XCTUnwrap(s.fractionAt50), 0.5 + 0.5 / 6, accuracy: float64Agreement(operations: 8))
        XCTAssertEqual(s.conditions["truncated@0.50"]?.consistency, 0.4)
        let svg = s.curveSVG()
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("truncated(f)"))
    }

    func testCurveNeverCrossing() throws {
        let rows = [0.0, 1.0].flatMap { f in (0..<4).map { row("truncated", fraction: f, answer: "approve", id: "r\($0)") } }
        let s = try TraceSummary(rows: rows, rollouts: 4, usableRollouts: 4)
        XCTAssertEqual(s.curveArea, 1)
        XCTAssertNil(s.fractionAt50)
    }

    func testLogitAgreementAndAttributeFollowing() throws {
        let rows = [
            row("frozen-closed", answer: "approve", id: "a", source: "counterfactual", target: "reject"),
            row("logit", answer: "approve", id: "a", source: "counterfactual", target: "reject"),
            row("frozen-closed", answer: "reject", id: "b", source: "counterfactual", target: "reject"),
            row("logit", answer: "approve", id: "b", source: "counterfactual", target: "reject"),
            row("frozen-closed", answer: nil, id: "c", source: "counterfactual", target: "approve"),
            row("logit", answer: "approve", id: "c", source: "counterfactual", target: "approve"),
        ]
        let s = try TraceSummary(rows: rows, rollouts: 3, usableRollouts: 3)
        XCTAssertEqual(s.logitAgreementN, 3)
        XCTAssertEqual(try XCTUnwrap(s.logitAgreement), 1.0 / 3, accuracy: float64Agreement(operations: 1))
        let fc = try XCTUnwrap(s.conditions["frozen-closed"])
        // Only rows whose target differs from y count: a and b; b follows the attribute.
        XCTAssertEqual(fc.attributeFollowingN, 2)
        XCTAssertEqual(fc.attributeFollowing, 0.5)
        XCTAssertEqual(fc.invalidRate, 1.0 / 3, accuracy: float64Agreement(operations: 1))
    }

    func testSummaryJSONHasTheDocumentedKeys() throws {
        let rows = [row("control", answer: "approve"), row("truncated", fraction: 0, answer: "reject"),
                    row("truncated", fraction: 1, answer: "approve")]
        let s = try TraceSummary(rows: rows, rollouts: 1, usableRollouts: 1)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: try RunStore.encode(s)) as? [String: Any])
        let conditions = try XCTUnwrap(obj["conditions"] as? [String: [String: Any]])
        for key in ["consistency", "ci_low", "ci_high", "invalid_rate", "n"] { XCTAssertNotNil(conditions["control"]?[key], key) }
        let curve = try XCTUnwrap(obj["curve"] as? [[String: Any]])
        for key in ["fraction", "consistency", "ci_low", "ci_high", "n"] { XCTAssertNotNil(curve.first?[key], key) }
        XCTAssertEqual(obj["curve_area"] as? Double, 0.5)
        XCTAssertEqual(obj["fraction_at_50"] as? Double, 0.5)
    }

    func testArticulationSummary() throws {
        let c = try LoanCriterion(parsing: "nationality == Canadian")
        func r(_ pair: Int, _ variant: String, _ answer: String?, label: String, mentioned: Bool, strict: Bool = true) -> ArticulationRow {
            ArticulationRow(id: "p\(pair)\(variant)", pair: pair, variant: variant, label: label, completion: "",
                            reasoning: answer == nil ? nil : "x", wellFormed: strict && answer != nil, answer: answer,
                            biasAligned: answer == label, mentioned: mentioned)
        }
        let rows = [
            r(1, "original", "approve", label: "approve", mentioned: false), r(1, "twin", "reject", label: "reject", mentioned: false),
            r(2, "original", "approve", label: "approve", mentioned: true), r(2, "twin", "reject", label: "reject", mentioned: false),
            r(3, "original", "approve", label: "reject", mentioned: false), r(3, "twin", "approve", label: "approve", mentioned: false),
            r(4, "original", nil, label: "reject", mentioned: false), r(4, "twin", "approve", label: "approve", mentioned: false),
        ]
        let s = ArticulationSummary(rows: rows, criterion: c)
        XCTAssertEqual(s.formatValid.k, 7); XCTAssertEqual(s.formatValid.n, 8)
        XCTAssertEqual(s.biasAligned.k, 6); XCTAssertEqual(s.biasAligned.n, 7)
        XCTAssertEqual(s.twinFlip.k, 2); XCTAssertEqual(s.twinFlip.n, 3)
        XCTAssertEqual(s.unverbalizedReliance.k, 1); XCTAssertEqual(s.unverbalizedReliance.n, 3)
        XCTAssertEqual(s.unverbalizedAmongFlips.k, 1); XCTAssertEqual(s.unverbalizedAmongFlips.n, 2)
        XCTAssertEqual(s.mention.k, 1); XCTAssertEqual(s.mention.n, 7)
        let w = try Statistics.wilson(successes: 2, trials: 3)
        XCTAssertEqual(s.twinFlip.ciLow, w.lower)
        XCTAssertNil(s.judgeMentioned)
    }

    func testJudgeYesNoParsing() {
        XCTAssertEqual(ArticulationJudge.parseYesNo("Yes."), "yes")
        XCTAssertEqual(ArticulationJudge.parseYesNo(" no, it does not"), "no")
        XCTAssertEqual(ArticulationJudge.parseYesNo("Answer: NO"), "no")
        XCTAssertEqual(ArticulationJudge.parseYesNo("maybe"), "unparsed")
        XCTAssertEqual(ArticulationJudge.parseYesNo("nobody knows"), "unparsed")
        XCTAssertEqual(ArticulationJudge.parseYesNo(""), "unparsed")
    }
}
