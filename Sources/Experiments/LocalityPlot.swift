import Foundation

/// Table and chart of a locality sweep.
public enum LocalityPlot {
    public static func table(_ r: LocalityResult) -> String {
        var lines = ["window        refusal_score  refusal_rate"]
        func row(_ label: String, _ x: LocalityRow) {
            let rate = x.refusalRate.map { String(format: "%11.0f%%", 100 * $0) } ?? "          -"
            lines.append(label.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%13.3f", x.refusalScore) + "  " + rate)
        }
        row("none", r.baseline)
        row("all layers", r.allLayers)
        for w in r.windows { row("[\(w.start), \(w.start + w.width))", w) }
        return lines.joined(separator: "\n")
    }

    /// Refusal rate (or score) against the first layer of the window, one line per width, with the
    /// baseline and all-layer ablation as reference lines.
    public static func svg(_ r: LocalityResult) -> String {
        let useRate = r.baseline.refusalRate != nil
        func y(_ row: LocalityRow) -> Double { useRate ? (row.refusalRate ?? .nan) : row.refusalScore }
        let widths = Array(Set(r.windows.map(\.width))).sorted()
        let series = widths.map { w -> LineSeries in
            let rows = r.windows.filter { $0.width == w }
            return LineSeries(name: "ablate \(w) layer\(w == 1 ? "" : "s")", x: rows.map { Double($0.start) }, y: rows.map(y))
        }
        let label = useRate ? "refusal rate" : "refusal score"
        return LineChart(series: series, title: "Ablation inside a window of layers [l, l+w)",
                         xLabel: "first layer of the window (l)", yLabel: label,
                         yRange: useRate ? 0...1 : nil,
                         references: [ReferenceLine(y(r.baseline), label: "no ablation"),
                                      ReferenceLine(y(r.allLayers), label: "all layers")]).svg()
    }
}
