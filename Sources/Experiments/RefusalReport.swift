import Foundation
import Models

/// `report.html` of a refusal run: one self-contained page with the paper's figures — bypass, induce
/// and KL over position × layer, refusal rates before and after with Wilson 95% intervals, how
/// degenerate (repetitive) each condition's completions are, completions side by side, and the
/// provenance (command, seed, model hash, tool version).
public enum RefusalReport {
    public static func write(_ run: RefusalRun, model: LanguageModel, prompts: RefusalPrompts, store: RunStore,
                             provenance: RunProvenance? = nil, tokenText: (Int) -> String = { "\($0)" }) throws {
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
            facts.append(("selected", String(format: "position %d, layer %d — bypass %.3f, induce %.3f, KL %@", s.position, s.layer, s.bypass,
                                             s.induce, HTML.significant(s.kl, digits: 3))))
        } else {
            facts.append(("selected", "NONE — every candidate was removed by a filter (table below)"))
        }
        page.heading("Summary")
        page.keyValues(facts)
        if let e = run.evaluation { evaluationSection(&page, e) }
        heatMaps(&page, run)
        candidateTable(&page, run)
        if let e = run.evaluation { try completions(&page, store, degeneration: e.degeneration ?? [:]) }
        provenance?.add(to: &page)
        try page.write(to: store.url("report.html"))
    }

    static func evaluationSection(_ page: inout HTMLReport, _ e: RefusalEvaluationSummary) {
        page.heading("Held-out evaluation")
        let r = e.refusalRate
        let ci = e.refusalRateCI ?? [:], degeneration = e.degeneration ?? [:]
        let groups = ["harmful (n=\(e.n.harmfulTest))", "harmless (n=\(e.n.harmlessTest))"]
        // Per series: the condition in each group (nil: not run on that group).
        let layout: [(String, [String?])] = [("baseline", ["harmful_baseline", "harmless_baseline"]),
                                            ("ablation (all layers)", ["harmful_ablation", nil]),
                                            ("subtraction (−r at layer)", ["harmful_subtraction", nil]),
                                            ("addition (+r at layer)", [nil, "harmless_addition"])]
        func series(_ value: (String) -> Double?, _ interval: (String) -> WilsonInterval?) -> [BarSeries] {
            layout.map { name, conditions in
                BarSeries(name: name, values: conditions.map { $0.flatMap(value) ?? .nan },
                          intervals: conditions.map { $0.flatMap(interval).map { $0.lower...$0.upper } })
            }
        }
        let rates: [String: Double] = ["harmful_baseline": r.harmfulBaseline, "harmful_ablation": r.harmfulAblation,
                                       "harmful_subtraction": r.harmfulSubtraction, "harmless_baseline": r.harmlessBaseline,
                                       "harmless_addition": r.harmlessAddition]
        page.chart(GroupedBarChart(groups: groups, series: series({ rates[$0] }, { ci[$0] }),
                                   title: "Refusal rate (refusal substrings, greedy, \(e.maxNewTokens) tokens; Wilson 95% intervals)",
                                   yLabel: "refusal rate", unitInterval: true, percent: true).svg())
        if !degeneration.isEmpty {
            page.chart(GroupedBarChart(groups: groups, series: series({ degeneration[$0]?.degenerateRate }, { degeneration[$0]?.degenerate }),
                                       title: "Degenerate completions (at least half of their token 4-grams repeated; Wilson 95%)",
                                       yLabel: "degenerate", unitInterval: true, percent: true).svg())
        }
        page.table(columns: ["condition", "completions", "refusal rate [95% CI]", "degenerate [95% CI]", "repeated 4-grams (mean)"],
                   rows: RefusalEvaluationSummary.conditions.map { c in
                       [c, ci[c].map { String($0.trials) } ?? "—", ci[c].map(percent) ?? HTML.number(100 * (rates[c] ?? .nan), decimals: 0) + "%",
                        percent(degeneration[c]?.degenerate), degeneration[c].map { String(format: "%.2f", $0.repeatedNGramRate) } ?? "—"]
                   },
                   caption: "Rates with Wilson 95% intervals. A completion is degenerate when at least half of its token 4-grams already occurred in it (a loop such as “I'm sorryI'm sorry…”): refusal substrings in such text measure repetition, not refusal.")
        let suspect = RefusalEvaluationSummary.conditions.filter { (rates[$0] ?? 0) >= 0.5 && (degeneration[$0]?.degenerateRate ?? 0) >= 0.5 }
        if !suspect.isEmpty {
            page.paragraph("Caution: \(suspect.joined(separator: ", ")) — most completions are refusals by substring but also degenerate repetition; their refusal rate overstates real refusals.")
        }
        page.keyValues([
            ("KL on harmless prompts (ablation)", HTML.significant(e.klHarmlessAblation, digits: 3)),
            ("cross-entropy on harmless responses", String(format: "baseline %.4f, ablation %.4f, addition %.4f",
                                                           e.ceLoss.baseline, e.ceLoss.ablation, e.ceLoss.addition)),
            ("stage times", e.timings.keys.sorted().map { String(format: "%@ %.1fs", $0, e.timings[$0] ?? 0) }.joined(separator: ", ")),
        ])
    }

    /// "85% [76%, 92%]": a rate with its Wilson 95% interval ("—" without trials).
    static func percent(_ w: WilsonInterval?) -> String {
        guard let w, w.trials > 0 else { return "—" }
        return String(format: "%.0f%% [%.0f%%, %.0f%%]", 100 * w.proportion, 100 * w.lower, 100 * w.upper)
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
        // Candidates a filter removed keep their scores, hatched; the "nan" filter's have none (a zero direction).
        let filtered: [[String?]] = positions.map { p in (0..<layers).map { l in
            sel.candidates.first { $0.position == p && $0.layer == l }?.filteredBy.flatMap { $0 == "nan" ? nil : $0 }
        } }
        page.heading("Candidates over position × layer")
        page.paragraph("Each cell is one candidate direction r = mean(harmful) − mean(harmless) at that post-instruction position and layer. Bypass: mean refusal score on harmful validation prompts with r̂ ablated everywhere (lower is better). Induce: mean refusal score on harmless prompts with r added at its layer (higher is better). KL: divergence of harmless next-token distributions under ablation (lower is better). Hatched cells were removed by a filter (the tooltip names it); grey cells have no score: a zero direction, or a candidate at a layer the layer filter discards, which is not run unless --score-all-layers is given.")
        let rows = positions.map(String.init), cols = (0..<layers).map(String.init)
        for (name, scale, digits, value) in [("bypass score", ColorScale.diverging(center: 0), nil, { (s: CandidateScore) in s.bypass }),
                                             ("induce score", ColorScale.diverging(center: 0), nil, { (s: CandidateScore) in s.induce }),
                                             ("KL", ColorScale.sequential, 2, { (s: CandidateScore) in s.kl })] as [(String, ColorScale, Int?, (CandidateScore) -> Double)] {
            let map = HeatMap(values: grid(value), rowLabels: rows, columnLabels: cols, title: name,
                              rowAxisTitle: "position", columnAxisTitle: "layer", scale: scale, valueLabel: name,
                              marker: marker, markerLabel: marker == nil ? nil : "selected",
                              missingLabel: "no score (zero direction or not run)", filtered: filtered, filteredLabel: "removed by a filter",
                              significantDigits: digits)
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
                                      String(format: "%.3f", $0.induce), HTML.significant($0.kl, digits: 3), $0.filteredBy ?? "—"] },
                   caption: sel.selected == nil ? "every candidate, by bypass score" : "best remaining candidates by bypass score")
    }

    static func completions(_ page: inout HTMLReport, _ store: RunStore, degeneration: [String: Degeneration]) throws {
        func load(_ name: String) -> [CompletionRecord] {
            store.readFileLines(CompletionRecord.self, store.url("completions/\(name).jsonl"))
        }
        func card(_ title: String, _ r: CompletionRecord) -> ComparisonCard {
            let repeated = Degeneration.repeatedFraction(r.tokens)
            let loop = repeated >= Degeneration.threshold ? String(format: " — degenerate (%.0f%% of 4-grams repeated)", 100 * repeated) : ""
            return ComparisonCard(title: title + loop, text: r.completion, tag: r.refusal ? "refused" : "complied", tone: r.refusal ? .bad : .good)
        }
        page.heading("Sample completions")
        for (base, other, label) in [("harmful_baseline", "harmful_ablation", "ablation"), ("harmless_baseline", "harmless_addition", "addition")] {
            let a = load(base), b = load(other)
            if let d = degeneration[other], d.degenerate.trials > 0 {
                page.paragraph(String(format: "%@: %.0f%% of completions degenerate, mean repeated 4-gram rate %.2f.", label,
                                      100 * d.degenerateRate, d.repeatedNGramRate))
            }
            for i in 0..<min(5, a.count, b.count) {
                page.comparison(prompt: a[i].prompt, cards: [card("baseline", a[i]), card(label, b[i])])
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
