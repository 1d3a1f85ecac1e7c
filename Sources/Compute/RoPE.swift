import Foundation

/// Rotary position embeddings in the "rotate half" layout transformers uses (the first and second
/// halves of the rotated part of each head form the pairs), with the frequency schemes of
/// transformers' `ROPE_INIT_FUNCTIONS` that Steer's families use. Arithmetic follows transformers
/// in Float32 (inverse frequencies, angle = position × frequency, cos/sin) so long positions agree too.
public struct RoPE: Sendable {
    public enum Scaling: Sendable, Equatable {
        case none
        /// Position interpolation: frequencies divided by `factor`.
        case linear(factor: Float)
        /// Llama 3.x frequency remapping.
        case llama3(factor: Float, lowFreqFactor: Float, highFreqFactor: Float, originalMaxPositions: Int)
        /// Phi-3 "longrope"/"su": per-frequency factors, long ones once the sequence passes
        /// `originalMaxPositions`, and an attention scaling applied to cos and sin.
        case longrope(short: [Float], long: [Float], originalMaxPositions: Int, attentionFactor: Float)
    }

    /// Rotated dimensions per head (even, ≤ head_dim; < head_dim for partial rotary).
    public let rotaryDim: Int
    public let scaling: Scaling
    let invFreqShort: [Float]
    let invFreqLong: [Float]

    public init(headDim: Int, partialRotaryFactor: Float = 1, base: Float, scaling: Scaling = .none) {
        // transformers: dim = int(head_dim * partial_rotary_factor)
        let dim = Int(Float(headDim) * partialRotaryFactor)
        rotaryDim = dim - dim % 2
        self.scaling = scaling
        let half = rotaryDim / 2
        var inv = (0..<half).map { i -> Float in 1 / powf(base, Float(2 * i) / Float(dim)) }
        var long = inv
        switch scaling {
        case .none:
            break
        case .linear(let factor):
            inv = inv.map { $0 / factor }
            long = inv
        case let .llama3(factor, low, high, original):
            let lowWavelen = Float(original) / low
            let highWavelen = Float(original) / high
            inv = inv.map { f in
                let wavelen = 2 * Float.pi / f
                var out = wavelen > lowWavelen ? f / factor : f
                if !(wavelen < highWavelen) && !(wavelen > lowWavelen) {
                    let smooth = (Float(original) / wavelen - low) / (high - low)
                    out = (1 - smooth) * out / factor + smooth * out
                }
                return out
            }
            long = inv
        case let .longrope(short, longFactors, _, _):
            let shape = (0..<half).map { Float(2 * $0) / Float(dim) }
            inv = (0..<half).map { 1 / (short[$0] * powf(base, shape[$0])) }
            long = (0..<half).map { 1 / (longFactors[$0] * powf(base, shape[$0])) }
        }
        invFreqShort = inv
        invFreqLong = long
    }

    /// cos/sin tables `[positions.count × rotaryDim/2]` for the given positions. `sequenceLength`
    /// (the largest position + 1 in this forward pass) picks longrope's factors as transformers does.
    public func tables(positions: [Int], sequenceLength: Int) -> (cos: FloatBuffer, sin: FloatBuffer) {
        let half = rotaryDim / 2
        var inv = invFreqShort
        var attention: Float = 1
        if case let .longrope(_, _, original, factor) = scaling {
            attention = factor
            if sequenceLength > original { inv = invFreqLong }
        }
        let c = FloatBuffer(count: positions.count * half), s = FloatBuffer(count: positions.count * half)
        for (n, p) in positions.enumerated() {
            let fp = Float(p)
            for i in 0..<half {
                let angle = fp * inv[i]
                c[n * half + i] = cosf(angle) * attention
                s[n * half + i] = sinf(angle) * attention
            }
        }
        return (c, s)
    }

    /// Rotates `heads` consecutive heads of width `headDim` starting at `x` with one table row
    /// (`half` = rotaryDim / 2 entries of cos and sin); `inverse` rotates by −θ (the transpose, for gradients).
    static func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, half: Int,
                       cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, inverse: Bool = false) {
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<half {
                let x1 = v[i], x2 = v[i + half], s = inverse ? -sin[i] : sin[i]
                v[i] = x1 * cos[i] - x2 * s
                v[i + half] = x2 * cos[i] + x1 * s
            }
        }
    }
}
