import Foundation

/// HTML pages of the reasoning experiments (self-contained, via `HTMLReport`).
public enum ReasoningReport {
    static func pct(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "n/a" }
        return HTML.number(v * 100, decimals: 1) + "%"
    }

    static func interval(_ w: WilsonInterval) -> String {
        "\(pct(w.proportion)) [\(pct(w.lower)), \(pct(w.upper))] (\(w.successes)/\(w.trials))"
    }

    /// The rollouts page: format validity, answer counts, and a few examples.
    public static func rollouts(_ records: [RolloutRecord], summary: RolloutSummary, provenance: [(String, String)],
                                footer: String) -> HTMLReport {
        var r = HTMLReport(title: "Reasoning rollouts", subtitle: "\(records.count) completions", footer: footer)
        r.heading("Summary")
        var pairs: [(String, String)] = [
            ("strictly well-formed", interval(summary.wellFormed)),
            ("answer found (lenient)", interval(summary.lenientValid)),
        ]
        if let acc = summary.labelAccuracy { pairs.append(("answer = label", interval(acc))) }
        for (a, n) in summary.answers.sorted(by: { $0.key < $1.key }) { pairs.append(("answer '\(a)'", "\(n)")) }
        r.keyValues(pairs)
        r.heading("Run")
        r.keyValues(provenance)
        r.heading("Examples")
        for rec in records.prefix(12) {
            let tag = rec.answer ?? "invalid"
            r.comparison(prompt: rec.prompt.text, cards: [
                ComparisonCard(title: "\(rec.prompt.id) #\(rec.sample)\(rec.wellFormed ? "" : " (not strict)")", text: rec.completion,
                               tag: tag, tone: rec.answer == nil ? .bad : (rec.wellFormed ? .good : .info)),
            ])
        }
        return r
    }

    /// The trace-mediation page: condition table, curve, and example rows.
    public static func trace(_ summary: TraceSummary, rows: [TraceRow], provenance: [(String, String)], footer: String) -> HTMLReport {
        var r = HTMLReport(title: "Reasoning-trace mediation",
                           subtitle: "Is the trace a cache? \(summary.usableRollouts) of \(summary.rollouts) rollouts usable",
                           footer: footer)
        r.heading("Conditions")
        r.paragraph("Consistency = P(y′ = y), the forced run's answer equals the rollout's; invalid answers count as inconsistent. "
                    + "Intervals are Wilson 95%.")
        let rowsOut = summary.orderedConditionNames.compactMap { name -> [String]? in
            guard let c = summary.conditions[name] else { return nil }
            return [name, "\(c.n)", pct(c.consistency), "\(pct(c.ciLow))–\(pct(c.ciHigh))", pct(c.invalidRate),
                    pct(c.strictInvalidRate), c.attributeFollowing.map { "\(pct($0)) (n=\(c.attributeFollowingN ?? 0))" } ?? ""]
        }
        r.table(columns: ["condition", "n", "consistency", "95% CI", "invalid", "not strict", "attribute-following"], rows: rowsOut)
        var key: [(String, String)] = []
        if let a = summary.curveArea { key.append(("area under consistency(f)", HTML.number(a, decimals: 3))) }
        key.append(("f at 50%", summary.fractionAt50.map { HTML.number($0, decimals: 3) } ?? "never crosses"))
        if let a = summary.logitAgreement { key.append(("logit variant = sampled frozen-closed", "\(pct(a)) of \(summary.logitAgreementN ?? 0)")) }
        r.keyValues(key)
        if !summary.curve.isEmpty {
            r.heading("Curve")
            r.chart(summary.curveSVG(), caption: "Shaded: Wilson 95% interval per fraction; dashed: frozen conditions.")
            r.table(columns: ["f", "n", "consistency", "95% CI"], rows: summary.curve.map {
                [HTML.number($0.fraction, decimals: 2), "\($0.n)", pct($0.consistency), "\(pct($0.ciLow))–\(pct($0.ciHigh))"]
            })
        }
        r.heading("Run")
        r.keyValues(provenance)
        r.heading("Examples")
        let inconsistent = rows.filter { !$0.consistent }.prefix(8)
        let sample = inconsistent.isEmpty ? Array(rows.prefix(6)) : Array(inconsistent)
        for row in sample {
            r.comparison(prompt: "\(row.rolloutId) — \(row.group) on \(row.source); original answer \(row.originalAnswer)", cards: [
                ComparisonCard(title: "forced prefix (\(row.prefixTokens) tokens)", text: row.prefix),
                ComparisonCard(title: "continuation", text: row.completion, tag: row.answer ?? "invalid",
                               tone: row.consistent ? .good : .bad),
            ])
        }
        return r
    }
}
