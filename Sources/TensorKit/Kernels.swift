import Foundation

/// Elementwise and row-wise kernels on Float32 rows. Matrix products are in `Matrix`/`BLAS`.
public enum Kernels {
    /// `Σ a[i]·b[i]`, eight lanes at a time.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 8 <= n {
            acc += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// `y[i] += alpha · x[i]`.
    @inlinable
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += alpha * x[i] }
    }

    /// RMSNorm of `rows` rows of width `d`: `x / sqrt(mean(x²) + eps) · w`, or `· (1 + w)` for Gemma
    /// (pass `weightOffset: 1`). `out` may equal `x`.
    public static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, weightOffset: Float = 0,
                               eps: Float, rows: Int, d: Int, out: UnsafeMutablePointer<Float>) {
        Parallel.forEach(rows, cost: 3 * d) { r in
            let xr = x + r * d, o = out + r * d
            let ms = dot(xr, xr, d) / Float(d)
            let inv = 1 / (ms + eps).squareRoot()
            for i in 0..<d { o[i] = (xr[i] * inv) * (weight[i] + weightOffset) }
        }
    }

    /// In-place softmax of a row of length `n` (max-subtracted); `-inf` entries become 0.
    @inlinable
    public static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n where x[i] > m { m = x[i] }
        if m == -Float.infinity { for i in 0..<n { x[i] = 0 }; return }
        var s: Float = 0
        for i in 0..<n { let e = expf(x[i] - m); x[i] = e; s += e }
        let inv = 1 / s
        for i in 0..<n { x[i] *= inv }
    }

    /// `log softmax` of a row into `out` (Float64 accumulation for the normaliser).
    public static func logSoftmax(_ x: UnsafePointer<Float>, _ n: Int, into out: UnsafeMutablePointer<Float>) {
        var m = -Float.infinity
        for i in 0..<n where x[i] > m { m = x[i] }
        var s: Double = 0
        for i in 0..<n { s += Double(expf(x[i] - m)) }
        let lse = m + Float(log(s))
        for i in 0..<n { out[i] = x[i] - lse }
    }

    /// Gated activations of a fused `[gate | up]` row pair: `out[i] = act(gate[i]) · up[i]`.
    public enum Activation: String, Sendable {
        case silu
        case geluTanh
    }

    public static func gatedActivation(_ act: Activation, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                                       out: UnsafeMutablePointer<Float>, n: Int) {
        switch act {
        case .silu:
            for i in 0..<n { let g = gate[i]; out[i] = g / (1 + expf(-g)) * up[i] }
        case .geluTanh:
            let c: Float = 0.7978845608028654 // sqrt(2/π)
            for i in 0..<n {
                let g = gate[i]
                out[i] = 0.5 * g * (1 + tanhf(c * (g + 0.044715 * g * g * g))) * up[i]
            }
        }
    }

    /// `x ← cap · tanh(x / cap)` (Gemma-2 logit soft-capping).
    @inlinable
    public static func softcap(_ x: UnsafeMutablePointer<Float>, _ n: Int, cap: Float) {
        let inv = 1 / cap
        for i in 0..<n { x[i] = tanhf(x[i] * inv) * cap }
    }

    /// `y[i] += x[i]`.
    @inlinable
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += x[i] }
    }
}
