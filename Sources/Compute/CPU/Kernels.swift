import Foundation

/// Elementwise and row-wise kernels on Float32 rows. Matrix products are in `Matrix`/`BLAS`.
enum Kernels {
    /// `Σ a[i]·b[i]`, eight lanes at a time.
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
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
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += alpha * x[i] }
    }

    /// `x ← x − s·(x·u) u` for `rows` rows of width `d` (directional ablation, `u` of unit length;
    /// `strength` s = 1 removes the component entirely).
    static func projectOut(_ x: UnsafeMutablePointer<Float>, rows: Int, width d: Int, unit u: UnsafePointer<Float>,
                                  strength: Float = 1) {
        for r in 0..<rows {
            let xr = x + r * d
            axpy(-strength * dot(xr, u, d), u, xr, d)
        }
    }

    /// `x ← x + v` for `rows` rows of width `d`.
    static func addToRows(_ v: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, rows: Int, width d: Int) {
        for r in 0..<rows { add(v, into: x + r * d, d) }
    }

    /// RMSNorm of `rows` rows of width `d`: `x / sqrt(mean(x²) + eps) · w`, or `· (1 + w)` for Gemma
    /// (pass `weightOffset: 1`). `out` may equal `x`.
    static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, weightOffset: Float = 0,
                               eps: Float, rows: Int, d: Int, out: UnsafeMutablePointer<Float>) {
        Parallel.forEach(rows, cost: 3 * d) { r in
            let xr = x + r * d, o = out + r * d
            let ms = dot(xr, xr, d) / Float(d)
            let inv = 1 / (ms + eps).squareRoot()
            for i in 0..<d { o[i] = (xr[i] * inv) * (weight[i] + weightOffset) }
        }
    }

    /// In-place softmax of a row of length `n` (max-subtracted); `-inf` entries become 0.
    static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n where x[i] > m { m = x[i] }
        if m == -Float.infinity { for i in 0..<n { x[i] = 0 }; return }
        let raw = UnsafeMutableRawPointer(x)
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let e = exp(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - m)
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
            acc += e
            i += 8
        }
        var s = acc.sum()
        while i < n { let e = expf(x[i] - m); x[i] = e; s += e; i += 1 }
        let inv = 1 / s
        for i in 0..<n { x[i] *= inv }
    }

    /// Gated activations of a fused `[gate | up]` row pair: `out[i] = act(gate[i]) · up[i]`.
    static func gatedActivation(_ act: MLPActivation, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                                       out: UnsafeMutablePointer<Float>, n: Int) {
        let g8 = UnsafeRawPointer(gate), u8 = UnsafeRawPointer(up), o8 = UnsafeMutableRawPointer(out)
        var i = 0
        switch act {
        case .silu:
            // g · sigmoid(g)
            while i + 8 <= n {
                let g = g8.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                let u = u8.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                o8.storeBytes(of: g / (1 + exp(-g)) * u, toByteOffset: i * 4, as: SIMD8<Float>.self)
                i += 8
            }
            while i < n { let g = gate[i]; out[i] = g / (1 + expf(-g)) * up[i]; i += 1 }
        case .geluTanh:
            // 0.5·g·(1 + tanh(y)) = g · sigmoid(2y), y = √(2/π)·(g + 0.044715·g³)
            let c: Float = 0.7978845608028654 // sqrt(2/π)
            while i + 8 <= n {
                let g = g8.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                let u = u8.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                let y = c * (g + 0.044715 * g * g * g)
                o8.storeBytes(of: g / (1 + exp(-2 * y)) * u, toByteOffset: i * 4, as: SIMD8<Float>.self)
                i += 8
            }
            while i < n {
                let g = gate[i]
                out[i] = 0.5 * g * (1 + tanhf(c * (g + 0.044715 * g * g * g))) * up[i]
                i += 1
            }
        case let .clampedSwiGLU(alpha, limit):
            clampedSwiGLU(gate: gate, up: up, out: out, n: n, alpha: alpha, limit: limit)
        }
    }

    /// `eˣ` of eight lanes (Cephes' single-precision method: `x = n·ln2 + r`, a polynomial for `eʳ`,
    /// `2ⁿ` built in the exponent bits); within 2 ulp of `expf` where the result is a normal float.
    /// Below that range (x < -87.3) the result is 0; above x = 88.3 it stays at e^88.3 (finite).
    @inline(__always)
    static func exp(_ input: SIMD8<Float>) -> SIMD8<Float> {
        var x = input
        x.replace(with: 88.3762626647949, where: x .> 88.3762626647949)
        x.replace(with: -87.3365447505531, where: x .< -87.3365447505531)
        // Adding 1.5·2²³ rounds x·log2(e) to an integer held in the low mantissa bits.
        let shifter = SIMD8<Float>(repeating: 12582912)
        let t = x * 1.44269504088896341 + shifter
        let n = t - shifter
        let r = (x - n * 0.693359375) - n * -2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * (r * r) + r + 1
        let k = unsafeBitCast(t, to: SIMD8<UInt32>.self) &- unsafeBitCast(shifter, to: SIMD8<UInt32>.self)
        var e = y * unsafeBitCast((k &+ 127) &<< 23, to: SIMD8<Float>.self)
        e.replace(with: 0, where: input .< -87.3365447505531)
        return e
    }

    /// `x ← cap · tanh(x / cap)` (Gemma-2 logit soft-capping).
    static func softcap(_ x: UnsafeMutablePointer<Float>, _ n: Int, cap: Float) {
        let inv = 1 / cap
        for i in 0..<n { x[i] = tanhf(x[i] * inv) * cap }
    }

    /// `y[i] += x[i]`.
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += x[i] }
    }
}
