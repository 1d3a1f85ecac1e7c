import Basics
import Foundation
import Interventions
import Models
import Compute

/// One point of an ablation-strength search: heretic's per-layer weighting and its two costs.
public struct SearchTrial: Codable, Sendable {
    public var peak: Double
    public var width: Double
    public var maxWeight: Double
    public var minWeight: Double
    /// Mean refusal score on the harmful prompts under the weighted ablation (lower: fewer refusals).
    public var refusalScore: Double
    /// Mean KL(baseline ‖ ablated) of the harmless prompts' next-token distributions (lower: less damage).
    public var kl: Double
    /// No other trial is at least as good on both costs and better on one.
    public var pareto: Bool

    enum CodingKeys: String, CodingKey {
        case peak, width, kl, pareto
        case maxWeight = "max_weight", minWeight = "min_weight", refusalScore = "refusal_score"
    }

    public func weighting() throws -> LayerWeighting { try LayerWeighting(peak: peak, width: width, max: maxWeight, min: minWeight) }
}

/// `search.json`: every trial, which one was chosen, and the settings.
public struct SearchResult: Codable, Sendable {
    public var layers: Int
    public var trials: [SearchTrial]
    /// Index of the trial with the lowest refusal score among those with KL ≤ `maxKL`; nil when none qualifies.
    public var best: Int?
    public var maxKL: Double
    public var seed: UInt64
    public var baselineRefusalScore: Double
    public var nHarmful: Int
    public var nHarmless: Int

    enum CodingKeys: String, CodingKey {
        case layers, trials, best, seed
        case maxKL = "max_kl", baselineRefusalScore = "baseline_refusal_score"
        case nHarmful = "n_harmful", nHarmless = "n_harmless"
    }
}

/// Searches heretic's per-layer ablation strengths (peak, width, strength at the peak and at the edge)
/// for the best trade between refusals (mean refusal score on harmful prompts) and damage (KL on
/// harmless prompts). Each trial is the hook form of a weighted weight edit
/// (`DirectionalAblation.matchingWeightEdit(direction:weighting:)`), so `steer abliterate --peak … --width …`
/// exports exactly what was scored. Two rounds: seeded uniform samples (plus strength 1 everywhere), then
/// samples around the best so far; all trials of a round are scored together in packed passes.
public struct AblationSearch {
    public let model: LanguageModel
    public let refusalTokens: [Int]
    public var trials = 48
    public var seed: UInt64 = 0
    public var maxKL = 0.1
    public var tokensPerPass = 0

    public init(model: LanguageModel, refusalTokens: [Int]) {
        self.model = model
        self.refusalTokens = refusalTokens
    }

    public func run(direction: [Float], harmful: [[Int]], harmless: [[Int]],
                    progress: @escaping (Int, Int) -> Void = { _, _ in }) throws -> SearchResult {
        let L = model.config.numLayers
        var scorer = InterventionScorer(model: model, refusalTokens: refusalTokens, harmful: harmful, harmless: harmless)
        scorer.tokensPerPass = tokensPerPass
        var rng = SplitMix64(seed: seed)
        func uniform(_ r: ClosedRange<Double>) -> Double {
            r.lowerBound + (r.upperBound - r.lowerBound) * Double(rng.next() >> 11) / Double(1 << 53)
        }
        let top = Double(max(1, L - 1))
        func clamp(_ t: SearchTrial) -> SearchTrial {
            var t = t
            t.peak = min(max(t.peak, 0), top); t.width = min(max(t.width, 0.5), Double(L))
            t.maxWeight = min(max(t.maxWeight, 0), 1.5); t.minWeight = min(max(t.minWeight, 0), t.maxWeight)
            return t
        }
        func trial(_ peak: Double, _ width: Double, _ mx: Double, _ mn: Double) -> SearchTrial {
            clamp(SearchTrial(peak: peak, width: width, maxWeight: mx, minWeight: mn, refusalScore: .nan, kl: .nan, pareto: false))
        }
        let firstRound = max(1, trials - trials / 3)
        var all: [SearchTrial] = [trial(top / 2, Double(L), 1, 1)]
        while all.count < firstRound {
            let mx = uniform(0.5...1.5)
            all.append(trial(uniform(0...top), uniform(1...Double(L)), mx, uniform(0...mx)))
        }
        var done = 0, baseline = Double.nan
        func score(_ range: Range<Int>) throws {
            let jobs = try range.map { i in
                ScoringJob(ablate: try DirectionalAblation.matchingWeightEdit(direction: direction, weighting: try all[i].weighting())
                    .edits(for: model))
            }
            baseline = try scorer.score(jobs) { j, s in
                all[range.lowerBound + j].refusalScore = s.bypass
                all[range.lowerBound + j].kl = s.kl
                done += 1
                progress(done, trials)
            }.harmful
        }
        try score(0..<all.count)
        // Second round: around the best so far (or the lowest-KL trial when none is within maxKL).
        let refineStart = all.count
        while all.count < trials {
            let centre = all[Self.best(all, maxKL: maxKL) ?? all.indices.min { all[$0].kl < all[$1].kl } ?? 0]
            let spread = 0.15
            all.append(trial(centre.peak + uniform(-1...1) * spread * Double(L), centre.width * (1 + uniform(-0.3...0.3)),
                             centre.maxWeight + uniform(-0.15...0.15), centre.minWeight + uniform(-0.15...0.15)))
        }
        if refineStart < all.count { try score(refineStart..<all.count) }
        for i in all.indices {
            all[i].pareto = !all.indices.contains { j in
                j != i && all[j].refusalScore <= all[i].refusalScore && all[j].kl <= all[i].kl
                    && (all[j].refusalScore < all[i].refusalScore || all[j].kl < all[i].kl)
            }
        }
        return SearchResult(layers: L, trials: all, best: Self.best(all, maxKL: maxKL), maxKL: maxKL, seed: seed,
                            baselineRefusalScore: baseline, nHarmful: harmful.count, nHarmless: harmless.count)
    }

    /// The lowest refusal score among trials with KL ≤ `maxKL` (NaN scores never qualify).
    static func best(_ trials: [SearchTrial], maxKL: Double) -> Int? {
        trials.indices.filter { trials[$0].kl <= maxKL && trials[$0].refusalScore.isFinite }
            .min { trials[$0].refusalScore < trials[$1].refusalScore }
    }
}
