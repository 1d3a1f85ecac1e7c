import Experiments
import Foundation
import Models

/// The short summary `steer refusal` and `steer demo` print at the end.
enum RefusalSummaryPrinter {
    static func print(_ r: RefusalRun, run: URL, seconds: Double, model: LanguageModel, out: Console) {
        let L = model.config.numLayers
        out.print("model            \(model.config.modelType), \(L) layers, d_model \(model.config.hiddenSize)")
        out.print("EOI positions    \(r.layout.eoiPositions.first ?? 0)…-1  (\(r.layout.eoiText.debugDescription))")
        out.print("refusal tokens   \(r.refusalTokens.map(String.init).joined(separator: ","))")
        let kept = r.selection.candidates.filter { $0.filteredBy == nil }.count
        out.print("candidates       \(r.selection.candidates.count) scored, \(kept) left after filters")
        guard let s = r.selection.selected else {
            out.print("selected         NONE: every candidate was filtered out (see selection.json / report.html)")
            let counts = Dictionary(grouping: r.selection.candidates.compactMap(\.filteredBy), by: { $0 }).mapValues(\.count)
            out.print("filtered by      " + counts.keys.sorted().map { "\($0): \(counts[$0] ?? 0)" }.joined(separator: ", "))
            return
        }
        out.print(String(format: "selected         position %d, layer %d  (bypass %.3f, induce %.3f, KL %@; baseline harmful %.3f)",
                         s.position, s.layer, s.bypass, s.induce, HTML.significant(s.kl, digits: 3), r.selection.baselineHarmful))
        if let e = r.evaluation {
            let rr = e.refusalRate
            out.print(String(format: "refusal harmful  baseline %.0f%%  ablation %.0f%%  subtraction %.0f%%   (n=%d)",
                             100 * rr.harmfulBaseline, 100 * rr.harmfulAblation, 100 * rr.harmfulSubtraction, e.n.harmfulTest))
            out.print(String(format: "refusal harmless baseline %.0f%%  addition %.0f%%   (n=%d)",
                             100 * rr.harmlessBaseline, 100 * rr.harmlessAddition, e.n.harmlessTest))
            if let d = e.degeneration {
                let conditions = RefusalEvaluationSummary.conditions.filter { d[$0] != nil }
                out.print("degenerate       " + conditions.map { String(format: "%@ %.0f%%", $0, 100 * (d[$0]?.degenerateRate ?? .nan)) }
                    .joined(separator: "  ") + "   (≥ half of 4-grams repeated)")
            }
            out.print(String(format: "KL harmless      %@ (ablation)   CE loss baseline %.3f  ablation %.3f  addition %.3f",
                             HTML.significant(e.klHarmlessAblation, digits: 3), e.ceLoss.baseline, e.ceLoss.ablation, e.ceLoss.addition))
        }
        out.print(String(format: "time             %.1fs  (", seconds)
                  + r.timings.keys.sorted().map { String(format: "%@ %.1fs", $0, r.timings[$0] ?? 0) }.joined(separator: ", ") + ")")
        out.print("report           \(run.appendingPathComponent("report.html").path)")
    }
}
