import Foundation
import Models

/// `report.html` of `steer leace`: refusal rates of baseline, LEACE and directional ablation as grouped bars
/// (Wilson 95% intervals), KL and loss, the per-layer class-mean gap before and after erasure, the layers that
/// got the identity eraser and why, completions side by side, and the provenance.
public enum LeaceReport {
    public static func write(_ run: LeaceRun, model: LanguageModel, settings: LeaceRunSettings, store: RunStore,
                             provenance: RunProvenance? = nil) throws {
        let c = model.config, e = run.evaluation
        var page = HTMLReport(title: "LEACE beside diff-in-means — \(model.directory?.lastPathComponent ?? c.modelType)",
                              subtitle: "SPEC §7: least-squares concept erasure (Belrose et al. 2023) of harmful / harmless, compared with directional ablation",
                              footer: "Written by steer. Files: config.json, eraser.safetensors, fit.json, completions/, evaluation.json.")
        let s = settings.fitting
        let edited = run.layers.filter { $0.identityReason == nil }
        page.heading("Summary")
        page.keyValues([
            ("model", "\(c.modelType), \(c.numLayers) layers, d_model \(c.hiddenSize)"),
            ("positions", settings.offsets == nil ? "eoi (\(run.positions.map(String.init).joined(separator: ", ")), pooled)" : settings.positionsLabel),
            ("fitting prompts", "harmful \(e.n.harmfulFit), harmless \(e.n.harmlessFit); \(run.layers.first?.rows ?? 0) rows per layer"),
            ("test prompts", "harmful \(e.n.harmfulTest), harmless \(e.n.harmlessTest)"),
            ("estimator", "concept-erasure 0.2.4 LeaceFitter in Float64: \(s.shrinkage ? "optimal linear shrinkage" : "sample covariance (no shrinkage)"), svd_tol \(s.svdTol), affine (bias = pooled mean)"),
            ("layers erased", edited.isEmpty ? "none" : edited.map { String($0.layer) }.joined(separator: ", ")),
            ("directional ablation", e.value(e.refusalRate, "harmful_ablation") == nil ? "not run (give --direction)" : "all layers (resid_pre, attn_out, mlp_out)"),
        ])
        let identity = run.layers.filter { $0.identityReason != nil }
        if !identity.isEmpty {
            page.paragraph("Identity eraser (nothing erased) at " + identity.map { "layer \($0.layer): \($0.identityReason ?? "")" }.joined(separator: "; ")
                           + ". At such a layer the fitting activations carry no linear information about the concept to remove (for example, the last prompt token is the same template token in every prompt, so resid_pre[0] is its embedding for both classes).")
        }
        rates(&page, e)
        gaps(&page, run)
        completions(&page, store)
        provenance?.add(to: &page)
        try page.write(to: store.url("report.html"))
    }

    static func rates(_ page: inout HTMLReport, _ e: LeaceEvaluationSummary) {
        page.heading("Held-out evaluation")
        let ci = e.refusalRateCI
        let groups = ["harmful (n=\(e.n.harmfulTest))", "harmless (n=\(e.n.harmlessTest))"]
        let series = [("baseline", "baseline"), ("LEACE (every fitted layer)", "leace"), ("directional ablation", "ablation")].map { name, suffix in
            let keys = ["harmful_\(suffix)", "harmless_\(suffix)"]
            return BarSeries(name: name, values: keys.map { e.value(e.refusalRate, $0) ?? .nan },
                             intervals: keys.map { ci[$0].map { $0.lower...$0.upper } })
        }
        page.chart(GroupedBarChart(groups: groups, series: series,
                                   title: "Refusal rate (refusal substrings, greedy, \(e.maxNewTokens) tokens; Wilson 95% intervals)",
                                   yLabel: "refusal rate", unitInterval: true, percent: true).svg())
        let shown = LeaceEvaluationSummary.conditions.filter { ci[$0] != nil }
        page.table(columns: ["condition", "completions", "refusal rate [95% CI]", "degenerate [95% CI]", "repeated 4-grams (mean)"],
                   rows: shown.map { c in
                       [c, ci[c].map { String($0.trials) } ?? "—", RefusalReport.percent(ci[c]), RefusalReport.percent(e.degeneration[c]?.degenerate),
                        e.degeneration[c].map { String(format: "%.2f", $0.repeatedNGramRate) } ?? "—"]
                   },
                   caption: "A completion is degenerate when at least half of its token 4-grams already occurred in it.")
        func number(_ v: Double?, _ digits: Int = 4) -> String { v.map { HTML.significant($0, digits: digits) } ?? "—" }
        page.table(columns: ["measure", "baseline", "LEACE", "ablation"],
                   rows: [["KL(baseline ‖ edited), harmless last token", "0", number(e.value(e.klHarmless, "leace"), 3),
                           number(e.value(e.klHarmless, "ablation"), 3)],
                          ["cross-entropy of the baseline's harmless replies", number(e.value(e.ceLoss, "baseline")),
                           number(e.value(e.ceLoss, "leace")), number(e.value(e.ceLoss, "ablation"))]],
                   caption: "Damage on harmless prompts: lower is closer to the unedited model.")
        // Refusal substrings in broken text measure nothing; a large loss on the baseline's own replies says the text broke.
        let base = e.value(e.ceLoss, "baseline") ?? .nan
        let broken = [("LEACE", "leace"), ("ablation", "ablation")].filter { (e.value(e.ceLoss, $0.1) ?? -.infinity) > base + 1 }
        if !broken.isEmpty {
            page.paragraph("Caution: under " + broken.map { "\($0.0) (cross-entropy \(number(e.value(e.ceLoss, $0.1))) vs \(number(base)) nats per token)" }.joined(separator: " and ")
                           + " the model no longer reproduces its own harmless replies: read the completions below before the refusal rates, which count refusal substrings even in broken text.")
        }
    }

    static func gaps(_ page: inout HTMLReport, _ run: LeaceRun) {
        let g = run.evaluation.classMeanGap
        guard !g.layers.isEmpty else { return }
        page.heading("Class-mean gap per layer")
        page.paragraph("‖mean(harmful) − mean(harmless)‖ of the fitting activations at each layer's resid_pre, before and after that layer's eraser (Float64). LEACE guarantees equal class means after erasure — the condition for no linear classifier to beat a constant — so the gap after is zero up to rounding wherever the layer was erased.")
        let x = g.layers.map(Double.init)
        page.chart(LineChart(series: [LineSeries(name: "before", x: x, y: g.before), LineSeries(name: "after LEACE", x: x, y: g.after, dashed: true)],
                             title: "Class-mean gap at resid_pre", xLabel: "layer", yLabel: "‖Δ mean‖").svg())
        page.table(columns: ["layer", "gap before", "gap after", "after / before", "singular value", "eraser"],
                   rows: run.layers.map { s in
                       [String(s.layer), HTML.significant(s.gapBefore, digits: 4), HTML.significant(s.gapAfter, digits: 3),
                        s.gapBefore > 0 ? HTML.significant(s.gapAfter / s.gapBefore, digits: 2) : "—",
                        HTML.significant(s.singularValue, digits: 3),
                        s.identityReason == nil ? (s.traceConstrained ? "rank 2 (trace constraint)" : "rank 1") : "identity"]
                   },
                   caption: "The singular value of W·Σ_xz is compared with svd_tol; at or below it the layer keeps the identity eraser.")
    }

    static func completions(_ page: inout HTMLReport, _ store: RunStore) {
        func load(_ name: String) -> [CompletionRecord] { store.readFileLines(CompletionRecord.self, store.url("completions/\(name).jsonl")) }
        page.heading("Sample completions")
        for cls in ["harmful", "harmless"] {
            let columns = [("baseline", load("\(cls)_baseline")), ("LEACE", load("\(cls)_leace")), ("ablation", load("\(cls)_ablation"))]
                .filter { !$0.1.isEmpty }
            let count = columns.map(\.1.count).min() ?? 0
            for i in 0..<min(4, count) {
                page.comparison(prompt: columns[0].1[i].prompt, cards: columns.map { title, rows in
                    ComparisonCard(title: title, text: rows[i].completion, tag: rows[i].refusal ? "refused" : "complied",
                                   tone: rows[i].refusal ? .bad : .good)
                })
            }
        }
    }
}
