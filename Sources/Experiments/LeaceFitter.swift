import Foundation
import Compute
import Interventions

/// Settings of LEACE fitting: the defaults of concept-erasure 0.2.4's `LeaceFitter` (`method="leace"`).
public struct LeaceSettings: Codable, Sendable, Equatable {
    /// Optimal linear shrinkage of the covariance (`shrinkage=True`); false: Bessel-corrected sample covariance.
    public var shrinkage = true
    /// Singular values of `W Σ_xz` at or below this are dropped (`svd_tol`).
    public var svdTol = 0.01
    /// The bias is the pooled mean (`affine=True`); false: zero.
    public var affine = true
    /// Mix in the orthogonal projection when the edit would raise the covariance's trace (`constrain_cov_trace`).
    public var constrainCovTrace = true

    public init(shrinkage: Bool = true) { self.shrinkage = shrinkage }

    enum CodingKeys: String, CodingKey {
        case shrinkage, affine
        case svdTol = "svd_tol"
        case constrainCovTrace = "constrain_cov_trace"
    }
}

/// One layer's fitted eraser in Float64: `x' = x − proj_left · (proj_right · (x − bias))`.
public struct LeaceFit: Sendable {
    public let dModel: Int
    /// Columns of `proj_left` (1 for a binary concept; 2 when the trace constraint mixed in a projection).
    public let rank: Int
    /// `[d, k]`, row-major.
    public let projLeft: [Double]
    /// `[k, d]`, row-major.
    public let projRight: [Double]
    public let bias: [Double]
    /// The singular value of `W Σ_xz` that `svd_tol` is compared with.
    public let singularValue: Double
    /// Why the eraser is the identity (nil when it edits).
    public let identityReason: String?
    /// Whether the covariance-trace constraint changed the edit.
    public let traceConstrained: Bool

    public var isIdentity: Bool { identityReason != nil }

    /// The edit of one row, in Float64.
    public func apply(_ x: [Double]) -> [Double] {
        let d = dModel, k = rank
        var c = [Double](repeating: 0, count: k)
        for j in 0..<k { for i in 0..<d { c[j] += projRight[j * d + i] * (x[i] - bias[i]) } }
        return (0..<d).map { i in x[i] - (0..<k).reduce(0.0) { $0 + projLeft[i * k + $1] * c[$1] } }
    }

    /// The eraser as stored in `eraser.safetensors` (Float32).
    public var layer: LeaceEraser.Layer {
        get throws {
            if isIdentity { return .identity(bias: bias.map(Float.init)) }
            return try LeaceEraser.Layer(projLeft: projLeft.map(Float.init), projRight: projRight.map(Float.init), bias: bias.map(Float.init))
        }
    }
}

/// LEACE (Belrose et al. 2023; SPEC §7) for a binary concept, the estimator of concept-erasure 0.2.4's
/// `LeaceFitter` reproduced in Float64: z is one indicator column (1 = concept present), `Σ_xz` and `Σ_xx`
/// are the centred cross-covariance and covariance (the library's Welford update in one pass is the same
/// sums), `Σ_xx` shrunk (`optimal_linear_shrinkage`) or Bessel-corrected, `W = Σ_xx^(−1/2)` from its
/// eigendecomposition with eigenvalues at or below `λ_max·d·ε` dropped (as `torch.linalg.pinv`),
/// `u = W Σ_xz / ‖W Σ_xz‖` unless that norm is at most `svd_tol`, `proj_left = W⁺u`, `proj_right = uᵀW`.
public enum LeaceFitter {
    /// Fits the eraser of rows `x` (`rows × cols` Float32, row-major) labelled `labels` (true = concept).
    /// Classes that cannot be told apart (a single class, identical activations, a singular value at or
    /// below `svd_tol`) give the identity eraser with a reason, never NaN.
    /// - Throws: `ComputeError.numerical` when the eigensolver fails; `InterventionError.badInput` on bad shapes.
    public static func fit(_ x: [Float], rows n: Int, cols d: Int, labels: [Bool], settings: LeaceSettings = LeaceSettings()) throws -> LeaceFit {
        guard n >= 2, d >= 1, x.count == n * d, labels.count == n else {
            throw InterventionError.badInput("LEACE needs at least 2 rows of d ≥ 1 with one label each; got \(x.count) values, \(n) rows of \(d), \(labels.count) labels")
        }
        guard x.allSatisfy(\.isFinite) else { throw InterventionError.badInput("LEACE: the activations contain NaN or infinite values") }
        let nd = Double(n)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(x[i * d + j]) } }
        for j in 0..<d { mean[j] /= nd }
        let positives = labels.filter { $0 }.count
        let meanZ = Double(positives) / nd
        // Σ_xz = Σᵢ (xᵢ − μ)(zᵢ − μ_z) / (n − 1).
        var sigmaXZ = [Double](repeating: 0, count: d)
        for i in 0..<n {
            let dz = (labels[i] ? 1 : 0) - meanZ
            for j in 0..<d { sigmaXZ[j] += (Double(x[i * d + j]) - mean[j]) * dz }
        }
        for j in 0..<d { sigmaXZ[j] /= nd - 1 }
        let gram = x.withUnsafeBufferPointer { HostLinearAlgebra.centredGram($0, rows: n, cols: d, mean: mean) }
        let sigma = settings.shrinkage ? shrunk(gram.map { $0 / nd }, n: nd, d: d) : gram.map { $0 / (nd - 1) }
        let bias = settings.affine ? mean : [Double](repeating: 0, count: d)
        func identity(_ reason: String, _ s: Double) -> LeaceFit {
            LeaceFit(dModel: d, rank: 1, projLeft: .init(repeating: 0, count: d), projRight: .init(repeating: 0, count: d),
                     bias: bias, singularValue: s, identityReason: reason, traceConstrained: false)
        }
        if positives == 0 || positives == n { return identity("only one class among the \(n) rows", 0) }

        let (values, vectors) = try HostLinearAlgebra.symmetricEigen(sigma, n: d)
        let top = values.last ?? 0, cut = top * Double(d) * Double.ulpOfOne
        // W's eigenvalues (a kept eigenvalue is positive unless the spectrum is: then nothing is kept, not 1/0).
        let scale = values.map { $0 > cut && $0 > 0 ? 1 / $0.squareRoot() : 0 }
        let unscale = values.map { $0 > cut ? max($0, 0).squareRoot() : 0 }         // W⁺'s
        /// `V diag(f) Vᵀ v` (vectors are the rows of `vectors`).
        func spectral(_ f: [Double], _ v: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: d)
            for e in 0..<d where f[e] != 0 {
                let row = e * d
                var c = 0.0
                for j in 0..<d { c += vectors[row + j] * v[j] }
                c *= f[e]
                for j in 0..<d { out[j] += c * vectors[row + j] }
            }
            return out
        }
        let whitened = spectral(scale, sigmaXZ)
        let s = whitened.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard s > settings.svdTol, s.isFinite else {
            let why = s == 0 ? "the classes cannot be told apart (no covariance between the activations and the label)"
                : String(format: "the singular value of W·Σ_xz, %.3g, is at most svd_tol = %g", s, settings.svdTol)
            return identity(why, s.isFinite ? s : 0)
        }
        let u = whitened.map { $0 / s }
        let left = spectral(unscale, u), right = spectral(scale, u)
        if settings.constrainCovTrace, let mixed = traceConstrained(sigma: sigma, left: left, right: right, u: u, d: d) {
            return LeaceFit(dModel: d, rank: 2, projLeft: mixed.left, projRight: mixed.right, bias: bias, singularValue: s,
                            identityReason: nil, traceConstrained: true)
        }
        return LeaceFit(dModel: d, rank: 1, projLeft: left, projRight: right, bias: bias, singularValue: s,
                        identityReason: nil, traceConstrained: false)
    }

    /// `optimal_linear_shrinkage(S_n, n)` of concept-erasure 0.2.4: `α S_n + β (tr S_n / p) I` with its α, β
    /// (eps terms included, so a zero matrix stays zero).
    static func shrunk(_ s: [Double], n: Double, d p: Int) -> [Double] {
        let eps = Double.ulpOfOne, pd = Double(p)
        var trace = 0.0, normSq = 0.0
        for i in 0..<p { trace += s[i * p + i] }
        for v in s { normSq += v * v }
        let sigma0NormSq = trace * trace / pd            // ‖(tr/p)·I‖²_F
        let prodTrace = trace * trace / pd               // tr(S_n · (tr/p)·I)
        let top = trace * trace * sigma0NormSq / n
        let bottom = normSq * sigma0NormSq - prodTrace * prodTrace
        let alpha = 1 - (top + eps) / (bottom + eps)
        let beta = (1 - alpha) * (prodTrace + eps) / (sigma0NormSq + eps)
        var out = s.map { alpha * $0 }
        for i in 0..<p { out[i * p + i] += beta * trace / pd }
        return out
    }

    /// concept-erasure's `constrain_cov_trace`: when `P = I − left·rightᵀ` would raise `tr(P Σ Pᵀ)` above
    /// `tr Σ`, P is mixed with the orthogonal projection `Q = I − u uᵀ` so the trace stays equal. For LEACE
    /// the trace falls by ‖left‖² in exact arithmetic, so this only guards rounding; the mixture
    /// `I − (αP + (1−α)Q) = α·left·rightᵀ + (1−α)·u uᵀ` is returned as rank 2 (the library stores the same
    /// matrix through an SVD).
    static func traceConstrained(sigma: [Double], left l: [Double], right r: [Double], u: [Double], d: Int)
        -> (left: [Double], right: [Double])? {
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let sl = HostLinearAlgebra.symmetricProduct(sigma, l, n: d), su = HostLinearAlgebra.symmetricProduct(sigma, u, n: d)
        let sr = HostLinearAlgebra.symmetricProduct(sigma, r, n: d)
        var old = 0.0
        for i in 0..<d { old += sigma[i * d + i] }
        let new = old - 2 * dot(r, sl) + dot(r, sr) * dot(l, l)
        guard new > old else { return nil }
        let uSu = dot(u, su)
        let x = new, y = 2 * (old - uSu - dot(r, sl) + dot(r, su) * dot(u, l)), z = old - 2 * uSu + dot(u, u) * uSu, w = old
        let discr = (4 * w * x - 4 * w * y + 4 * w * z - 4 * x * z + y * y).squareRoot()
        let a1 = (-y / 2 + z - discr / 2) / (x - y + z), a2 = (-y / 2 + z + discr / 2) / (x - y + z)
        var alpha = a1 > 0 ? a1 : a2
        // A NaN mixture (no real root) keeps the LEACE edit rather than writing NaN.
        alpha = alpha.isFinite ? min(max(alpha, 0), 1) : 1
        var left = [Double](repeating: 0, count: 2 * d), right = [Double](repeating: 0, count: 2 * d)
        for i in 0..<d {
            left[i * 2] = alpha * l[i]; left[i * 2 + 1] = (1 - alpha) * u[i]
            right[i] = r[i]; right[d + i] = u[i]
        }
        return (left, right)
    }
}
