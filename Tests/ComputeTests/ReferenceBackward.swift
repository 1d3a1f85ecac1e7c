import Compute
import Foundation

/// Float64 references of the backward operations (see `ReferenceOps` for the conventions): exact values
/// from the derivatives' definitions, and per element the largest error a correct Float32 backend may
/// have, derived in the comments. `ReferenceBackwardTests` checks these derivatives against finite
/// differences of the forward references.
enum ReferenceBackward {
    static let u = Float32Error.u
    static func gamma(_ n: Int) -> Double { Float32Error.gamma(n) }

    /// `out[r, column + c] (+)= Σ_o dy[r, dyColumn + o]·W[o, c]`: a dot product of `W.rows` terms and the
    /// addition of the prior value, ≤ γ_{rows+1}·(Σ|dy·w| + |prior|).
    static func linearInputGradient(_ dy: Grid, rows: Range<Int>, dyColumn: Int, weight: Grid, out: inout Grid, column: Int,
                                    accumulate: Bool) {
        for r in rows {
            for c in 0..<weight.cols {
                var sum = accumulate ? out[r, column + c] : 0, magnitude = abs(sum)
                for o in 0..<weight.rows {
                    let p = dy[r, dyColumn + o] * weight[o, c]
                    sum += p; magnitude += abs(p)
                }
                out.set(r, column + c, sum, bound: gamma(weight.rows + 1) * magnitude)
            }
        }
    }

    /// RMSNorm's input gradient per group of n = `width`: `dx_i = A_i − B_i` (+ prior), `A_i = s·w'_i·dy_i`,
    /// `B_i = (s³/n)·S·x_i`, `S = Σ x_j w'_j dy_j`, `s = 1/√(Σx²/n + eps)`, `w' = offset + w`.
    /// In Float32, s errs by ≤ γ_{n+4} relative (n-term sum of squares, /n, +eps, √, 1/); A by 3 more
    /// roundings: ≤ γ_{n+7}|A|. S's terms carry γ₃, the sum γ_n: |ΔS| ≤ γ_{n+3}·T, T = Σ|x_j w'_j dy_j|.
    /// s³/n·S takes 3γ_{n+4} + γ₅ relative more, so |ΔB| ≤ (s³/n)|x_i|·T·(3γ_{n+4} + γ₅ + γ_{n+3}) (|S| ≤ T);
    /// the subtraction and the accumulation add ≤ γ₂(|A| + |B| + |prior|). In all:
    /// ≤ γ_{n+9}(|A_i| + |prior|) + γ_{4n+24}·(s³/n)|x_i|·T.
    static func rmsNormBackward(_ x: Grid, rows: Range<Int>, column: Int, width n: Int, groups: Int, weight: Grid,
                                offset: Float, eps: Float, gradient dy: Grid, dyColumn: Int, out: inout Grid, outColumn: Int,
                                accumulate: Bool) {
        let source = out
        for r in rows {
            for g in 0..<groups {
                let xs = (0..<n).map { x[r, column + g * n + $0] }, gs = (0..<n).map { dy[r, dyColumn + g * n + $0] }
                let ws = (0..<n).map { Double(offset) + weight[0, $0] }
                let s = 1 / (xs.reduce(0) { $0 + $1 * $1 } / Double(n) + Double(eps)).squareRoot()
                let terms = (0..<n).map { xs[$0] * ws[$0] * gs[$0] }
                let sum = terms.reduce(0, +), total = terms.reduce(0) { $0 + abs($1) }
                for i in 0..<n {
                    let a = s * ws[i] * gs[i], b = s * s * s / Double(n) * sum * xs[i]
                    let prior = accumulate ? source[r, outColumn + g * n + i] : 0
                    let bound = gamma(n + 9) * (abs(a) + abs(prior)) + gamma(4 * n + 24) * s * s * s / Double(n) * abs(xs[i]) * total
                    out.set(r, outColumn + g * n + i, prior + a - b, bound: bound)
                }
            }
        }
    }

    /// The input gradient of `act(g)·up` with `act(g) = g·σ(a)` (SiLU a = g; GELU-tanh a = 2√(2/π)(g + 0.044715g³)):
    /// `d gate = dy·up·(σ + g·σ(1−σ)·a')`, `d up = dy·g·σ`. In Float32 a and a' err by ≤ 7u relative (GELU; exact
    /// for SiLU), e = exp(−a) by ε = 4u + 7u|a| (4u for SiLU), σ = 1/(1+e) by ε + 2u, 1 − σ = e·σ by 2ε + 3u;
    /// the derivative's two terms by ≤ 3ε + 16u relative; two products: |Δ d gate| ≤ (3ε + 18u)·|dy·up|·(σ + |g·σ(1−σ)·a'|),
    /// |Δ d up| ≤ (ε + 4u)·|dy·g·σ|.
    static func gatedActivationBackward(_ x: Grid, rows: Range<Int>, width: Int, kind: MLPActivation, gradient dy: Grid,
                                        out: inout Grid) {
        let c = (2 / Double.pi).squareRoot()
        for r in rows {
            for i in 0..<width {
                let g = x[r, i], up = x[r, width + i], d = dy[r, i]
                let gelu = kind == .geluTanh
                let a = gelu ? 2 * c * (g + 0.044715 * g * g * g) : g
                let slope = gelu ? 2 * c * (1 + 3 * 0.044715 * g * g) : 1
                let s = 1 / (1 + exp(-a)), rest = 1 / (1 + exp(a))
                let second = g * s * rest * slope
                let epsilon = 4 * u + (gelu ? 7 * u * abs(a) : 0)
                out.set(r, i, d * up * (s + second), bound: (3 * epsilon + 18 * u) * abs(d * up) * (s + abs(second)))
                out.set(r, width + i, d * g * s, bound: (epsilon + 4 * u) * abs(d * g * s))
            }
        }
    }
}
