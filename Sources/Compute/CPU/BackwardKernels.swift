import Foundation

/// Row kernels of the backward operations (see `ComputeBackend`'s backward section).
enum BackwardKernels {
    /// The input gradient of one RMSNorm group of width `d`: `dx = s·(w'∘dy) − (s³/d)·Σ(x∘w'∘dy)·x`,
    /// `s = 1/√(mean(x²) + eps)`, `w' = offset + w`. The sum is taken before anything is written, so
    /// `out` may be `dy`; `accumulate` adds into `out`.
    static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, offset: Float, eps: Float,
                        gradient dy: UnsafePointer<Float>, d: Int, out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let s = 1 / (Kernels.dot(x, x, d) / Float(d) + eps).squareRoot()
        var sum: Float = 0
        for i in 0..<d { sum += x[i] * (weight[i] + offset) * dy[i] }
        let c = s * s * s * sum / Float(d)
        for i in 0..<d {
            let v = s * (weight[i] + offset) * dy[i] - c * x[i]
            out[i] = accumulate ? out[i] + v : v
        }
    }

    /// The input gradient of `act(gate)·up` for `n` elements, written as `act(g) = g·σ(a)`:
    /// `d gate = dy·up·(σ(a) + g·σ(a)(1 − σ(a))·a')`, `d up = dy·g·σ(a)`, with `a = g` (SiLU) or
    /// `a = 2√(2/π)(g + 0.044715g³)` (GELU-tanh, whose `0.5(1 + tanh(a/2))` is `σ(a)`). `1 − σ(a)` is
    /// computed as `e^{−a}·σ(a)`, which does not cancel.
    static func gatedActivation(_ act: MLPActivation, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                                gradient dy: UnsafePointer<Float>, dGate: UnsafeMutablePointer<Float>,
                                dUp: UnsafeMutablePointer<Float>, n: Int) {
        let c: Float = 0.7978845608028654 // √(2/π)
        let gelu = act == .geluTanh
        let g8 = UnsafeRawPointer(gate), u8 = UnsafeRawPointer(up), y8 = UnsafeRawPointer(dy)
        let dg8 = UnsafeMutableRawPointer(dGate), du8 = UnsafeMutableRawPointer(dUp)
        var i = 0
        while i + 8 <= n {
            let g = g8.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let u = u8.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let y = y8.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let a = gelu ? 2 * c * (g + 0.044715 * g * g * g) : g
            let slope = gelu ? 2 * c * (1 + 3 * 0.044715 * g * g) : SIMD8<Float>(repeating: 1)
            let e = Kernels.exp(-a), s = 1 / (1 + e)
            let derivative = s + g * s * (e * s) * slope
            dg8.storeBytes(of: y * u * derivative, toByteOffset: i * 4, as: SIMD8<Float>.self)
            du8.storeBytes(of: y * g * s, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            let g = gate[i]
            let a = gelu ? 2 * c * (g + 0.044715 * g * g * g) : g
            let slope: Float = gelu ? 2 * c * (1 + 3 * 0.044715 * g * g) : 1
            // σ(a) and 1 − σ(a) from e^{−|a|} ≤ 1 (no overflow for large |a|).
            let e = expf(-abs(a)), near = 1 / (1 + e), far = e / (1 + e)
            let s = a >= 0 ? near : far, rest = a >= 0 ? far : near
            dGate[i] = dy[i] * up[i] * (s + g * s * rest * slope)
            dUp[i] = dy[i] * g * s
            i += 1
        }
    }
}
