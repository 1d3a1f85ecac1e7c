import Foundation

/// Float32 rounding-error bounds: how far two computations that agree in exact arithmetic may be apart
/// when they differ only in rounding (summation order, BLAS kernel, thread count, batch shape).
///
/// Used to state, rather than guess, the tolerance of a comparison between two of Steer's own results.
/// `u` is the unit roundoff of Float32; the worst-case bounds follow Higham, *Accuracy and Stability of
/// Numerical Algorithms* (2nd ed., §3.1); the probabilistic ones Higham & Mary, "A new approach to
/// probabilistic rounding error analysis" (SIAM J. Sci. Comput., 2019).
public enum RoundingBound {
    /// Unit roundoff of Float32: 2⁻²⁴ (half the distance from 1 to the next float).
    public static let u: Double = 0x1p-24

    /// γ_n = n·u / (1 − n·u). A float32 sum or dot product of n terms, in any order and with or without
    /// fused multiply-adds, is within γ_n·Σ|terms| of the exact value (Higham, Lemma 3.1 and (3.5)).
    public static func gamma(_ n: Int) -> Double {
        let nu = Double(max(n, 0)) * u
        return nu < 1 ? nu / (1 - nu) : .infinity
    }

    /// Relative error of a chain of reductions of the given lengths under the probabilistic model:
    /// a sum of n terms is within about √n·u of exact when its rounding errors are independent with mean
    /// zero (Higham & Mary: |error| ≤ λ√n·u·Σ|terms| with probability ≥ 1 − 2·exp(−λ²/2)), and the
    /// independent errors of consecutive steps add in quadrature, so the chain is within u·√(Σ nᵢ).
    /// Two results computed in different orders differ by at most twice that.
    public static func chain(_ lengths: [Int]) -> Double {
        u * Double(lengths.reduce(0) { $0 + max($1, 0) }).squareRoot()
    }
}
