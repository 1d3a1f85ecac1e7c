import Foundation
import XCTest
@testable import Experiments

final class ReportTests: XCTestCase {
    private func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func testEscaping() {
        XCTAssertEqual(HTML.escape("<a href=\"x\">Tom & 'Jerry'</a>"),
                       "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;")
        XCTAssertEqual(HTML.escape("plain ☕ text"), "plain ☕ text")
        var report = HTMLReport(title: "<script>alert('x')</script>")
        report.heading("A & B")
        report.paragraph("1 < 2 > 0 \"q\"")
        report.keyValues(["<k>": "<v>"])
        report.table(columns: ["<c>"], rows: [["<d>&"]])
        report.preformatted("<pre>")
        report.comparison(prompt: "<prompt>", cards: [ComparisonCard(title: "<t>", text: "<x>", tag: "<g>")])
        let html = report.render()
        XCTAssertFalse(html.contains("<script>"))
        XCTAssertFalse(html.contains("<k>") || html.contains("<v>") || html.contains("<c>") || html.contains("<d>")
                       || html.contains("<t>") || html.contains("<x>") || html.contains("<g>") || html.contains("<prompt>"))
        for escaped in ["&lt;script&gt;alert(&#39;x&#39;)", "A &amp; B", "1 &lt; 2 &gt; 0 &quot;q&quot;", "&lt;d&gt;&amp;",
                        "&lt;pre&gt;"] {
            XCTAssertTrue(html.contains(escaped), escaped)
        }
        let svg = HeatMap(values: [[1]], rowLabels: ["<r>"], columnLabels: ["&c"], title: "\"t\"").svg()
        XCTAssertFalse(svg.contains("<r>"))
        XCTAssertTrue(svg.contains("&lt;r&gt;") && svg.contains("&amp;c") && svg.contains("&quot;t&quot;"))
    }

    func testNumbersAndTicks() {
        XCTAssertEqual(HTML.number(0.126, decimals: 2), "0.13")
        XCTAssertEqual(HTML.number(-0.0001, decimals: 2), "0.00")
        XCTAssertEqual(HTML.number(.nan), "NaN")
        XCTAssertEqual(HTML.compact(2.5000), "2.5")
        XCTAssertEqual(LinearScale.ticks(0...1, count: 6), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        XCTAssertEqual(LinearScale.nice(0.03...0.97), 0...1)
        XCTAssertEqual(LinearScale.decimals(forStep: 0.25), 2)
        XCTAssertEqual(ColorScale.diverging(center: 0).domain(for: [-1, 3, .nan]), -3...3)
        XCTAssertEqual(ColorScale.sequential.color(at: 0).css, "#440154")
        XCTAssertEqual(ColorScale.diverging(center: 0).color(at: 0.5).css, "#f7f7f7")
    }

    func testHeatMapStructure() {
        let svg = ReportSample.heatMap.svg()
        let cells = ReportSample.layers * ReportSample.positions.count
        XCTAssertEqual(count("class=\"cell\"", in: svg) + count("class=\"cell missing\"", in: svg), cells)
        XCTAssertEqual(count("class=\"cell missing\"", in: svg), 2 * ReportSample.positions.count)
        XCTAssertEqual(count("class=\"marker\"", in: svg), 1)
        XCTAssertEqual(count("class=\"row-label\"", in: svg), ReportSample.positions.count)
        XCTAssertTrue(svg.contains("filtered / n/a"))
        XCTAssertTrue(svg.contains("selected: position -1, layer 7 = -3.10"))
        XCTAssertTrue(svg.contains("&lt;by candidate&gt;"))
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.hasSuffix("</svg>"))
        XCTAssertTrue(svg.contains("<title>position -1, layer 7: "), "cells carry tooltips")
        // Dense grids label every k-th column only.
        let dense = HeatMap(values: Array(repeating: (0..<80).map(Double.init), count: 3), width: 600).svg()
        XCTAssertEqual(count("class=\"cell\"", in: dense), 240)
        XCTAssertLessThan(count("class=\"column-label\"", in: dense), 80)
        XCTAssertGreaterThan(count("class=\"column-label\"", in: dense), 5)
    }

    func testBarChartStructure() {
        let svg = ReportSample.bars.svg()
        XCTAssertEqual(count("class=\"bar\"", in: svg), 8, "3 groups × 3 series, one NaN")
        XCTAssertEqual(count("class=\"bar-label\"", in: svg), 9)
        XCTAssertTrue(svg.contains(">95%<") && svg.contains(">n/a<"))
        XCTAssertTrue(svg.contains("&amp; &quot;tricky&quot;"))
        XCTAssertEqual(count("class=\"legend\"", in: svg), 3)
        XCTAssertTrue(svg.contains(">100%<"), "unit interval axis")
        let plain = GroupedBarChart(groups: ["a", "b"], series: [BarSeries(name: "s", values: [-2, 7])], decimals: 1).svg()
        XCTAssertTrue(plain.contains(">-2.0<") && plain.contains(">7.0<"))
    }

    func testLineChartStructure() {
        let svg = ReportSample.lines.svg()
        XCTAssertEqual(count("class=\"band\"", in: svg), 2)
        XCTAssertEqual(count("<polyline", in: svg), 3)
        XCTAssertEqual(count("<circle", in: svg), 22, "markers on the two curves, none on the chance line")
        XCTAssertEqual(count("class=\"reference\"", in: svg), 2)
        XCTAssertTrue(svg.contains("P′") && svg.contains("f at 50%"))
        let gap = LineChart(series: [LineSeries(name: "gap", x: [0, 1, 2, 3, 4], y: [1, 2, .nan, 3, 4])]).svg()
        XCTAssertEqual(count("<polyline", in: gap), 2, "NaN breaks the line")
    }

    func testReportStructureAndWrite() throws {
        let report = ReportSample.report
        let html = report.render()
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertFalse(html.contains("<script"), "no JavaScript")
        XCTAssertFalse(html.contains("http://") && !html.contains("http://www.w3.org/2000/svg"), "no external resources")
        XCTAssertEqual(count("<svg ", in: html), 4)
        XCTAssertEqual(count("<article class=\"card\">", in: html), 3)
        XCTAssertEqual(count("<h2 id=", in: html), 4)
        XCTAssertTrue(html.contains("<nav class=\"toc\">"))
        XCTAssertTrue(html.contains("<td class=\"num\">-2.31</td>"))
        XCTAssertTrue(html.contains("&lt;filtered&gt;"))
        XCTAssertTrue(html.contains("<span class=\"tag bad\">refused</span>"))

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("steer-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("report.html")
        try Data("old".utf8).write(to: url)
        try report.write(to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), html)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["report.html"], "no temp file left")
        XCTAssertThrowsError(try report.write(to: folder.appendingPathComponent("missing/dir/r.html"))) { error in
            XCTAssertTrue("\(error)".contains("missing/dir/r.html"))
        }
        if let keep = ProcessInfo.processInfo.environment["STEER_SAMPLE_REPORT"] {
            try report.write(to: URL(fileURLWithPath: keep))
        }
    }
}
