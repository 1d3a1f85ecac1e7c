import Foundation
import ModelFormats
import Models

/// How far two runs that differ only in float32 rounding (BLAS kernel, threads, packing of the scoring passes,
/// padded against packed passes) may put refusal scores and KLs apart.
///
/// Logits: two passes differ by at most Δ = 2·M·u·√D (`ModelConfig.roundingBound`), D the summed reduction
/// lengths along a logit's path at the longest prompt, and M a bound on every logit of any input under any
/// intervention: the final RMSNorm's output has Euclidean norm ≤ √d, so by Cauchy–Schwarz
/// |logit_i| ≤ √d·‖W_U[i] ⊙ g‖ (g the final norm's weight).
///
/// Refusal score s = log P − log(1 − P), P the refusal tokens' probability: ∂s/∂z_i is p_i/P on the refusal
/// tokens and −p_i/(1 − P) elsewhere, whose absolute values sum to 2, so |δs| ≤ 2Δ (the 1e-8 terms only
/// shrink it); mean scores over prompts keep the bound.
///
/// KL(p‖q) with baseline logits y and ablated logits z, r = log(p/q): δKL = E_p[δy·(r − KL)] + Σ(q − p)·δz, so
/// |δKL| ≤ Δ·(E_p|r| + KL) + Δ·‖q − p‖₁ ≤ Δ·(2·KL + 2·√(2·KL)), using E_p|r| ≤ KL + 2·TV, ‖q − p‖₁ = 2·TV and
/// Pinsker's TV ≤ √(KL/2); the mean over prompts keeps the form (√ is concave). 4Δ² covers the second order.
struct ScoreTolerance {
    /// Δ, the bound on the logits.
    let logits: Double

    /// For a model whose weights hold `lm_head.weight` and `model.norm.weight` (Qwen2 and Llama layouts),
    /// scored on prompts of at most `tokens` tokens.
    init(directory: URL, model: LanguageModel, tokens: Int) throws {
        let weights = try SafeTensorsFile(url: directory.appendingPathComponent("model.safetensors"))
        let unembedding = try weights.floats("lm_head.weight"), g = try weights.floats("model.norm.weight")
        let d = model.config.hiddenSize
        var row = 0.0
        for i in 0..<model.config.vocabSize {
            row = max(row, (0..<d).reduce(0.0) { let w = Double(unembedding[i * d + $1] * g[$1]); return $0 + w * w }.squareRoot())
        }
        logits = model.config.roundingBound(magnitude: Double(d).squareRoot() * row, tokens: tokens)
    }

    /// For a refusal score or a mean of them (bypass, induce).
    var score: Double { 2 * logits }

    /// For a (mean) KL of about `value`.
    func kl(_ value: Double) -> Double {
        logits * (2 * value + 2 * (2 * value).squareRoot()) + 4 * logits * logits
    }
}
