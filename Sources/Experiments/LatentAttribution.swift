import Foundation
import Interventions
import Models

/// One SAE latent's attribution to the refusal metric over a prompt set (SPEC §6).
public struct LatentStat: Codable, Sendable, Equatable {
    public var index: Int
    /// `a_i = mean over prompts of Σ_t f_i(x_t)·(W_dec[i]·g_t)`.
    public var attribution: Double
    /// Share of all positions (of all prompts) where the latent is active (`f_i > 0`).
    public var frequency: Double
    /// Mean of `f_i` over the positions where it is active (0 when never).
    public var meanActivation: Double
    /// Largest `f_i` seen (the default steering scale of `--test`).
    public var maxActivation: Double
    /// With `--test`: refusal rates with the latent added and ablated.
    public var test: LatentTest?

    enum CodingKeys: String, CodingKey {
        case index, attribution, frequency, test
        case meanActivation = "mean_activation"
        case maxActivation = "max_activation"
    }
}

/// Refusal rates of greedy completions with a latent added at its hook and with it ablated.
public struct LatentTest: Codable, Sendable, Equatable {
    public var scale: Double
    public var added: WilsonInterval
    public var ablated: WilsonInterval
}

/// A prompt's metric and gradient norm: `grad_norm = ‖g‖` over all its positions (the borderline ranking).
public struct PromptGradientSummary: Codable, Sendable, Equatable {
    public var prompt: String
    public var metric: Double
    public var gradNorm: Double

    enum CodingKeys: String, CodingKey {
        case prompt, metric
        case gradNorm = "grad_norm"
    }
}

/// Accumulates latent attributions prompt by prompt: each prompt's stream at the SAE's hook is encoded,
/// its gradient projected on every decoder row, and `Σ_t f_i·(W_dec[i]·g_t)` summed in Float64.
/// Per token, the contributions of active latents are kept for the report.
public final class LatentAttribution {
    public let sae: SparseAutoencoder
    private var sums: [Double]
    private var active: [Int]
    private var activation: [Double]
    private var largest: [Float]
    private(set) public var prompts = 0
    private(set) public var positions = 0
    /// Per prompt, per token: `(latent, f_i·(W_dec[i]·g_t))` for the active latents.
    private var contributions: [[[(Int, Double)]]] = []

    public init(sae: SparseAutoencoder) {
        self.sae = sae
        let m = sae.config.dSae
        sums = Array(repeating: 0, count: m); activation = sums
        active = Array(repeating: 0, count: m); largest = Array(repeating: 0, count: m)
    }

    /// Adds one prompt: its activations and gradient at the SAE's hook (`T × d_in` each).
    public func add(_ r: MetricGradient) {
        let d = sae.config.dIn, m = sae.config.dSae, rows = r.activation.count / max(1, d)
        let f = sae.encode(r.activation, rows: rows), p = sae.decoderProjections(r.gradient, rows: rows)
        var tokens: [[(Int, Double)]] = []
        for t in 0..<rows {
            var here: [(Int, Double)] = []
            for i in 0..<m where f[t * m + i] > 0 {
                let value = f[t * m + i], c = Double(value) * Double(p[t * m + i])
                sums[i] += c; active[i] += 1; activation[i] += Double(value); largest[i] = max(largest[i], value)
                here.append((i, c))
            }
            tokens.append(here)
        }
        contributions.append(tokens)
        prompts += 1
        positions += rows
    }

    /// Every latent, by attribution (descending; ties by index).
    public func ranking() -> [LatentStat] {
        let n = Double(max(1, prompts)), total = Double(max(1, positions))
        return sums.indices.map { i in
            LatentStat(index: i, attribution: sums[i] / n, frequency: Double(active[i]) / total,
                       meanActivation: active[i] > 0 ? activation[i] / Double(active[i]) : 0, maxActivation: Double(largest[i]))
        }.sorted { $0.attribution > $1.attribution || ($0.attribution == $1.attribution && $0.index < $1.index) }
    }

    /// Per token of prompt `p`: the summed contributions `f_i·(W_dec[i]·g_t)` of `latents`.
    public func tokenAttributions(prompt p: Int, latents: Set<Int>) -> [Double] {
        contributions[p].map { $0.reduce(0) { latents.contains($1.0) ? $0 + $1.1 : $0 } }
    }
}
