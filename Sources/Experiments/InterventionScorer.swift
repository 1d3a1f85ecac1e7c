import Foundation
import Models
import Compute

/// One intervention to score on the validation sets (SPEC §3.4's tests, for any hook).
public struct ScoringJob {
    /// Applied to every harmful and harmless validation row: gives the mean refusal score of the
    /// harmful rows under it (bypass) and the mean KL of the harmless rows from the baseline. nil: both NaN.
    public var ablate: [ActivationEdit]?
    /// `vector` added at `resid_pre[layer]` of every harmless row: gives their mean refusal score (induce).
    /// nil: induce is the baseline's (adding nothing).
    public var add: (vector: [Float], layer: Int)?

    public init(ablate: [ActivationEdit]? = nil, add: (vector: [Float], layer: Int)? = nil) {
        self.ablate = ablate; self.add = add
    }
}

/// The scores of one job.
public struct JobScores: Sendable {
    public var bypass: Double
    public var induce: Double
    public var kl: Double
}

/// Scores many interventions exactly, with far less work than one padded batch per intervention and
/// prompt set:
///
/// - Prompts are packed without padding, and the template text every prompt starts with (system
///   prompt, user header) is computed once per group instead of once per prompt.
/// - A job's bypass and KL rows share one group (both under its `ablate` hooks).
/// - Adding a vector at `resid_pre[l]` leaves blocks below `l` unchanged, so induce rows start at block `l`
///   from the baseline's `resid_pre[l]` (kept from the baseline pass) instead of at the embedding.
/// - In the last block only each prompt's last token is computed once keys and values exist.
/// - Several jobs share a pass, and passes run on all threads at once, each single-threaded.
///
/// Passes are a fixed function of the jobs and the settings, so recomputing some jobs (after an
/// interruption) gives exactly the numbers an uninterrupted run would.
public struct InterventionScorer {
    public let model: LanguageModel
    public let refusalTokens: [Int]
    public let harmful: [[Int]]
    public let harmless: [[Int]]
    /// Tokens per pass (0 = `PackedGroup.tokenBudget` for the backend's threads).
    public var tokensPerPass = 0
    /// Memory (MB) the baseline's harmless `resid_pre` may take; above it induce rows start at the embedding.
    public var baselineCacheMB = 2048

    /// The last baseline computed, reused by later `score` calls with the same pass size.
    private let memo = Memo()

    public init(model: LanguageModel, refusalTokens: [Int], harmful: [[Int]], harmless: [[Int]]) {
        self.model = model; self.refusalTokens = refusalTokens; self.harmful = harmful; self.harmless = harmless
    }

    final class Memo: @unchecked Sendable {
        var baseline: ScoringBaseline?
        var budget = 0
    }

    /// Scores `jobs` whose index is in `pending` (all when nil). `onFinish(index, scores)` is called as each
    /// job completes, from any thread, one call at a time. Returns the baseline mean refusal scores.
    @discardableResult
    public func score(_ jobs: [ScoringJob], pending: Set<Int>? = nil,
                      onFinish: @escaping (Int, JobScores) -> Void) throws -> (harmful: Double, harmless: Double) {
        let budget = tokensPerPass > 0 ? tokensPerPass : PackedGroup.tokenBudget(model.config, concurrentPasses: model.backend.threads)
        let plan = ScoringPlan(jobs: jobs, harmful: harmful, harmless: harmless, tokensPerPass: budget)
        let pending = pending ?? Set(jobs.indices)
        let needsCache = plan.units.contains { pending.contains($0.job) && $0.kind == .induce && (jobs[$0.job].add?.layer ?? 0) > 0 }
        let baseline: ScoringBaseline
        if let b = memo.baseline, memo.budget == budget, b.residPre != nil || !needsCache {
            baseline = b
        } else {
            baseline = try computeBaseline(plan: plan, keepResidPre: needsCache)
            memo.baseline = baseline; memo.budget = budget
        }
        try runPasses(plan: plan, pending: pending, baseline: baseline, onFinish: onFinish)
        return (Self.mean(baseline.harmfulScores), Self.mean(baseline.harmlessScores))
    }

    /// Mean in row order (0 for no rows).
    static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(max(1, xs.count)) }
}

/// Which packed groups and passes the jobs need.
struct ScoringPlan {
    /// A part of one job's work that runs as one packed group.
    struct Unit {
        enum Kind { case ablation, induce }
        var job: Int
        var kind: Kind
        /// Chunk index into `ablationChunks` or `harmlessChunks`.
        var chunk: Int
    }

    let jobs: [ScoringJob]
    let units: [Unit]
    /// Unit indices of each pass.
    let passes: [[Int]]
    /// Ranges of `harmful + harmless` validation rows (ablation) and of harmless rows (baseline, induce).
    let ablationChunks: [Range<Int>]
    let harmlessChunks: [Range<Int>]
    let harmfulChunks: [Range<Int>]

    init(jobs: [ScoringJob], harmful: [[Int]], harmless: [[Int]], tokensPerPass: Int) {
        self.jobs = jobs
        ablationChunks = PackedGroup.chunks(harmful + harmless, budget: tokensPerPass)
        // Even sizes: the baseline runs these chunks as one set of jobs.
        harmlessChunks = PackedGroup.balancedChunks(harmless, budget: tokensPerPass, parts: 1)
        harmfulChunks = PackedGroup.balancedChunks(harmful, budget: tokensPerPass, parts: 1)
        let all = harmful + harmless
        func cost(_ rows: [[Int]], _ r: Range<Int>) -> Int { rows[r].reduce(0) { $0 + $1.count } }
        var units: [Unit] = [], costs: [Int] = []
        for (j, job) in jobs.enumerated() {
            if job.ablate != nil {
                for c in ablationChunks.indices { units.append(Unit(job: j, kind: .ablation, chunk: c)); costs.append(cost(all, ablationChunks[c])) }
            }
            if job.add != nil {
                for c in harmlessChunks.indices { units.append(Unit(job: j, kind: .induce, chunk: c)); costs.append(cost(harmless, harmlessChunks[c])) }
            }
        }
        self.units = units
        passes = PackedGroup.chunks(sizes: costs, budget: tokensPerPass).map { Array($0) }
    }
}

/// The baseline of the validation sets: refusal scores, the harmless next-token distributions that
/// KL is measured against, and (when it fits in memory) every harmless `resid_pre[l]` for induce rows.
final class ScoringBaseline {
    var harmfulScores: [Double]
    var harmlessScores: [Double]
    var references: [RefusalMetrics.Reference?]
    /// `[chunk][layer]`: `resid_pre[layer]` of the chunk's packed tokens (in the backend); nil when not kept.
    var residPre: [[Int: Tensor]]?

    init(harmful: Int, harmless: Int) {
        harmfulScores = Array(repeating: .nan, count: harmful)
        harmlessScores = Array(repeating: .nan, count: harmless)
        references = Array(repeating: nil, count: harmless)
    }
}
