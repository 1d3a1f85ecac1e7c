import Foundation
import Interventions
import Models
import Compute

/// Scores of one candidate direction `(position, layer)` (SPEC §3.4).
public struct CandidateScore: Codable, Sendable {
    public var position: Int
    public var layer: Int
    /// Mean refusal score on harmful validation prompts with the direction ablated everywhere.
    public var bypass: Double
    /// Mean refusal score on harmless validation prompts with the direction added at `layer`.
    public var induce: Double
    /// Mean KL(baseline ‖ ablated) of the last-position distribution on harmless validation prompts.
    public var kl: Double
    /// Which filter removed it, or nil when it stayed in.
    public var filteredBy: String?

    enum CodingKeys: String, CodingKey {
        case position, layer, bypass, induce, kl
        case filteredBy = "filtered_by"
    }

    public init(position: Int, layer: Int, bypass: Double, induce: Double, kl: Double, filteredBy: String?) {
        self.position = position; self.layer = layer; self.bypass = bypass; self.induce = induce; self.kl = kl
        self.filteredBy = filteredBy
    }

    // NaN scores are written as JSON null (as the Python reference does) and read back as NaN.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        position = try c.decode(Int.self, forKey: .position)
        layer = try c.decode(Int.self, forKey: .layer)
        bypass = try c.decodeIfPresent(Double.self, forKey: .bypass) ?? .nan
        induce = try c.decodeIfPresent(Double.self, forKey: .induce) ?? .nan
        kl = try c.decodeIfPresent(Double.self, forKey: .kl) ?? .nan
        filteredBy = try c.decodeIfPresent(String.self, forKey: .filteredBy)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(position, forKey: .position)
        try c.encode(layer, forKey: .layer)
        for (key, value) in [(CodingKeys.bypass, bypass), (.induce, induce), (.kl, kl)] {
            if value.isFinite { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
        }
        if let filteredBy { try c.encode(filteredBy, forKey: .filteredBy) } else { try c.encodeNil(forKey: .filteredBy) }
    }
}

/// Selection thresholds; every one is a flag of `steer refusal`.
public struct SelectionSettings: Codable, Sendable {
    /// Candidates at layers `≥ int(maxLayerFraction · L)` are discarded.
    public var maxLayerFraction: Double = 0.8
    /// Candidates with KL above this are discarded.
    public var maxKL: Double = 0.1
    /// Candidates whose induce score is below this are discarded.
    public var minInduce: Double = 0
    /// Tokens per forward pass while scoring (several candidates share one pass; 0 = sized from the
    /// model, `PackedGroup.tokenBudget`). A memory/speed knob: it changes the scores only by float32 rounding
    /// (other pass shapes sum in another order; see `ModelConfig.roundingBound`).
    public var tokensPerPass = 0
    /// Largest memory (MB) for the harmless baseline's `resid_pre` at every layer, which lets induce rows
    /// start at their layer instead of the embedding; above it they run from the embedding (the same scores
    /// up to float32 rounding).
    public var baselineCacheMB = 2048
    /// Also score the candidates the layer filter discards (for the full position × layer picture);
    /// by default they are not run, since no score can bring them back (about a fifth of the candidates).
    public var scoreFilteredLayers = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxLayerFraction = "max_layer_fraction"
        case maxKL = "max_kl"
        case minInduce = "min_induce"
        case tokensPerPass = "tokens_per_pass"
        case baselineCacheMB = "baseline_cache_mb"
        case scoreFilteredLayers = "score_filtered_layers"
    }

    // Keys added later are optional, so that settings written by an earlier version still read.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxLayerFraction = try c.decode(Double.self, forKey: .maxLayerFraction)
        maxKL = try c.decode(Double.self, forKey: .maxKL)
        minInduce = try c.decode(Double.self, forKey: .minInduce)
        tokensPerPass = try c.decodeIfPresent(Int.self, forKey: .tokensPerPass) ?? 0
        baselineCacheMB = try c.decodeIfPresent(Int.self, forKey: .baselineCacheMB) ?? 2048
        scoreFilteredLayers = try c.decodeIfPresent(Bool.self, forKey: .scoreFilteredLayers) ?? false
    }
}

/// The result of scoring and filtering every candidate.
public struct SelectionResult: Codable, Sendable {
    public var candidates: [CandidateScore]
    /// The chosen candidate (lowest bypass among those left), nil when every one was filtered out.
    public var selected: CandidateScore?
    public var settings: SelectionSettings
    public var baselineHarmful: Double
    public var baselineHarmless: Double
    /// The token ids whose probability mass the refusal score measures.
    public var refusalTokens: [Int]?
    /// Validation prompts scored per class.
    public var nHarmful: Int?
    public var nHarmless: Int?

    enum CodingKeys: String, CodingKey {
        case candidates, selected, settings
        case baselineHarmful = "baseline_harmful_score"
        case baselineHarmless = "baseline_harmless_score"
        case refusalTokens = "refusal_tokens"
        case nHarmful = "n_harmful_val"
        case nHarmless = "n_harmless_val"
    }
}

/// Mean refusal scores of the validation sets without edits (SPEC §3.4's baseline).
public struct SelectionBaseline: Codable, Sendable {
    public var harmful: Double
    public var harmless: Double
    public init(harmful: Double, harmless: Double) { self.harmful = harmful; self.harmless = harmless }
    var isFinite: Bool { harmful.isFinite && harmless.isFinite }
}

/// Scores candidate directions with the bypass / induce / KL tests and picks one.
public struct DirectionSelector {
    public let runner: BatchRunner
    public let refusalTokens: [Int]
    public var settings: SelectionSettings
    /// Scores already computed (e.g. before an interruption); those candidates are not re-run.
    public var done: [CandidateScore] = []
    /// Called with each newly computed score (for checkpointing).
    public var onScore: (CandidateScore) -> Void = { _ in }
    /// The baseline already computed for these validation sets (a checkpoint): when every candidate is in
    /// `done` as well, `select` runs no forward pass.
    public var baseline: SelectionBaseline?
    /// Called with the baseline when it is computed (for checkpointing).
    public var onBaseline: (SelectionBaseline) -> Void = { _ in }

    public init(runner: BatchRunner, refusalTokens: [Int], settings: SelectionSettings = SelectionSettings()) {
        self.runner = runner
        self.refusalTokens = refusalTokens
        self.settings = settings
    }

    /// Scores every candidate the layer filter keeps (every one with `scoreFilteredLayers`; the others are
    /// listed with null scores, filtered by "layer"). `candidates[p][l]` is the raw direction for position
    /// `positions[p]`, layer `l`. `progress(done, total)` is called after each scored candidate (from any
    /// thread, one call at a time).
    public func select(candidates: [[[Float]]], positions: [Int], harmfulVal: [[Int]], harmlessVal: [[Int]],
                       progress: @escaping (Int, Int) -> Void = { _, _ in }) throws -> SelectionResult {
        let model = runner.model
        let L = model.config.numLayers
        let maxLayer = Int(settings.maxLayerFraction * Double(L))
        // Every (position, layer); only those the layer filter keeps become jobs unless all are asked for.
        var grid: [(position: Int, layer: Int)] = [], jobs: [ScoringJob] = [], jobGrid: [Int] = []
        for (pi, p) in positions.enumerated() {
            for l in 0..<L {
                grid.append((p, l))
                guard settings.scoreFilteredLayers || l < maxLayer else { continue }
                let r = candidates[pi][l]
                let norm = r.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
                var job = ScoringJob()
                // A zero direction has no unit vector: its bypass and KL are NaN (the "nan" filter).
                if norm > 0 && norm.isFinite { job.ablate = try DirectionalAblation(direction: r).edits(for: model) }
                // Adding a zero direction changes nothing: its induce score is the baseline's.
                if !r.allSatisfy({ $0 == 0 }) { job.add = (r, l) }
                jobs.append(job); jobGrid.append(grid.count - 1)
            }
        }
        var byKey: [String: CandidateScore] = [:]
        for d in done { byKey["\(d.position),\(d.layer)"] = d }
        let pending = Set(jobs.indices.filter { byKey["\(grid[jobGrid[$0]].position),\(grid[jobGrid[$0]].layer)"] == nil })
        let total = jobs.count
        progress(total - pending.count, total)
        var scorer = InterventionScorer(model: model, refusalTokens: refusalTokens, harmful: harmfulVal, harmless: harmlessVal)
        scorer.tokensPerPass = settings.tokensPerPass
        scorer.baselineCacheMB = settings.baselineCacheMB
        var finished = 0
        let onScore = self.onScore
        let baseline: SelectionBaseline
        if pending.isEmpty, let known = self.baseline {
            baseline = known
        } else {
            let b = try scorer.score(jobs, pending: pending) { j, s in
                let g = grid[jobGrid[j]]
                let c = CandidateScore(position: g.position, layer: g.layer, bypass: s.bypass, induce: s.induce, kl: s.kl, filteredBy: nil)
                byKey["\(c.position),\(c.layer)"] = c
                onScore(c)
                finished += 1
                progress(total - pending.count + finished, total)
            }
            baseline = SelectionBaseline(harmful: b.harmful, harmless: b.harmless)
            onBaseline(baseline)
        }
        var scores: [CandidateScore] = []
        for g in grid {
            if var s = byKey["\(g.position),\(g.layer)"] {
                s.filteredBy = filter(s, maxLayer: maxLayer)
                scores.append(s)
            } else {
                // Not scored (discarded by layer): no scores, written as null.
                scores.append(CandidateScore(position: g.position, layer: g.layer, bypass: .nan, induce: .nan, kl: .nan,
                                             filteredBy: g.layer >= maxLayer ? "layer" : "nan"))
            }
        }
        let kept = scores.filter { $0.filteredBy == nil }
        let selected = kept.min { $0.bypass < $1.bypass }
        return SelectionResult(candidates: scores, selected: selected, settings: settings,
                               baselineHarmful: baseline.harmful, baselineHarmless: baseline.harmless,
                               refusalTokens: refusalTokens, nHarmful: harmfulVal.count, nHarmless: harmlessVal.count)
    }

    /// The first filter (in SPEC order) that removes a candidate.
    func filter(_ s: CandidateScore, maxLayer: Int) -> String? {
        if s.bypass.isNaN || s.induce.isNaN || s.kl.isNaN { return "nan" }
        if s.layer >= maxLayer { return "layer" }
        if s.kl > settings.maxKL { return "kl" }
        if s.induce < settings.minInduce { return "induce" }
        return nil
    }
}
