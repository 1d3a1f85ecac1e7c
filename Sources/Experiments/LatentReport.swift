import Foundation

/// The `report.html` of `steer latents`: the top latents' attributions as bars (and, with `--test`, the
/// refusal rates with each added and ablated), the prompts' gradient norms against their metric, and every
/// prompt's tokens coloured by their attribution to the top latents. One self-contained page.
public enum LatentReport {
    /// `tokens[i]`: the decoded tokens of prompt i (input order), one string per position.
    public static func page(_ a: LatentAnalysis, tokens: [[String]], sae: String, metricLayer: Int,
                            provenance: RunProvenance) -> HTMLReport {
        var page = HTMLReport(title: "SAE latents behind the refusal metric",
                              subtitle: "\(sae) at \(a.hook); metric ⟨resid_pre[\(metricLayer)], r̂⟩ at the last position; \(a.prompts.count) prompts")
        page.heading("Top latents by attribution")
        page.paragraph("a_i = mean over prompts of Σ_t f_i(x_t)·(W_dec[i]·g_t), g_t the metric's gradient at the SAE's hook. Positive latents push the prompt towards refusal.")
        let labels = a.latents.map { "#\($0.index)" }
        page.chart(GroupedBarChart(groups: labels, series: [BarSeries(name: "attribution", values: a.latents.map(\.attribution))],
                                   title: "Attribution of the top \(a.latents.count) latents", xLabel: "latent", yLabel: "attribution",
                                   decimals: 3).svg())
        page.table(columns: ["latent", "attribution", "frequency", "mean activation", "max activation"] + (a.baseline == nil ? [] : ["refusal added", "refusal ablated"]),
                   rows: a.latents.map { s in
                       [String(s.index), HTML.significant(s.attribution, digits: 4), HTML.number(s.frequency, decimals: 3),
                        HTML.significant(s.meanActivation, digits: 3), HTML.significant(s.maxActivation, digits: 3)]
                           + (s.test.map { [rate($0.added), rate($0.ablated)] } ?? [])
                   })
        if let baseline = a.baseline {
            let tested = a.latents.filter { $0.test != nil }
            page.heading("Steering along the top latents")
            page.paragraph("Greedy completions of the prompts with the latent's decoder row added at its hook (scale shown) and projected out; a completion refuses when it contains a refusal phrase. Baseline without intervention: \(rate(baseline)). Bars show Wilson 95% intervals.")
            let added = tested.compactMap(\.test?.added), ablated = tested.compactMap(\.test?.ablated)
            page.chart(GroupedBarChart(groups: tested.map { "#\($0.index)" }, series: [
                BarSeries(name: "baseline", values: tested.map { _ in baseline.proportion }, intervals: tested.map { _ in baseline.lower...baseline.upper }),
                BarSeries(name: "added", values: added.map(\.proportion), intervals: added.map { $0.lower...$0.upper }),
                BarSeries(name: "ablated", values: ablated.map(\.proportion), intervals: ablated.map { $0.lower...$0.upper }),
            ], title: "Refusal rate with each latent added and ablated", xLabel: "latent", yLabel: "refusal rate", unitInterval: true,
               percent: true).svg())
            page.table(columns: ["latent", "scale", "refusal added", "refusal ablated"],
                       rows: tested.map { [String($0.index), HTML.significant($0.test?.scale ?? 0, digits: 3), rate($0.test?.added), rate($0.test?.ablated)] })
        }
        page.heading("Prompts by gradient norm")
        page.paragraph("‖g‖ over all positions of a prompt: prompts near the refusal border show large gradients.")
        page.chart(LineChart(series: [LineSeries(name: "prompts", x: a.inputOrder.map(\.metric), y: a.inputOrder.map(\.gradNorm), line: false)],
                             title: "Gradient norm against the refusal metric", xLabel: "metric ⟨resid_pre[\(metricLayer)], r̂⟩",
                             yLabel: "‖gradient‖").svg())
        page.table(columns: ["prompt", "metric", "gradient norm"],
                   rows: a.prompts.map { [$0.prompt, HTML.significant($0.metric, digits: 4), HTML.significant($0.gradNorm, digits: 4)] })
        page.heading("Tokens by attribution to the top latents")
        page.paragraph("Each token coloured by Σ over the top latents of f_i(x_t)·(W_dec[i]·g_t): red pushes towards refusal, blue away; hover for the value. Prompts in order of gradient norm.")
        let order = a.inputOrder.indices.sorted { a.inputOrder[$0].gradNorm > a.inputOrder[$1].gradNorm || (a.inputOrder[$0].gradNorm == a.inputOrder[$1].gradNorm && $0 < $1) }
        let scale = a.tokenAttributions.flatMap { $0 }.map(abs).max() ?? 0
        for i in order.prefix(50) where i < tokens.count {
            page.chart(tokenStrip(tokens[i], a.tokenAttributions[i], scale: scale),
                       caption: "metric \(HTML.significant(a.inputOrder[i].metric, digits: 4)), ‖g‖ \(HTML.significant(a.inputOrder[i].gradNorm, digits: 4))")
        }
        provenance.add(to: &page)
        return page
    }

    static func rate(_ w: WilsonInterval?) -> String {
        guard let w else { return "" }
        return "\(HTML.number(w.proportion * 100, decimals: 0))% [\(HTML.number(w.lower * 100, decimals: 0)), \(HTML.number(w.upper * 100, decimals: 0))] (\(w.successes)/\(w.trials))"
    }

    /// Tokens as boxes, wrapped into lines, filled by value on a blue–white–red scale symmetric around 0.
    static func tokenStrip(_ tokens: [String], _ values: [Double], scale: Double, width: Double = 900) -> String {
        let size = 12.0, lineHeight = 22.0, pad = 4.0
        var boxes: [(x: Double, line: Int, w: Double)] = [], x = pad, line = 0
        for token in tokens {
            let w = max(10, SVGBuilder.textWidth(visible(token), size: size) + 6)
            if x + w > width - pad && x > pad { x = pad; line += 1 }
            boxes.append((x, line, w))
            x += w + 2
        }
        var svg = SVGBuilder(width: width, height: Double(line + 1) * lineHeight + 2 * pad)
        let colors = ColorScale.diverging(center: 0)
        for (k, token) in tokens.enumerated() {
            let v = k < values.count ? values[k] : 0, t = scale > 0 ? 0.5 + 0.5 * v / scale : 0.5
            let fill = colors.color(at: t), y = pad + Double(boxes[k].line) * lineHeight
            svg.rect(boxes[k].x, y, boxes[k].w, lineHeight - 4, fill: fill.css, cssClass: "token",
                     tooltip: "\(visible(token)): \(HTML.significant(v, digits: 4))")
            svg.text(visible(token), boxes[k].x + 3, y + lineHeight - 9, size: size, fill: fill.luminance < 0.45 ? "#fff" : "#222")
        }
        return svg.render(title: "Tokens coloured by attribution", cssClass: "tokens")
    }

    /// A token as shown: whitespace made visible.
    static func visible(_ token: String) -> String {
        token.replacingOccurrences(of: "\n", with: "↵").replacingOccurrences(of: " ", with: "·")
    }
}
