import Foundation

/// The kernels gpt-oss adds: the clamped SwiGLU of its experts and the softmax with an attention sink.
extension Kernels {
    /// `out[i] = (clamp(up, −limit, limit) + 1) · g · σ(alpha · g)`, `g = min(gate, limit)`, in the order
    /// transformers' `GptOssExperts._apply_gate` computes it.
    static func clampedSwiGLU(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, n: Int,
                              alpha: Float, limit: Float) {
        let g8 = UnsafeRawPointer(gate), u8 = UnsafeRawPointer(up), o8 = UnsafeMutableRawPointer(out)
        let hi = SIMD8<Float>(repeating: limit), lo = SIMD8<Float>(repeating: -limit)
        var i = 0
        while i + 8 <= n {
            var g = g8.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            g.replace(with: hi, where: g .> hi)
            var u = u8.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            u.replace(with: hi, where: u .> hi)
            u.replace(with: lo, where: u .< lo)
            let glu = g * (1 / (1 + exp(-(g * alpha))))
            o8.storeBytes(of: (u + 1) * glu, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            let g = gate[i] > limit ? limit : gate[i]
            let u = Swift.max(-limit, Swift.min(limit, up[i]))
            out[i] = (u + 1) * (g * (1 / (1 + expf(-(g * alpha)))))
            i += 1
        }
    }

    /// In-place softmax of `n` scores whose normaliser also holds `e^{sink}` (an attention sink: a
    /// logit with no value), as transformers' eager gpt-oss attention: `softmax([scores, sink])` without
    /// its last entry.
    static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int, sink: Float) {
        var m = sink
        for i in 0..<n where x[i] > m { m = x[i] }
        var s: Float = 0
        for i in 0..<n { let e = expf(x[i] - m); x[i] = e; s += e }
        s += expf(sink - m)
        let inv = 1 / s
        for i in 0..<n { x[i] *= inv }
    }
}
