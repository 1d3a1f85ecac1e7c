import Foundation
import Interventions
import Models

/// Scores several candidate directions in one forward pass: every row of the batch carries its own
/// intervention (ablation of its candidate everywhere, or addition of its candidate at one layer),
/// so selection needs a few large forward passes instead of three small ones per candidate.
final class RowSteering {
    /// Per row: the unit direction to ablate at resid_pre, attn_out and mlp_out of every layer.
    var ablate: [[Float]?] = []
    /// Per row: a vector to add at resid_pre of one layer.
    var add: [(vector: [Float], layer: Int)?] = []

    func hooks() -> Hooks {
        let hooks = Hooks()
        for point in [HookPoint.residPre, .attnOut, .mlpOut] {
            hooks.add(point) { [unowned self] act in
                for b in 0..<act.layout.batch {
                    if let u = self.ablate[b] { RowOps.ablate(act, unit: u, batchRow: b) }
                    if point == .residPre, let a = self.add[b], a.layer == act.layer { RowOps.add(act, a.vector, batchRow: b) }
                }
            }
        }
        return hooks
    }
}

extension DirectionSelector {
    /// One candidate to score: its index in the candidate grid and its raw direction.
    struct Job {
        var position: Int
        var layer: Int
        var direction: [Float]
    }

    /// Bypass, induce and KL for a group of candidates in one forward pass.
    func score(_ jobs: [Job], harmfulVal: [[Int]], harmlessVal: [[Int]], baseHarmless: UnsafePointer<Float>) throws -> [CandidateScore] {
        let model = runner.model, v = model.config.vocabSize
        let steering = RowSteering()
        var prompts: [[Int]] = []
        var units: [[Float]?] = []
        for job in jobs {
            let norm = job.direction.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            // A zero direction has no unit vector: its bypass and KL are NaN (the "nan" filter).
            let unit: [Float]? = norm > 0 && norm.isFinite ? job.direction.map { Float(Double($0) / norm) } : nil
            units.append(unit)
            if let unit {
                for p in harmfulVal { prompts.append(p); steering.ablate.append(unit); steering.add.append(nil) }
                for p in harmlessVal { prompts.append(p); steering.ablate.append(unit); steering.add.append(nil) }
            }
            for p in harmlessVal { prompts.append(p); steering.ablate.append(nil); steering.add.append((job.direction, job.layer)) }
        }
        let (_, logits) = try model.prefill(prompts, hooks: steering.hooks(), logits: .last)
        guard let logits else { return [] }
        var row = 0
        func score(_ r: Int) -> Double { RefusalMetrics.refusalScore(logits.pointer + r * v, vocab: v, refusalTokens: refusalTokens) }
        var out: [CandidateScore] = []
        for (job, unit) in zip(jobs, units) {
            var bypass = Double.nan, kl = Double.nan
            if unit != nil {
                bypass = (0..<harmfulVal.count).map { score(row + $0) }.reduce(0, +) / Double(max(1, harmfulVal.count))
                row += harmfulVal.count
                kl = (0..<harmlessVal.count).map {
                    RefusalMetrics.kl(baseHarmless + $0 * v, logits.pointer + (row + $0) * v, vocab: v)
                }.reduce(0, +) / Double(max(1, harmlessVal.count))
                row += harmlessVal.count
            }
            let induce = (0..<harmlessVal.count).map { score(row + $0) }.reduce(0, +) / Double(max(1, harmlessVal.count))
            row += harmlessVal.count
            out.append(CandidateScore(position: job.position, layer: job.layer, bypass: bypass, induce: induce, kl: kl, filteredBy: nil))
        }
        return out
    }
}
