import Foundation
import Models

/// `report.html` of a refusal run: one self-contained page with the paper's figures — bypass, induce
/// and KL over position × layer, refusal rates before and after, and completions side by side.
public enum RefusalReport {
    public static func write(_ run: RefusalRun, model: LanguageModel, prompts: RefusalPrompts, store: RunStore,
                             tokenText: (Int) -> String = { "\($0)" }) throws {
        let c = model.config
        var page = HTMLReport(title: "Refusal direction — \(model.directory?.lastPathComponent ?? c.modelType)",
                              subtitle: "SPEC §3 (Arditi et al. 2024): difference-in-means, selection, evaluation",
                              footer: "Written by steer. Files: config.json, candidates.safetensors, direction.safetensors, selection.json, completions/, evaluation.json.")
        let sel = run.selection
        var facts: [(String, String)] = [
            ("model", "\(c.modelType), \(c.numLayers) layers, d_model \(c.hiddenSize)"),
            ("post-instruction tokens", "\(run.layout.eoiCount) (\(run.layout.eoiText.debugDescription))"),
            ("refusal tokens", run.refusalTokens.map { "\($0) \(tokenText($0).debugDescription)" }.joined(separator: ", ")),
            ("prompts (train / val / test)", "harmful \(prompts.harmfulTrain.count) / \(prompts.harmfulVal.count) / \(prompts.harmfulTest.count), harmless \(prompts.harmlessTrain.count) / \(prompts.harmlessVal.count) / \(prompts.harmlessTest.count)"),
            ("baseline refusal score (val)", String(format: "harmful %.3f, harmless %.3f", sel.baselineHarmful, sel.baselineHarmless)),
            ("filters", String(format: "layer < int(%.2f·L) = %d, KL ≤ %.3g, induce ≥ %.3g", sel.settings.maxLayerFraction,
                               Int(sel.settings.maxLayerFraction * Double(c.numLayers)), sel.settings.maxKL, sel.settings.minInduce)),
        ]
        if let s = sel.selected {
            facts.append(("selected", String(format: "position %d, layer %d — bypass %.3f, induce %.3f, KL %.4f", s.position, s.layer, s.bypass, s.induce, s.kl)))
        } else {
            facts.append(("selected", "NONE — every candidate was removed by a filter (table below)"))
        }
        page.heading("Summary")
        page.keyValues(facts)
        if let e = run.evaluation { evaluationSection(&page, e) }
        heatMaps(&page, run)
        candidateTable(&page, run)
        if run.evaluation != nil { try completions(&page, store) }
        try page.write(to: store.url("report.html"))
    }

    static func evaluationSection(_ page: inout HTMLReport, _ e: RefusalEvaluationSummary) {
        page.heading("Held-out evaluation")
        let r = e.refusalRate
        let chart = GroupedBarChart(
            groups: ["harmful (n=\(e.n.harmfulTest))", "harmless (n=\(e.n.harmlessTest))"],
            series: [BarSeries(name: "baseline", values: [r.harmfulBaseline, r.harmlessBaseline]),
                     BarSeries(name: "ablation (all layers)", values: [r.harmfulAblation, .nan]),
                     BarSeries(name: "subtraction (−r at layer)", values: [r.harmfulSubtraction, .nan]),
                     BarSeries(name: "addition (+r at layer)", values: [.nan, r.harmlessAddition])],
            title: "Refusal rate (refusal substrings, greedy, \(e.maxNewTokens) tokens)", yLabel: "refusal rate",
            unitInterval: true, percent: true)
        page.chart(chart.svg())
        page.keyValues([
            ("KL on harmless prompts (ablation)", String(format: "%.4f", e.klHarmlessAblation)),
            ("cross-entropy on harmless responses", String(format: "baseline %.4f, ablation %.4f, addition %.4f",
                                                           e.ceLoss.baseline, e.ceLoss.ablation, e.ceLoss.addition)),
            ("stage times", e.timings.keys.sorted().map { String(format: "%@ %.1fs", $0, e.timings[$0] ?? 0) }.joined(separator: ", ")),
        ])
    }

    static func heatMaps(_ page: inout HTMLReport, _ run: RefusalRun) {
        let sel = run.selection
        let positions = run.layout.eoiPositions
        let layers = (sel.candidates.map(\.layer).max() ?? -1) + 1
        guard layers > 0 else { return }
        func grid(_ value: (CandidateScore) -> Double) -> [[Double]] {
            positions.map { p in (0..<layers).map { l in
                sel.candidates.first { $0.position == p && $0.layer == l }.map(value) ?? .nan
            } }
        }
        var marker: (row: Int, column: Int)?
        if let s = sel.selected, let row = positions.firstIndex(of: s.position) { marker = (row, s.layer) }
        page.heading("Candidates over position × layer")
        page.paragraph("Each cell is one candidate direction r = mean(harmful) − mean(harmless) at that post-instruction position and layer. Bypass: mean refusal score on harmful validation prompts with r̂ ablated everywhere (lower is better). Induce: mean refusal score on harmless prompts with r added at its layer (higher is better). KL: divergence of harmless next-token distributions under ablation (lower is better).")
        let rows = positions.map(String.init), cols = (0..<layers).map(String.init)
        for (name, scale, value) in [("bypass score", ColorScale.diverging(center: 0), { (s: CandidateScore) in s.bypass }),
                                     ("induce score", ColorScale.diverging(center: 0), { (s: CandidateScore) in s.induce }),
                                     ("KL", ColorScale.sequential, { (s: CandidateScore) in s.kl })] {
            let map = HeatMap(values: grid(value), rowLabels: rows, columnLabels: cols, title: name,
                              rowAxisTitle: "position", columnAxisTitle: "layer", scale: scale, valueLabel: name,
                              marker: marker, markerLabel: marker == nil ? nil : "selected")
            page.chart(map.svg())
        }
    }

    static func candidateTable(_ page: inout HTMLReport, _ run: RefusalRun) {
        let sel = run.selection
        let counts = Dictionary(grouping: sel.candidates.compactMap(\.filteredBy), by: { $0 }).mapValues(\.count)
        page.heading("Filters")
        page.paragraph("Candidates removed per filter: " + (counts.isEmpty ? "none" : counts.keys.sorted().map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", "))
                       + ". \(sel.candidates.count - counts.values.reduce(0, +)) of \(sel.candidates.count) remain.")
        let shown = sel.selected == nil ? sel.candidates.sorted { $0.bypass < $1.bypass }
            : Array(sel.candidates.filter { $0.filteredBy == nil }.sorted { $0.bypass < $1.bypass }.prefix(15))
        page.table(columns: ["position", "layer", "bypass", "induce", "KL", "filtered by"],
                   rows: shown.map { [String($0.position), String($0.layer), String(format: "%.3f", $0.bypass),
                                      String(format: "%.3f", $0.induce), String(format: "%.4f", $0.kl), $0.filteredBy ?? "—"] },
                   caption: sel.selected == nil ? "every candidate, by bypass score" : "best remaining candidates by bypass score")
    }

    static func completions(_ page: inout HTMLReport, _ store: RunStore) throws {
        func load(_ name: String) -> [CompletionRecord] {
            store.readFileLines(CompletionRecord.self, store.url("completions/\(name).jsonl"))
        }
        page.heading("Sample completions")
        for (base, other, label) in [("harmful_baseline", "harmful_ablation", "ablation"), ("harmless_baseline", "harmless_addition", "addition")] {
            let a = load(base), b = load(other)
            for i in 0..<min(5, a.count, b.count) {
                page.comparison(prompt: a[i].prompt, cards: [
                    ComparisonCard(title: "baseline", text: a[i].completion, tag: a[i].refusal ? "refused" : "complied",
                                   tone: a[i].refusal ? .bad : .good),
                    ComparisonCard(title: label, text: b[i].completion, tag: b[i].refusal ? "refused" : "complied",
                                   tone: b[i].refusal ? .bad : .good),
                ])
            }
        }
    }
}

extension RunStore {
    /// JSON lines of a published file.
    func readFileLines<T: Decodable>(_ type: T.Type, _ url: URL) -> [T] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        return data.split(separator: 0x0a).compactMap { try? JSONDecoder().decode(T.self, from: Data($0)) }
    }
}
