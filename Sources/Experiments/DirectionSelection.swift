import Foundation
import Models
import TensorKit

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
    /// Prompts per forward pass while scoring (several candidates share one pass); a memory/speed knob
    /// that does not change the scores.
    public var rowsPerPass = 64

    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxLayerFraction = "max_layer_fraction"
        case maxKL = "max_kl"
        case minInduce = "min_induce"
        case rowsPerPass = "rows_per_pass"
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

    enum CodingKeys: String, CodingKey {
        case candidates, selected, settings
        case baselineHarmful = "baseline_harmful_score"
        case baselineHarmless = "baseline_harmless_score"
    }
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

    public init(runner: BatchRunner, refusalTokens: [Int], settings: SelectionSettings = SelectionSettings()) {
        self.runner = runner
        self.refusalTokens = refusalTokens
        self.settings = settings
    }

    /// Scores every candidate. `candidates[p][l]` is the raw direction for position `positions[p]`, layer `l`.
    /// `progress(done, total)` is called after each candidate.
    public func select(candidates: [[[Float]]], positions: [Int], harmfulVal: [[Int]], harmlessVal: [[Int]],
                       progress: (Int, Int) -> Void = { _, _ in }) throws -> SelectionResult {
        let v = runner.model.config.vocabSize
        let L = runner.model.config.numLayers
        let baseHarmless = try runner.lastLogits(harmlessVal)
        let baseHarmfulScore = try runner.meanRefusalScore(harmfulVal, refusalTokens: refusalTokens)
        let baseHarmlessScore = (0..<harmlessVal.count).map {
            RefusalMetrics.refusalScore(baseHarmless.pointer + $0 * v, vocab: v, refusalTokens: refusalTokens)
        }.reduce(0, +) / Double(max(1, harmlessVal.count))
        let total = positions.count * L
        let maxLayer = Int(settings.maxLayerFraction * Double(L))
        var byKey: [String: CandidateScore] = [:]
        for d in done { byKey["\(d.position),\(d.layer)"] = d }
        var jobs: [Job] = []
        for (pi, p) in positions.enumerated() {
            for l in 0..<L where byKey["\(p),\(l)"] == nil { jobs.append(Job(position: p, layer: l, direction: candidates[pi][l])) }
        }
        progress(total - jobs.count, total)
        // As many candidates per forward pass as fit in the row budget.
        let rowsPerJob = harmfulVal.count + 2 * harmlessVal.count
        let perPass = max(1, settings.rowsPerPass / max(1, rowsPerJob))
        var start = 0
        while start < jobs.count {
            let group = Array(jobs[start..<min(jobs.count, start + perPass)])
            for s in try score(group, harmfulVal: harmfulVal, harmlessVal: harmlessVal, baseHarmless: baseHarmless.pointer) {
                byKey["\(s.position),\(s.layer)"] = s
                onScore(s)
            }
            start += group.count
            progress(total - jobs.count + start, total)
        }
        var scores: [CandidateScore] = []
        for p in positions {
            for l in 0..<L {
                guard var s = byKey["\(p),\(l)"] else { continue }
                s.filteredBy = filter(s, maxLayer: maxLayer)
                scores.append(s)
            }
        }
        let kept = scores.filter { $0.filteredBy == nil }
        let selected = kept.min { $0.bypass < $1.bypass }
        return SelectionResult(candidates: scores, selected: selected, settings: settings,
                               baselineHarmful: baseHarmfulScore, baselineHarmless: baseHarmlessScore)
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
