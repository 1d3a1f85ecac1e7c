import Foundation

/// Causal multi-head attention with grouped KV heads on the CPU, as transformers' eager attention
/// computes it: scores `q·k · scale`, optional soft-capping `cap·tanh(s/cap)`, the keys a row may see
/// (its context up to its own position, within the sliding window), softmax in Float32, weighted sum
/// of values. Keys and values are read from a `CPUKVStore` layer (`slots × kvDim`, keys of head `g`
/// at column `g·headDim`).
enum CPUAttention {
    /// Keys of one query: up to a few runs of consecutive slots.
    struct Visible {
        var slots: [Int] = []
        var counts: [Int] = []
        var total = 0

        mutating func append(slot: Int, count: Int) {
            guard count > 0 else { return }
            slots.append(slot); counts.append(count); total += count
        }
    }

    /// The slots a row at `position` of `context` sees on a layer with `window`.
    static func visible(_ context: [KVRun], position p: Int, window: Int?) -> Visible {
        let lo = window.map { p - $0 + 1 } ?? Int.min
        var v = Visible()
        for r in context {
            let first = max(r.position, lo), last = min(r.position + r.count - 1, p)
            if first <= last { v.append(slot: r.slot + (first - r.position), count: last - first + 1) }
        }
        return v
    }

    /// Output row `i` = attention of query row `queries[i]` (heads starting at `q + row·qStride`).
    static func run(q: UnsafePointer<Float>, qStride: Int, queries: [Int], layout: SequenceLayout,
                    keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvDim: Int, spec s: AttentionSpec,
                    out: UnsafeMutablePointer<Float>, outStride: Int) {
        let hd = s.headDim, group = s.heads / s.kvHeads
        let plans = queries.map { visible(layout.contexts[layout.contextOfRow[$0]], position: layout.positions[$0], window: s.window) }
        let longest = plans.map(\.total).max() ?? 0
        // Work items: (query, head) pairs in blocks, so that a decode step (one query per sequence) still
        // spreads over heads; one score buffer per block.
        let items = queries.count * s.heads
        // About four blocks per thread when there are few items (decode), at most 8 heads per block.
        let block = max(1, min(8, items / max(1, 4 * Parallel.threads)))
        let blocks = (items + block - 1) / block
        Parallel.forEach(blocks, cost: block * longest * hd * 2) { b in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(1, longest))
            defer { scores.deallocate() }
            for item in (b * block)..<min(items, b * block + block) {
                let i = item / s.heads, h = item % s.heads, g = h / group
                let plan = plans[i]
                let o = out + i * outStride + h * hd
                let qh = q + queries[i] * qStride + h * hd
                var n = 0
                for (slot, count) in zip(plan.slots, plan.counts) {
                    let k = keys + slot * kvDim + g * hd
                    for j in 0..<count { scores[n + j] = Kernels.dot(qh, k + j * kvDim, hd) * s.scale }
                    n += count
                }
                if let cap = s.softcap { Kernels.softcap(scores, n, cap: cap) }
                if let sinks = s.sinks { Kernels.softmax(scores, n, sink: sinks[h]) } else { Kernels.softmax(scores, n) }
                o.update(repeating: 0, count: hd)
                n = 0
                for (slot, count) in zip(plan.slots, plan.counts) {
                    let v = values + slot * kvDim + g * hd
                    for j in 0..<count { Kernels.axpy(scores[n + j], v + j * kvDim, o, hd) }
                    n += count
                }
            }
        }
    }
}
