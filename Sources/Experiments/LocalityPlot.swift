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

    public static func svg(_ r: LocalityResult) -> String {
        // Placeholder until the report charts land.
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>"
    }
}
