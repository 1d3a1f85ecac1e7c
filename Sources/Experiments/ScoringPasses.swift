import Foundation
import Models
import Compute

/// Running a `ScoringPlan`: the baseline passes, then the job passes on every thread.
extension InterventionScorer {
    /// Baseline scores of both validation sets and the harmless references for KL; with
    /// `keepResidPre`, also every harmless `resid_pre[l]` (when it fits in `baselineCacheMB`).
    func computeBaseline(plan: ScoringPlan, keepResidPre: Bool) throws -> ScoringBaseline {
        let c = model.config, v = c.vocabSize, d = c.hiddenSize, L = c.numLayers
        let base = ScoringBaseline(harmful: harmful.count, harmless: harmless.count)
        let groups = plan.harmlessChunks.map { PackedGroup(prompts: Array(harmless[$0])) }
        let cacheBytes = groups.reduce(0) { $0 + $1.tokenCount } * L * d * 4
        let keep = keepResidPre && cacheBytes <= baselineCacheMB << 20
        let be = model.backend
        let cache: [[Int: Tensor]] = keep ? groups.map { g in
            Dictionary(uniqueKeysWithValues: (0..<L).map { ($0, be.tensor(rows: g.tokenCount, cols: d)) })
        } : []
        let tokens = refusalTokens, model = model, harmful = harmful
        let chunks = plan.harmfulChunks.map { (harmful: true, range: $0, index: 0) }
            + plan.harmlessChunks.enumerated().map { (harmful: false, range: $0.element, index: $0.offset) }
        let lock = NSLock(), pool = Workspace.Pool(backend: be)
        try be.jobs(chunks.count) { i in
            let chunk = chunks[i]
            let group = chunk.harmful ? PackedGroup(prompts: Array(harmful[chunk.range])) : groups[chunk.index]
            var keepResid: [ActivationEdit] = []
            if !chunk.harmful && keep {
                let capture = Capture(rows: Array(0..<group.tokenCount), mode: .copy(cache[chunk.index]))
                keepResid = [ActivationEdit(point: .residPre, op: .capture(capture))]
            }
            guard let logits = try pool.with({ try model.forwardPacked([group], extraEdits: keepResid, workspace: $0) }) else { return }
            var scores: [Double] = [], refs: [RefusalMetrics.Reference] = []
            for r in 0..<chunk.range.count {
                let row = logits.pointer + r * v
                scores.append(RefusalMetrics.refusalScore(row, vocab: v, refusalTokens: tokens))
                if !chunk.harmful { refs.append(RefusalMetrics.Reference(row, vocab: v)) }
            }
            lock.lock(); defer { lock.unlock() }
            for (k, r) in chunk.range.enumerated() {
                if chunk.harmful { base.harmfulScores[r] = scores[k] } else { base.harmlessScores[r] = scores[k]; base.references[r] = refs[k] }
            }
        }
        base.residPre = keep ? cache : nil
        return base
    }

    /// Runs every pass that holds a pending job; `onFinish` gets each job's scores as it completes.
    func runPasses(plan: ScoringPlan, pending: Set<Int>, baseline: ScoringBaseline,
                   onFinish: @escaping (Int, JobScores) -> Void) throws {
        let v = model.config.vocabSize
        let H = harmful.count, N = harmless.count
        let tokens = refusalTokens, model = model
        // Per pending job: per-row scores, filled by its units, averaged in row order when complete.
        var bypass: [Int: [Double]] = [:], kl: [Int: [Double]] = [:], induce: [Int: [Double]] = [:], left: [Int: Int] = [:]
        for j in pending {
            bypass[j] = Array(repeating: .nan, count: H)
            kl[j] = Array(repeating: .nan, count: N)
            induce[j] = Array(repeating: .nan, count: N)
            left[j] = 0
        }
        for u in plan.units where pending.contains(u.job) { left[u.job, default: 0] += 1 }
        let lock = NSLock()
        func finish(_ j: Int) {
            let job = plan.jobs[j]
            onFinish(j, JobScores(bypass: job.ablate == nil ? .nan : Self.mean(bypass[j] ?? []),
                                  induce: job.add == nil ? Self.mean(baseline.harmlessScores) : Self.mean(induce[j] ?? []),
                                  kl: job.ablate == nil ? .nan : Self.mean(kl[j] ?? [])))
        }
        // Jobs with nothing to run are complete already.
        for j in pending.sorted() where left[j] == 0 { finish(j) }

        // Longest passes first, so that the threads finish together (each pass's numbers do not depend on
        // when it runs).
        let L = model.config.numLayers, cached = baseline.residPre != nil
        func cost(_ pass: [Int]) -> Int {
            pass.reduce(0) { total, u in
                let unit = plan.units[u]
                let rows = unit.kind == .ablation ? plan.ablationChunks[unit.chunk].count : plan.harmlessChunks[unit.chunk].count
                let layers = unit.kind == .induce && cached ? L - (plan.jobs[unit.job].add?.layer ?? 0) : L
                return total + rows * layers
            }
        }
        let passes = plan.passes.filter { $0.contains { pending.contains(plan.units[$0].job) } }
            .map { (pass: $0, cost: cost($0)) }.sorted { $0.cost > $1.cost }.map(\.pass)
        let pool = Workspace.Pool(backend: model.backend)
        let all = harmful + harmless
        try model.backend.jobs(passes.count) { p in
            let units = passes[p].map { plan.units[$0] }
            let groups = units.map { group(for: $0, plan: plan, all: all, baseline: baseline) }
            guard let logits = try pool.with({ try model.forwardPacked(groups, workspace: $0) }) else { return }
            // Metrics of every row, computed on this worker.
            var results: [(unit: ScoringPlan.Unit, values: [(row: Int, score: Double, kl: Double)])] = []
            var row = 0
            for u in units {
                let range = u.kind == .ablation ? plan.ablationChunks[u.chunk] : plan.harmlessChunks[u.chunk]
                var values: [(row: Int, score: Double, kl: Double)] = []
                for r in range {
                    let ptr = logits.pointer + row * v
                    row += 1
                    let lse = RefusalMetrics.logSumExp(ptr, v)
                    let score = RefusalMetrics.refusalScore(ptr, logSumExp: lse, refusalTokens: tokens)
                    // KL only for the harmless rows of an ablation group.
                    let k = u.kind == .ablation && r >= H ? (baseline.references[r - H]?.kl(ptr, logSumExp: lse) ?? .nan) : .nan
                    values.append((r, score, k))
                }
                results.append((u, values))
            }
            lock.lock(); defer { lock.unlock() }
            for (u, values) in results where pending.contains(u.job) {
                for x in values {
                    switch u.kind {
                    case .induce: induce[u.job]![x.row] = x.score
                    case .ablation where x.row < H: bypass[u.job]![x.row] = x.score
                    case .ablation: kl[u.job]![x.row - H] = x.kl
                    }
                }
                left[u.job]! -= 1
                if left[u.job] == 0 { finish(u.job) }
            }
        }
    }

    /// The packed group of one unit, with its intervention.
    func group(for u: ScoringPlan.Unit, plan: ScoringPlan, all: [[Int]], baseline: ScoringBaseline) -> PackedGroup {
        let job = plan.jobs[u.job]
        switch u.kind {
        case .ablation:
            var g = PackedGroup(prompts: Array(all[plan.ablationChunks[u.chunk]]))
            g.edits = job.ablate ?? []
            return g
        case .induce:
            var g = PackedGroup(prompts: Array(harmless[plan.harmlessChunks[u.chunk]]))
            guard let add = job.add else { return g }
            let l = add.layer
            if l > 0, let cache = baseline.residPre, let start = cache[u.chunk][l] {
                g.startLayer = l
                g.initialState = start
            }
            g.edits = [ActivationEdit(point: .residPre, layers: [l], op: .add(vector: add.vector, scale: 1))]
            return g
        }
    }
}
