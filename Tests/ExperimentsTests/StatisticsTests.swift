import Foundation
import XCTest
@testable import Experiments

/// Two Float64 evaluations of the same formula (here and in the Python script, or two orders of the same sum),
/// each with at most `operations` roundings of intermediates of magnitude ≤ `scale`, agree within
/// 2·operations·2⁻⁵³·scale to first order: none of these formulas cancels catastrophically on the fixtures'
/// values, and no BLAS is involved, so the bound holds on every CPU.
func float64Agreement(operations: Int, scale: Double = 1) -> Double { 2 * Double(operations) * 0x1p-53 * scale }

final class StatisticsTests: XCTestCase {
    func testWilsonAgainstFormula() throws {
        let cases: [[String: Any]] = try PromptFixtures.section("wilson")
        XCTAssertGreaterThan(cases.count, 5)
        for item in cases {
            let k = try XCTUnwrap(item["k"] as? Int), n = try XCTUnwrap(item["n"] as? Int)
            let z = try XCTUnwrap((item["z"] as? NSNumber)?.doubleValue)
            let interval = try XCTUnwrap((item["interval"] as? [Any])?.doubles)
            let w = try Statistics.wilson(successes: k, trials: n, z: z)
            // About 16 roundings (a square root among them) on values of order z².
            let tolerance = float64Agreement(operations: 16, scale: max(1, z * z))
            XCTAssertEqual(w.lower, interval[0], accuracy: tolerance, "\(k)/\(n)")
            XCTAssertEqual(w.upper, interval[1], accuracy: tolerance, "\(k)/\(n)")
            if z == Statistics.z95 {
                XCTAssertEqual(try Statistics.wilson(successes: k, trials: n), w)
            }
        }
        XCTAssertEqual(Statistics.wilson([true, false, true, true]), try Statistics.wilson(successes: 3, trials: 4))
        XCTAssertEqual(try Statistics.wilson(successes: 3, trials: 4).proportion, 0.75)
        XCTAssertThrowsError(try Statistics.wilson(successes: 5, trials: 4))
        XCTAssertThrowsError(try Statistics.wilson(successes: -1, trials: 4))
    }

    func testMoments() throws {
        let cases: [[String: Any]] = try PromptFixtures.section("moments")
        for item in cases {
            let values = try XCTUnwrap((item["values"] as? [Any])?.doubles)
            // A sum of n terms, squares and a square root: 3n + 4 roundings of values up to max|v|².
            let scale = max(1, values.map { $0 * $0 }.max() ?? 1)
            let tolerance = float64Agreement(operations: 3 * values.count + 4, scale: scale)
            XCTAssertEqual(try XCTUnwrap(Statistics.mean(values)), try XCTUnwrap((item["mean"] as? NSNumber)?.doubleValue),
                           accuracy: tolerance)
            XCTAssertEqual(try XCTUnwrap(Statistics.standardDeviation(values, sample: false)),
                           try XCTUnwrap((item["population_std"] as? NSNumber)?.doubleValue), accuracy: tolerance)
            if let sample = (item["sample_std"] as? NSNumber)?.doubleValue {
                XCTAssertEqual(try XCTUnwrap(Statistics.standardDeviation(values)), sample, accuracy: tolerance)
            } else {
                XCTAssertNil(Statistics.standardDeviation(values))
            }
        }
        XCTAssertNil(Statistics.mean([]))
        XCTAssertNil(Statistics.standardDeviation([], sample: false))
    }

    func testCurveAreaAndCrossings() throws {
        let curves: [[String: Any]] = try PromptFixtures.section("curves")
        XCTAssertEqual(curves.count, 3)
        for curve in curves {
            let x = try XCTUnwrap((curve["x"] as? [Any])?.doubles), y = try XCTUnwrap((curve["y"] as? [Any])?.doubles)
            // Four roundings per segment (difference, sum, product, halving) and the running sum.
            let scale = max(1, (x + y).map(abs).max() ?? 1)
            let tolerance = float64Agreement(operations: 5 * x.count, scale: scale * scale)
            XCTAssertEqual(try Statistics.trapezoidArea(x: x, y: y),
                           try XCTUnwrap((curve["area"] as? NSNumber)?.doubleValue), accuracy: tolerance)
            let levels = try XCTUnwrap((curve["levels"] as? [Any])?.doubles)
            let crossings = try XCTUnwrap(curve["crossings"] as? [Any])
            for (level, expected) in zip(levels, crossings) {
                let got = try Statistics.firstCrossing(x: x, y: y, level: level)
                if let value = (expected as? NSNumber)?.doubleValue {
                    XCTAssertEqual(try XCTUnwrap(got, "level \(level)"), value, accuracy: tolerance, "level \(level)")
                } else {
                    XCTAssertNil(got, "level \(level)")
                }
            }
        }
    }

    func testCrossingDirectionAndBadCurves() throws {
        let x = [1.0, 2.0, 4.0], y = [2.0, -2.0, 2.0]
        XCTAssertEqual(try Statistics.firstCrossing(x: x, y: y, level: 0, direction: .downward), 1.5)
        XCTAssertEqual(try Statistics.firstCrossing(x: x, y: y, level: 0, direction: .upward), 3.0)
        XCTAssertNil(try Statistics.firstCrossing(x: x, y: y, level: 5))
        XCTAssertNil(try Statistics.firstCrossing(x: [], y: [], level: 0))
        XCTAssertEqual(try Statistics.trapezoidArea(x: [1], y: [3]), 0)
        XCTAssertThrowsError(try Statistics.trapezoidArea(x: [0, 1], y: [1])) { error in
            XCTAssertEqual(error as? StatisticsError, .lengthMismatch(x: 2, y: 1))
        }
        XCTAssertThrowsError(try Statistics.firstCrossing(x: [0, 2, 1], y: [0, 1, 2], level: 0.5)) { error in
            XCTAssertEqual(error as? StatisticsError, .unsortedX(index: 2))
        }
    }
}
