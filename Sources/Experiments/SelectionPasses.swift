import Foundation
import Models
import TensorKit

/// How selection lays out its forward passes (SPEC §3.4 scores, computed exactly, with less work):
///
/// - Prompts are packed without padding, and the template text every prompt starts with (system
///   prompt, user header) is computed once per group instead of once per prompt.
/// - Bypass and KL rows share one group per candidate (both use the all-layer ablation).
/// - Adding `r` at `resid_pre[l]` leaves blocks below `l` unchanged, so induce rows start at block `l`
///   from the baseline's `resid_pre[l]` (kept from the baseline pass) instead of at the embedding.
/// - In the last block only each prompt's last token is computed once keys and values exist.
/// - Several candidates share a pass, and passes run on all threads at once, each single-threaded.
///
/// Passes are a fixed function of the candidate grid and the settings, so a resumed run recomputes
/// exactly the numbers an uninterrupted one would.
struct SelectionPlan {
    /// One candidate: where it sits in the grid and its directions.
    struct Job {
        var position: Int
        var layer: Int
        var direction: [Float]
        /// `r̂`, nil for a zero (or non-finite) direction, whose bypass and KL are NaN.
        var unit: [Float]?
        /// A zero direction adds nothing: its induce score is the baseline's.
        var isZero: Bool
    }

    /// A part of one candidate's work that runs as one packed group.
    struct Unit {
        enum Kind { case ablation, induce }
        var job: Int
        var kind: Kind
        /// Chunk index into `ablationChunks` or `harmlessChunks`.
        var chunk: Int
    }

    let jobs: [Job]
    let units: [Unit]
    /// Unit indices of each pass.
    let passes: [[Int]]
    /// Ranges of `harmful + harmless` validation rows (ablation) and of harmless rows (baseline, induce).
    let ablationChunks: [Range<Int>]
    let harmlessChunks: [Range<Int>]
    let harmfulChunks: [Range<Int>]

    init(jobs: [Job], harmful: [[Int]], harmless: [[Int]], tokensPerPass: Int) {
        self.jobs = jobs
        ablationChunks = PackedGroup.chunks(harmful + harmless, budget: tokensPerPass)
        harmlessChunks = PackedGroup.chunks(harmless, budget: tokensPerPass)
        harmfulChunks = PackedGroup.chunks(harmful, budget: tokensPerPass)
        let all = harmful + harmless
        func cost(_ rows: [[Int]], _ r: Range<Int>) -> Int { rows[r].reduce(0) { $0 + $1.count } }
        var units: [Unit] = [], costs: [Int] = []
        for (j, job) in jobs.enumerated() {
            if job.unit != nil {
                for c in ablationChunks.indices { units.append(Unit(job: j, kind: .ablation, chunk: c)); costs.append(cost(all, ablationChunks[c])) }
            }
            if !job.isZero {
                for c in harmlessChunks.indices { units.append(Unit(job: j, kind: .induce, chunk: c)); costs.append(cost(harmless, harmlessChunks[c])) }
            }
        }
        self.units = units
        passes = PackedGroup.chunks(sizes: costs, budget: tokensPerPass).map { Array($0) }
    }
}

/// The baseline of the validation sets: refusal scores, the harmless next-token distributions that
/// KL is measured against, and (when it fits in memory) every harmless `resid_pre[l]` for induce rows.
final class SelectionBaseline {
    var harmfulScores: [Double]
    var harmlessScores: [Double]
    var references: [RefusalMetrics.Reference?]
    /// `[chunk][layer]`: `resid_pre[layer]` of the chunk's packed tokens; nil when not kept.
    var residPre: [[FloatBuffer]]?

    init(harmful: Int, harmless: Int) {
        harmfulScores = Array(repeating: .nan, count: harmful)
        harmlessScores = Array(repeating: .nan, count: harmless)
        references = Array(repeating: nil, count: harmless)
    }
}
