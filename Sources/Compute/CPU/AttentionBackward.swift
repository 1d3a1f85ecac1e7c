import Foundation

/// The input gradients of `CPUAttention` (see `ComputeBackend.attentionBackward`). Per query row and
/// head, the forward's scores and softmax are recomputed from `q` and the stored keys, then
///
///     dP_j = dO·v_j,   dS_j = p_j (dP_j − Σ_k p_k dP_k),   dZ_j = dS_j · (1 − (s_j/cap)²) with soft-capping,
///     dq = scale·Σ_j dZ_j k_j,   dk_j += scale·dZ_j q,   dv_j += p_j dO.
///
/// Key and value gradients of a slot are sums over every query (and query head of its KV head) that sees
/// it. Work items never share an output row: each is one KV head with either one context (when the
/// contexts of the queries use disjoint slots, as a batch of prompts does) or every query.
enum CPUAttentionBackward {
    /// Runs of consecutive visible slots `(slot, count)` of a row at position `p` of `context`.
    static func visibleRuns(_ context: [KVRun], position p: Int, window: Int?) -> [(slot: Int, count: Int)] {
        let lo = window.map { p - $0 + 1 } ?? Int.min
        var out: [(slot: Int, count: Int)] = []
        for r in context {
            let first = max(r.position, lo), last = min(r.position + r.count - 1, p)
            if first <= last { out.append((r.slot + (first - r.position), last - first + 1)) }
        }
        return out
    }

    /// Query indices (into `queries`) grouped so that no two groups share a slot.
    static func independentGroups(queries: [Int], layout: SequenceLayout) -> [[Int]] {
        var byContext: [Int: [Int]] = [:], order: [Int] = []
        for (i, row) in queries.enumerated() {
            let c = layout.contextOfRow[row]
            if byContext[c] == nil { order.append(c) }
            byContext[c, default: []].append(i)
        }
        var owner: [Int: Int] = [:]
        for c in order {
            for run in layout.contexts[c] {
                for slot in run.slot..<(run.slot + run.count) {
                    if let o = owner.updateValue(c, forKey: slot), o != c { return [Array(queries.indices)] }
                }
            }
        }
        return order.compactMap { byContext[$0] }
    }

    static func run(q: UnsafePointer<Float>, qStride: Int, queries: [Int], layout: SequenceLayout,
                    keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvDim: Int, spec s: AttentionSpec,
                    dOut: UnsafePointer<Float>, dOutStride: Int, dq: UnsafeMutablePointer<Float>, dqStride: Int,
                    dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, dkvStride: Int) {
        let hd = s.headDim, group = s.heads / s.kvHeads
        let runs = queries.map { visibleRuns(layout.contexts[layout.contextOfRow[$0]], position: layout.positions[$0], window: s.window) }
        let longest = runs.map { $0.reduce(0) { $0 + $1.count } }.max() ?? 0
        let groups = independentGroups(queries: queries, layout: layout)
        let items = groups.count * s.kvHeads
        Parallel.forEach(items, cost: 10 * group * longest * hd * max(1, queries.count / max(1, groups.count))) { item in
            let members = groups[item / s.kvHeads], g = item % s.kvHeads
            // Per visible key: capped score (for the softcap derivative), weight p, then dS.
            let capped = UnsafeMutablePointer<Float>.allocate(capacity: max(1, longest))
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, longest))
            let dS = UnsafeMutablePointer<Float>.allocate(capacity: max(1, longest))
            defer { capped.deallocate(); p.deallocate(); dS.deallocate() }
            for i in members {
                for h in (g * group)..<((g + 1) * group) {
                    let qh = q + queries[i] * qStride + h * hd, dO = dOut + i * dOutStride + h * hd
                    var n = 0
                    for (slot, count) in runs[i] {
                        for j in 0..<count { p[n + j] = Kernels.dot(qh, keys + (slot + j) * kvDim + g * hd, hd) * s.scale }
                        n += count
                    }
                    if let cap = s.softcap { Kernels.softcap(p, n, cap: cap) }
                    capped.update(from: p, count: n)
                    Kernels.softmax(p, n)
                    var mean: Float = 0
                    n = 0
                    for (slot, count) in runs[i] {
                        for j in 0..<count {
                            let dP = Kernels.dot(dO, values + (slot + j) * kvDim + g * hd, hd)
                            dS[n + j] = dP
                            mean += p[n + j] * dP
                        }
                        n += count
                    }
                    for j in 0..<n {
                        var v = p[j] * (dS[j] - mean)
                        if let cap = s.softcap { let t = capped[j] / cap; v *= 1 - t * t }
                        dS[j] = v * s.scale
                    }
                    let dqh = dq + queries[i] * dqStride + h * hd
                    dqh.update(repeating: 0, count: hd)
                    n = 0
                    for (slot, count) in runs[i] {
                        for j in 0..<count {
                            let row = (slot + j) * dkvStride + g * hd
                            Kernels.axpy(dS[n + j], keys + (slot + j) * kvDim + g * hd, dqh, hd)
                            Kernels.axpy(dS[n + j], qh, dk + row, hd)
                            Kernels.axpy(p[n + j], dO, dv + row, hd)
                        }
                        n += count
                    }
                }
            }
        }
    }
}
