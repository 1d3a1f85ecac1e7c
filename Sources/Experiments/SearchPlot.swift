import Foundation

/// Table and chart of an ablation-strength search.
public enum SearchPlot {
    /// The Pareto front (lowest KL first), the chosen trial marked.
    public static func table(_ r: SearchResult) -> String {
        var lines = ["  peak  width  max_w  min_w  refusal_score        KL"]
        let front = r.trials.indices.filter { r.trials[$0].pareto }.sorted { r.trials[$0].kl < r.trials[$1].kl }
        for i in front {
            let t = r.trials[i]
            let kl = HTML.significant(t.kl, digits: 3)
            lines.append(String(format: "%6.2f %6.2f %6.2f %6.2f %14.3f ", t.peak, t.width, t.maxWeight, t.minWeight, t.refusalScore)
                         + String(repeating: " ", count: max(0, 9 - kl.count)) + kl
                         + (i == r.best ? "  ← chosen" : ""))
        }
        return lines.joined(separator: "\n")
    }

    /// Refusal score against KL for every trial, the Pareto front as a line, the chosen trial (ringed and
    /// labelled with its parameters and scores), and the KL limit and the unablated refusal score as
    /// reference lines.
    public static func svg(_ r: SearchResult) -> String {
        let front = r.trials.filter(\.pareto).sorted { $0.kl < $1.kl }
        var series = [
            LineSeries(name: "trials", x: r.trials.map(\.kl), y: r.trials.map(\.refusalScore), color: "#9aa5b1", line: false),
            LineSeries(name: "Pareto front", x: front.map(\.kl), y: front.map(\.refusalScore), color: "#1f77b4"),
        ]
        var annotations: [ChartAnnotation] = []
        if let b = r.best {
            let t = r.trials[b]
            series.append(LineSeries(name: "chosen (lowest refusal score with KL ≤ \(HTML.compact(r.maxKL)))",
                                     x: [t.kl], y: [t.refusalScore], color: "#d62728", line: false))
            annotations.append(ChartAnnotation(x: t.kl, y: t.refusalScore, lines: [
                "chosen: trial \(b + 1)",
                String(format: "peak %.2f, width %.2f, strength %.2f → %.2f", t.peak, t.width, t.maxWeight, t.minWeight),
                "refusal score \(HTML.number(t.refusalScore, decimals: 3)), KL \(HTML.significant(t.kl, digits: 3))",
            ]))
        }
        // The KL limit is drawn only when the trials come near it; otherwise it would squeeze them into a corner.
        let largestKL = r.trials.map(\.kl).filter(\.isFinite).max() ?? 0
        var references = [ReferenceLine(r.baselineRefusalScore, label: "no ablation")]
        if largestKL > r.maxKL / 4 { references.append(ReferenceLine(r.maxKL, axis: .vertical, label: "KL limit")) }
        return LineChart(series: series, title: "Per-layer ablation strengths: refusals against damage (\(r.trials.count) trials, n = \(r.nHarmful) harmful / \(r.nHarmless) harmless)",
                         xLabel: "KL(baseline ‖ ablated) on harmless prompts (limit \(HTML.compact(r.maxKL)))",
                         yLabel: "refusal score on harmful prompts", references: references, annotations: annotations).svg()
    }
}
