import Foundation
import XCTest
@testable import Experiments

/// What the refusal, locality and search figures must show: filtered candidates hatched with their values,
/// small values readable, degeneration measured, intervals, n, the selected layer, the chosen trial.
final class ReportFigureTests: XCTestCase {
    private func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func testSignificantDigitsKeepSmallValuesReadable() {
        XCTAssertEqual(HTML.significant(0.0061), "0.0061")
        XCTAssertEqual(HTML.significant(0.0004, digits: 2), "4.0e-4")
        XCTAssertEqual(HTML.significant(1.234e-5, digits: 3), "1.23e-5")
        XCTAssertEqual(HTML.significant(3.456), "3.5")
        XCTAssertEqual(HTML.significant(123.4), "123")
        XCTAssertEqual(HTML.significant(0), "0")
        XCTAssertEqual(HTML.significant(-0.0123), "-0.012")
        XCTAssertEqual(HTML.significant(.nan), "NaN")
    }

    func testDegenerationCountsRepeatedFourGrams() {
        XCTAssertEqual(Degeneration.repeatedFraction([1, 2, 3]), 0, "no 4-gram")
        XCTAssertEqual(Degeneration.repeatedFraction([1, 2, 3, 4, 5, 6]), 0)
        // 1 2 1 2 1 2 1 2: five 4-grams, two distinct.
        XCTAssertEqual(Degeneration.repeatedFraction([1, 2, 1, 2, 1, 2, 1, 2]), 3.0 / 5)
        XCTAssertEqual(Degeneration.repeatedFraction(Array(repeating: 7, count: 10)), 6.0 / 7)
        let loop = Array(repeating: [40, 466], count: 16).flatMap { $0 }
        let d = Degeneration(completions: [loop, Array(0..<32), loop, loop])
        XCTAssertEqual(d.degenerate.successes, 3)
        XCTAssertEqual(d.degenerate.trials, 4)
        XCTAssertEqual(d.degenerate, Statistics.wilson([true, false, true, true]))
        XCTAssertEqual(d.repeatedNGramRate, 3 * Degeneration.repeatedFraction(loop) / 4, accuracy: float64Agreement(operations: 8))
        let json = String(decoding: try! JSONEncoder().encode(d), as: UTF8.self)
        XCTAssertTrue(json.contains("\"repeated_4gram_rate\"") && json.contains("\"degenerate\""), json)
    }

    func testFilteredCellsAreHatchedAndKeepTheirValues() {
        let values: [[Double]] = [[.nan, 0.0004, 0.02], [.nan, 0.5, 0.003]]
        let filtered: [[String?]] = [[nil, "kl", nil], [nil, "layer", "induce"]]
        let svg = HeatMap(values: values, title: "KL", filtered: filtered, filteredLabel: "removed by a filter",
                          significantDigits: 2).svg()
        XCTAssertEqual(count("class=\"cell filtered\"", in: svg), 3)
        XCTAssertEqual(count("class=\"cell missing\"", in: svg), 2)
        XCTAssertGreaterThan(count("class=\"hatch\"", in: svg), 3 * 2, "several hatch lines per filtered cell")
        XCTAssertTrue(svg.contains("removed by a filter: kl") && svg.contains("removed by a filter: induce"), "tooltips name the filter")
        XCTAssertTrue(svg.contains(">removed by a filter<"), "legend")
        XCTAssertTrue(svg.contains(">4.0e-4<") && svg.contains(">0.0030<"), "small values keep two significant digits")
        XCTAssertFalse(svg.contains(">0.00<"))
        XCTAssertTrue(svg.contains(": 4.000e-4"), "tooltips carry two more digits")
    }

    func testLocalityChartShowsScoreRateNAndTheSelectedLayer() {
        func row(_ s: Int, _ w: Int, _ score: Double, _ rate: Double) -> LocalityRow {
            LocalityRow(start: s, width: w, refusalScore: score, refusalRate: rate, degeneration: Degeneration(completions: [[1, 2, 3, 4]]))
        }
        let windows = (0..<4).map { row($0, 1, 1.5, 0.5) } + (0..<3).map { row($0, 2, 1.5, 0.5) }   // equal values overlap
        let r = LocalityResult(layers: 4, baseline: row(0, 0, 3, 0.875), allLayers: row(0, 4, -2, 0), windows: windows, prompts: 8,
                               directionLayer: 2)
        let svg = LocalityPlot.svg(r)
        XCTAssertEqual(count("class=\"chart lines\"", in: svg), 2, "a rate panel and a score panel")
        XCTAssertTrue(svg.contains("Refusal score") && svg.contains("Refusal rate"))
        XCTAssertTrue(svg.contains("n = 8 prompts"))
        XCTAssertTrue(svg.contains("direction&#39;s layer 2"))
        XCTAssertEqual(count("class=\"band\"", in: svg), 2, "Wilson bands on the rate panel, one per width")
        XCTAssertTrue(svg.contains("stroke-dasharray=\"7 4\""), "the second width is dashed")
        // The two widths are drawn apart: their markers at window start 0 do not coincide.
        let first = svg.components(separatedBy: "<circle cx=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        XCTAssertGreaterThan(Set(first).count, 4)
        let table = LocalityPlot.table(r)
        XCTAssertTrue(table.hasPrefix("n = 8 prompts; direction selected at layer 2"))
        XCTAssertTrue(table.contains("degenerate"))
        // Without completions, only the score panel.
        var scoreOnly = r
        scoreOnly.baseline.refusalRate = nil
        XCTAssertEqual(count("class=\"chart lines\"", in: LocalityPlot.svg(scoreOnly)), 1)
    }

    func testSearchChartAnnotatesTheChosenTrial() {
        let trials = [SearchTrial(peak: 2, width: 1, maxWeight: 1, minWeight: 0.5, refusalScore: -1, kl: 0.0004, pareto: true),
                      SearchTrial(peak: 1, width: 2, maxWeight: 0.8, minWeight: 0.1, refusalScore: 2, kl: 0.3, pareto: true)]
        let r = SearchResult(layers: 4, trials: trials, best: 0, maxKL: 0.1, seed: 0, baselineRefusalScore: 4, nHarmful: 6, nHarmless: 6)
        let svg = SearchPlot.svg(r)
        XCTAssertEqual(count("class=\"annotation\"", in: svg), 4, "a ring and three lines of text")
        XCTAssertTrue(svg.contains(">chosen: trial 1<"))
        XCTAssertTrue(svg.contains("peak 2.00, width 1.00, strength 1.00 → 0.50"))
        XCTAssertTrue(svg.contains("KL 4.00e-4"))
        XCTAssertTrue(svg.contains("n = 6 harmful / 6 harmless"))
        XCTAssertTrue(SearchPlot.table(r).contains("4.00e-4  ← chosen"))
    }
}
