import Compute
import Foundation

extension ReferenceBackward {
    /// The input gradients of attention (see `ComputeBackend.attentionBackward`), per query row and head:
    /// scores `z_j = scale·q·k_j`, `s_j = cap·tanh(z_j/cap)` (or z_j), `p = softmax(s)`, `dP_j = dO·v_j`,
    /// `D = Σ p_j dP_j`, `dZ_j = scale·p_j(dP_j − D)·(1 − (s_j/cap)²)`; `dq = Σ_j dZ_j k_j`, `dk_j += dZ_j q`,
    /// `dv_j += p_j dO`.
    ///
    /// Bounds. The scores and weights err as in `ReferenceAttention.attention`: e_j on s_j, ρ relative on
    /// p_j. dP_j errs by η_j = γ_hd·Σ|dO·v_j|; D by δD = Σ p_j((1+ρ)(ρ|dP_j| + η_j)) + γ_{n+1}Σ p_j|dP_j|;
    /// p_j(dP_j − D) by δS_j = ρ·p_j|dP_j − D| + p_j(η_j + δD) + γ₃·p_j(|dP_j| + |D|) (ρ² terms folded in
    /// γ₃). The cap factor f_j = 1 − t², t = s_j/cap with |t| ≤ 1, errs by ≤ 2e_j/cap + 6u. So dZ_j errs by
    /// E_j = |scale|·(δS_j·f_j + |S_j|·Δf_j + γ₂|S_j|·f_j). An output summing K terms `a·b` with one
    /// computed factor (error E) and one input adds Σ E·|input| and γ_{K+1}·(Σ|a·b| + |prior|).
    static func attentionBackward(_ q: Grid, column: Int, queries: [Int], layout: SequenceLayout, kv: HostKV, layer: Int,
                                  spec: AttentionSpec, outputGradient dOut: Grid, queryGradient dq: inout Grid, dqColumn: Int,
                                  keyValueGradient dkv: inout Grid, keyColumn: Int, valueColumn: Int) {
        let hd = spec.headDim, group = spec.heads / spec.kvHeads, scale = Double(spec.scale)
        let keys = kv.keys[layer], values = kv.values[layer]
        // Per element of dkv: the sum (from the prior value), Σ|terms| + |prior|, propagated errors, terms.
        var sums = dkv.values, magnitude = dkv.values.map(abs), propagated = [Double](repeating: 0, count: sums.count)
        var terms = [Int](repeating: 0, count: sums.count)
        func add(_ row: Int, _ col: Int, _ value: Double, _ error: Double) {
            let k = row * dkv.cols + col
            sums[k] += value; magnitude[k] += abs(value); propagated[k] += error; terms[k] += 1
        }
        for (i, row) in queries.enumerated() {
            let slots = ReferenceAttention.visibleSlots(row: row, layout: layout, window: spec.window)
            let n = slots.count
            for h in 0..<spec.heads {
                let g = h / group, qc = column + h * hd, oc = h * hd
                var s: [Double] = [], e: [Double] = []
                for slot in slots {
                    var dot = 0.0, size = 0.0
                    for c in 0..<hd { let t = q[row, qc + c] * keys[slot, g * hd + c]; dot += t; size += abs(t) }
                    var score = dot * scale, error = gamma(hd) * abs(scale) * size + u * abs(score)
                    if let cap = spec.softcap.map(Double.init) {
                        let capped = cap * tanh(score / cap)
                        error += ReferenceOps.softcapBound(input: score, result: capped)
                        score = capped
                    }
                    s.append(score); e.append(error)
                }
                let top = s.max() ?? 0, w = s.map { exp($0 - top) }, total = w.reduce(0, +), p = w.map { $0 / total }
                let rho = 2 * ((e.max() ?? 0) + 2 * u * (s.map { top - $0 }.max() ?? 0) + 4 * u) + gamma(2 * n + 4)
                var dP: [Double] = [], eta: [Double] = []
                for slot in slots {
                    var dot = 0.0, size = 0.0
                    for c in 0..<hd { let t = dOut[i, oc + c] * values[slot, g * hd + c]; dot += t; size += abs(t) }
                    dP.append(dot); eta.append(gamma(hd) * size)
                }
                let mean = (0..<n).reduce(0.0) { $0 + p[$1] * dP[$1] }
                let deltaD = (0..<n).reduce(0.0) { $0 + p[$1] * ((1 + rho) * (rho * abs(dP[$1]) + eta[$1]) + gamma(n + 1) * abs(dP[$1])) }
                var dZ: [Double] = [], errors: [Double] = []
                for j in 0..<n {
                    let sj = p[j] * (dP[j] - mean)
                    let deltaS = rho * p[j] * abs(dP[j] - mean) + p[j] * (eta[j] + deltaD) + gamma(3) * p[j] * (abs(dP[j]) + abs(mean))
                    var f = 1.0, deltaF = 0.0
                    if let cap = spec.softcap.map(Double.init) {
                        let t = s[j] / cap
                        f = 1 - t * t
                        deltaF = 2 * e[j] / abs(cap) + 6 * u
                    }
                    dZ.append(scale * sj * f)
                    errors.append(abs(scale) * (deltaS * f + abs(sj) * deltaF + gamma(2) * abs(sj) * f))
                }
                for c in 0..<hd {
                    var sum = 0.0, size = 0.0, carried = 0.0
                    for (j, slot) in slots.enumerated() {
                        let k = keys[slot, g * hd + c]
                        sum += dZ[j] * k; size += abs(dZ[j] * k); carried += errors[j] * abs(k)
                    }
                    dq.set(row, dqColumn + oc + c, sum, bound: carried + gamma(n + 1) * size)
                }
                for (j, slot) in slots.enumerated() {
                    for c in 0..<hd {
                        let qv = q[row, qc + c], o = dOut[i, oc + c]
                        add(slot, keyColumn + g * hd + c, dZ[j] * qv, errors[j] * abs(qv))
                        add(slot, valueColumn + g * hd + c, p[j] * o, rho * p[j] * abs(o))
                    }
                }
            }
        }
        for k in sums.indices where terms[k] > 0 {
            dkv.set(k / dkv.cols, k % dkv.cols, sums[k], bound: propagated[k] + gamma(terms[k] + 1) * magnitude[k])
        }
    }
}
