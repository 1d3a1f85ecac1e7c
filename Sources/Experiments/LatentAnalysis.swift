import Foundation
import Interventions
import Models

/// `steer latents`: which SAE latents push prompts over the refusal border (SPEC §6). The refusal metric's
/// gradient at the SAE's hook ranks latents by attribution; prompts rank by gradient norm; optionally each
/// top latent is tested by steering along it.
public struct LatentAnalysis {
    /// The SAE's hook name.
    public var hook: String
    /// The top latents by attribution.
    public var latents: [LatentStat]
    /// Every prompt, by gradient norm (descending).
    public var prompts: [PromptGradientSummary]
    /// Per prompt in input order: its tokens' attributions to the top latents (`Σ_{i ∈ top} f_i·(W_dec[i]·g_t)`).
    public var tokenAttributions: [[Double]]
    /// Per prompt in input order: metric and gradient norm.
    public var inputOrder: [PromptGradientSummary]
    /// With `--test`: the refusal rate without intervention.
    public var baseline: WilsonInterval?

    /// Gradients of `prompts` (token ids; `texts` for the outputs) at the SAE's hook, attributions, ranking.
    public static func run(model: LanguageModel, sae: SparseAutoencoder, prompts: [[Int]], texts: [String], unit: [Float],
                           metricLayer M: Int, top: Int, tokenBudget: Int? = nil, progress: (Int) -> Void = { _ in }) throws -> LatentAnalysis {
        try sae.check(model: model)
        guard let point = sae.streamPoint, point.layer < M else {
            throw SAEError.mismatch(folder: sae.folder.path,
                                    reason: "its hook \(sae.config.hookName) is not before resid_pre[\(M)], where the metric is read (use --metric-layer above it)")
        }
        let results = try model.metricGradients(prompts, unit: unit, metricLayer: M, at: point, tokenBudget: tokenBudget, progress: progress)
        let attribution = LatentAttribution(sae: sae)
        for r in results { attribution.add(r) }
        let ranked = Array(attribution.ranking().prefix(max(0, top)))
        let chosen = Set(ranked.map(\.index))
        let inputOrder = zip(results, texts).map { r, text in
            PromptGradientSummary(prompt: text, metric: r.metric, gradNorm: r.gradient.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        }
        let byNorm = inputOrder.enumerated().sorted { $0.element.gradNorm > $1.element.gradNorm || ($0.element.gradNorm == $1.element.gradNorm && $0.offset < $1.offset) }
        return LatentAnalysis(hook: sae.config.hookName, latents: ranked, prompts: byNorm.map(\.element),
                              tokenAttributions: prompts.indices.map { attribution.tokenAttributions(prompt: $0, latents: chosen) },
                              inputOrder: inputOrder)
    }

    /// Refusal rates of greedy completions of `prompts` for the first `count` latents, each added at its hook
    /// (`scale`, or the latent's largest activation on the prompts when nil) and ablated, and without intervention.
    public mutating func test(_ count: Int, sae: SparseAutoencoder, evaluator: RefusalEvaluator, prompts: [[Int]], scale: Float?,
                              progress: (Int) -> Void = { _ in }) throws {
        let n = min(count, latents.count)
        var sets: [(prompts: [[Int]], edits: [ActivationEdit])] = [(prompts, [])]
        for stat in latents.prefix(n) {
            let c = scale ?? Float(stat.maxActivation)
            for mode in [LatentSteering.Mode.add(scale: c), .ablate] {
                sets.append((prompts, try LatentSteering(sae: sae, latent: stat.index, mode: mode).edits(for: evaluator.model)))
            }
        }
        let outputs = try evaluator.complete(sets, progress: progress)
        let rates = outputs.map { o in Statistics.wilson(o.map { RefusalPhrases.isRefusal(evaluator.text($0)) }) }
        baseline = rates[0]
        for k in 0..<n {
            latents[k].test = LatentTest(scale: Double(scale ?? Float(latents[k].maxActivation)), added: rates[1 + 2 * k],
                                         ablated: rates[2 + 2 * k])
        }
    }

    /// `latents.json`: `{"hook", "latents": [{index, attribution, frequency, mean_activation, …}], …}`.
    public struct LatentsFile: Codable {
        public var hook: String
        public var metricLayer: Int
        public var prompts: Int
        public var latents: [LatentStat]
        public var baseline: WilsonInterval?

        enum CodingKeys: String, CodingKey {
            case hook, prompts, latents, baseline
            case metricLayer = "metric_layer"
        }
    }

    public func latentsFile(metricLayer: Int) -> LatentsFile {
        LatentsFile(hook: hook, metricLayer: metricLayer, prompts: prompts.count, latents: latents, baseline: baseline)
    }
}
