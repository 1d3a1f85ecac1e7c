import Foundation

/// Table and chart of a locality sweep.
public enum LocalityPlot {
    public static func table(_ r: LocalityResult) -> String {
        var lines = ["n = \(r.prompts) prompts" + (r.directionLayer.map { "; direction selected at layer \($0)" } ?? ""),
                     "window        refusal_score  refusal_rate  degenerate"]
        func row(_ label: String, _ x: LocalityRow) {
            let rate = x.refusalRate.map { String(format: "%11.0f%%", 100 * $0) } ?? "          -"
            let loops = x.degeneration.map { String(format: "%10.0f%%", 100 * $0.degenerateRate) } ?? "         -"
            lines.append(label.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%13.3f", x.refusalScore) + "  " + rate
                         + "  " + loops)
        }
        row("none", r.baseline)
        row("all layers", r.allLayers)
        for w in r.windows { row("[\(w.start), \(w.start + w.width))", w) }
        return lines.joined(separator: "\n")
    }

    /// Two panels against the first layer of the window, one line per width: the refusal rate with Wilson 95%
    /// bands (when completions were generated) and the refusal score. Widths differ in dash and are drawn
    /// slightly apart so that equal values stay visible; the baseline and all-layer ablation are reference
    /// lines, the layer the direction was selected at a vertical one.
    public static func svg(_ r: LocalityResult) -> String {
        let widths = Array(Set(r.windows.map(\.width))).sorted()
        let dashes: [String?] = [nil, "7 4", "2 3", "9 3 2 3"]
        let spread = min(0.3, 0.12 * Double(max(widths.count - 1, 0)))
        let vertical = r.directionLayer.map { [ReferenceLine(Double($0), axis: .vertical, label: "direction's layer \($0)")] } ?? []
        func series(_ value: (LocalityRow) -> Double, band: Bool) -> [LineSeries] {
            widths.enumerated().map { i, w in
                let rows = r.windows.filter { $0.width == w }
                let x = rows.map { Double($0.start) }
                let offset = widths.count > 1 ? -spread / 2 + spread * Double(i) / Double(widths.count - 1) : 0
                let name = "ablate \(w) layer\(w == 1 ? "" : "s")"
                var s = LineSeries(name: name, x: x, y: rows.map(value), dashPattern: dashes[i % dashes.count], xOffset: offset)
                if band {
                    let intervals = rows.map { interval($0, r.prompts) }
                    s.lower = intervals.map { $0?.lower ?? .nan }
                    s.upper = intervals.map { $0?.upper ?? .nan }
                }
                return s
            }
        }
        let xLabel = "first layer of the window (l); n = \(r.prompts) prompts"
        let xRange = -0.5...(Double(max(r.layers - 1, 1)) + 0.5)
        var panels: [LineChart] = []
        if r.baseline.refusalRate != nil {
            panels.append(LineChart(series: series({ $0.refusalRate ?? .nan }, band: true),
                                    title: "Refusal rate with ablation inside layers [l, l+w) (Wilson 95% bands)", xLabel: xLabel,
                                    yLabel: "refusal rate", xRange: xRange, yRange: 0...1,
                                    references: [ReferenceLine(r.baseline.refusalRate ?? .nan, label: "no ablation"),
                                                 ReferenceLine(r.allLayers.refusalRate ?? .nan, label: "all layers")] + vertical))
        }
        panels.append(LineChart(series: series(\.refusalScore, band: false),
                                title: "Refusal score (log-odds of the refusal tokens) with ablation inside layers [l, l+w)",
                                xLabel: xLabel, yLabel: "refusal score", xRange: xRange,
                                references: [ReferenceLine(r.baseline.refusalScore, label: "no ablation"),
                                             ReferenceLine(r.allLayers.refusalScore, label: "all layers")] + vertical))
        return stack(panels.map { $0.svg() }, heights: panels.map(\.height), width: panels[0].width,
                     title: "Locality sweep, n = \(r.prompts) prompts")
    }

    /// The Wilson interval of a row's refusal rate over `n` prompts.
    static func interval(_ row: LocalityRow, _ n: Int) -> WilsonInterval? {
        guard let rate = row.refusalRate, n > 0 else { return nil }
        return try? Statistics.wilson(successes: Int((rate * Double(n)).rounded()), trials: n)
    }

    /// Charts one above the other in one `<svg>` element.
    static func stack(_ charts: [String], heights: [Double], width: Double, title: String) -> String {
        let total = heights.reduce(0, +)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(HTML.coordinate(width))\" height=\"\(HTML.coordinate(total))\" "
            + "viewBox=\"0 0 \(HTML.coordinate(width)) \(HTML.coordinate(total))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">\n"
        var y = 0.0
        for (chart, height) in zip(charts, heights) {
            out += chart.replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ", with: "<svg y=\"\(HTML.coordinate(y))\" ",
                                              options: .anchored) + "\n"
            y += height
        }
        return out + "</svg>"
    }
}
