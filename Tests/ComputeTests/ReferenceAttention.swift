import Compute
import Foundation

/// Host keys and values of a store: per layer a `slots × kvDim` grid each. Slots never written hold
/// NaN, so a reference that reads one (a test layout error) cannot pass.
struct HostKV {
    var keys: [Grid]
    var values: [Grid]

    init(layers: Int, slots: Int, kvDim: Int) {
        let empty = Grid(rows: slots, cols: kvDim, floats: [Float](repeating: .nan, count: slots * kvDim))
        keys = Array(repeating: empty, count: layers)
        values = keys
    }
}

/// Float64 references of rotary embeddings, the key/value store and attention (see `ReferenceOps`).
enum ReferenceAttention {
    static let u = Float32Error.u
    static func gamma(_ n: Int) -> Double { Float32Error.gamma(n) }

    /// Exact rotary frequencies `1/(factorᵢ·base^{2i/dim})` of the schemes the tests use, and the error
    /// Float32 tables may have: the exponent's rounding, amplified by ln(base), pow (4u), the scaling
    /// product or division and the reciprocal (2u) and the angle `position·frequency` (u) make the angle
    /// off by ≤ (ln(base) + 8)·u relative; cos and sin (4u absolute, |·| ≤ 1) and the attention factor (u)
    /// add ≤ 5u: |Δcos|, |Δsin| ≤ factor·(|angle|·(ln(base) + 8)·u + 5u).
    struct Rotary {
        var frequencies: [Double]
        var attention: Double = 1
        var angleError: Double

        init(rotaryDim: Int, base: Double, scaling: RoPE.Scaling, sequenceLength: Int) {
            let half = rotaryDim / 2
            var factors = [Double](repeating: 1, count: half)
            switch scaling {
            case .none: break
            case .linear(let f): factors = Array(repeating: Double(f), count: half)
            case let .longrope(short, long, original, attention):
                factors = (sequenceLength > original ? long : short).map(Double.init)
                self.attention = Double(attention)
            case .llama3: preconditionFailure("no reference for llama3 frequencies")
            }
            frequencies = (0..<half).map { 1 / (factors[$0] * pow(base, Double(2 * $0) / Double(rotaryDim))) }
            angleError = (log(base) + 8) * u
        }

        /// The largest error of a Float32 cos or sin entry at `angle`.
        func tableError(_ angle: Double) -> Double { attention * (abs(angle) * angleError + 5 * u) }
    }

    /// Rotates the first `rotaryDim` dimensions of `heads` heads from `column` in "rotate half" pairs
    /// (i, i + rotaryDim/2); row r at `positions[r − rows.lowerBound + tableRow]`; by −θ when `inverse` (the
    /// backward). With table errors δ, `x₁cos − x₂sin` errs by ≤ (|x₁| + |x₂|)·δ + γ₂·(|x₁cos| + |x₂sin|).
    static func rope(_ x: inout Grid, rows: Range<Int>, column: Int, heads: Int, headDim: Int, rotary: Rotary,
                     positions: [Int], tableRow: Int, inverse: Bool = false) {
        let half = rotary.frequencies.count
        for r in rows {
            let position = Double(positions[r - rows.lowerBound + tableRow])
            for h in 0..<heads {
                let first = column + h * headDim
                for i in 0..<half {
                    let angle = position * rotary.frequencies[i]
                    let c = cos(angle) * rotary.attention, s = (inverse ? -1 : 1) * sin(angle) * rotary.attention
                    let x1 = x[r, first + i], x2 = x[r, first + half + i]
                    let tables = (abs(x1) + abs(x2)) * rotary.tableError(angle)
                    x.set(r, first + i, x1 * c - x2 * s, bound: tables + gamma(2) * (abs(x1 * c) + abs(x2 * s)))
                    x.set(r, first + half + i, x2 * c + x1 * s, bound: tables + gamma(2) * (abs(x2 * c) + abs(x1 * s)))
                }
            }
        }
    }

    /// Keys `x[r, keyColumn…]` and values of `rows` into `slots`: copies.
    static func storeKeysValues(_ x: Grid, rows: Range<Int>, keyColumn: Int, valueColumn: Int, slots: [Int],
                                in kv: inout HostKV, layer: Int) {
        for (i, slot) in slots.enumerated() {
            for c in 0..<kv.keys[layer].cols {
                kv.keys[layer].set(slot, c, x[rows.lowerBound + i, keyColumn + c], bound: 0)
                kv.values[layer].set(slot, c, x[rows.lowerBound + i, valueColumn + c], bound: 0)
            }
        }
    }

    static func copySlots(from: HostKV, slots: Range<Int>, to: inout HostKV, at: Int) {
        for l in 0..<min(from.keys.count, to.keys.count) {
            for (i, s) in slots.enumerated() {
                for c in 0..<from.keys[l].cols {
                    to.keys[l].set(at + i, c, from.keys[l][s, c], bound: 0)
                    to.values[l].set(at + i, c, from.values[l][s, c], bound: 0)
                }
            }
        }
    }

    /// The slots a row sees: its context's entries at positions ≤ its own and, with a window, > its own − window.
    static func visibleSlots(row: Int, layout: SequenceLayout, window: Int?) -> [Int] {
        let p = layout.positions[row]
        var slots: [Int] = []
        for run in layout.contexts[layout.contextOfRow[row]] {
            for j in 0..<run.count where run.position + j <= p && p - (run.position + j) < (window ?? Int.max) {
                slots.append(run.slot + j)
            }
        }
        return slots
    }

    /// Output row i = softmax-weighted values of query `queries[i]` per head (KV head `h / (heads/kvHeads)`).
    ///
    /// Bound, per head: a score `q·k·scale` errs by εⱼ ≤ γ_headDim·|scale|·Σ|q·k| + u·|score| (softcapping
    /// passes it through and adds `ReferenceOps.softcapBound`); E = maxⱼ εⱼ. A softmax weight
    /// `e^{sⱼ−m}/Σ` then has relative error ≤ ρ = 2·(E + 2u·maxⱼ|sⱼ − m| + 4u) + γ_{2n+4}: the
    /// exponent's error (2u for `sⱼ − m` and a change of base), exp (4u), in numerator and normaliser; the
    /// normaliser's n-term sum, the reciprocal and product, with room for one rescaling per term (an
    /// online softmax). The weighted sum of n values errs by γₙ: output c errs by
    /// ≤ (ρ + γ_{n+1}·(1 + ρ))·Σⱼ pⱼ·|vⱼc|.
    static func attention(_ q: Grid, column: Int, queries: [Int], layout: SequenceLayout, kv: HostKV, layer: Int,
                          spec: AttentionSpec, out: inout Grid) {
        let hd = spec.headDim, group = spec.heads / spec.kvHeads, scale = Double(spec.scale)
        let keys = kv.keys[layer], values = kv.values[layer]
        for (i, row) in queries.enumerated() {
            let slots = visibleSlots(row: row, layout: layout, window: spec.window)
            precondition(!slots.isEmpty, "row \(row) sees no key")
            for h in 0..<spec.heads {
                let g = h / group
                var scores: [Double] = [], errors: [Double] = []
                for slot in slots {
                    var dot = 0.0, magnitude = 0.0
                    for c in 0..<hd {
                        let t = q[row, column + h * hd + c] * keys[slot, g * hd + c]
                        dot += t; magnitude += abs(t)
                    }
                    var score = dot * scale
                    var error = gamma(hd) * abs(scale) * magnitude + u * abs(score)
                    if let cap = spec.softcap.map(Double.init) {
                        let capped = cap * tanh(score / cap)
                        error += ReferenceOps.softcapBound(input: score, result: capped)
                        score = capped
                    }
                    scores.append(score); errors.append(error)
                }
                let n = slots.count, top = scores.max() ?? 0
                let weights = scores.map { exp($0 - top) }, total = weights.reduce(0, +)
                let spread = scores.map { top - $0 }.max() ?? 0
                let rho = 2 * ((errors.max() ?? 0) + 2 * u * spread + 4 * u) + gamma(2 * n + 4)
                for c in 0..<hd {
                    var sum = 0.0, magnitude = 0.0
                    for (j, slot) in slots.enumerated() {
                        let p = weights[j] / total, v = values[slot, g * hd + c]
                        sum += p * v; magnitude += p * abs(v)
                    }
                    out.set(i, h * hd + c, sum, bound: (rho + gamma(n + 1) * (1 + rho)) * magnitude)
                }
            }
        }
    }
}
