import Foundation

/// Causal multi-head attention with grouped KV heads on the CPU, as transformers' eager attention
/// computes it: scores `q·k · scale`, optional soft-capping `cap·tanh(s/cap)`, the keys a row may see
/// (its context up to its own position, within the sliding window), softmax in Float32, weighted sum
/// of values. Keys and values are read from a `CPUKVStore` layer (`slots × kvDim`, keys of head `g`
/// at column `g·headDim`).
///
/// The queries of one context are cut into tiles of consecutive queries (`AttentionTile`); a tile and
/// one KV head is one work item: its query heads stacked against the keys the tile can see, scores and
/// weighted values as two matrix products per run of key slots (`sgemm` reads the keys and values in
/// place, `kvDim` apart), masking and softmax row by row in between. A prefill costs what its products
/// cost; a decode step is a tile of one query whose `heads / kvHeads` query heads share each key read.
/// Packed prompts, shared prefixes, padded batches and decode are all layouts of this one kernel.
enum CPUAttention {
    /// Output row `i` = attention of query row `queries[i]` (heads starting at `q + row·qStride`).
    static func run(q: UnsafePointer<Float>, qStride: Int, queries: [Int], layout: SequenceLayout,
                    keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvDim: Int, spec s: AttentionSpec,
                    out: UnsafeMutablePointer<Float>, outStride: Int) {
        let tiles = AttentionTile.tiles(queries: queries, layout: layout, spec: s)
        guard !tiles.isEmpty else { return }
        let group = s.heads / s.kvHeads, hd = s.headDim
        // Costly tiles first, so that the last items handed out are small ones.
        let order = tiles.indices.sorted { tiles[$0].keys > tiles[$1].keys || (tiles[$0].keys == tiles[$1].keys && $0 < $1) }
        let items = order.count * s.kvHeads
        Parallel.forEach(items, cost: 4 * group * (tiles.map(\.cost).max() ?? 0) * hd) { item in
            let tile = tiles[order[item / s.kvHeads]], g = item % s.kvHeads
            let rows = group * tile.count, n = tile.keys
            // Scratch: stacked queries (then outputs) [rows × hd], scores [rows × n].
            let scratch = ThreadScratch.floats(rows * hd + rows * n)
            let qt = scratch, scores = scratch + rows * hd
            for h in 0..<group {
                for t in 0..<tile.count {
                    (qt + (h * tile.count + t) * hd).update(from: q + queries[tile.members[t]] * qStride + (g * group + h) * hd, count: hd)
                }
            }
            // Scores: one product per run of visible slots, into the run's columns.
            for seg in tile.segments {
                BLAS.sgemm(transB: true, m: rows, n: seg.count, k: hd, alpha: s.scale, a: qt, lda: hd,
                           b: keys + seg.slot * kvDim + g * hd, ldb: kvDim, c: scores + seg.column, ldc: n)
            }
            for r in 0..<rows {
                let row = scores + r * n, visible = tile.visible[r % tile.count]
                let width = visible.count
                if width > 0, let cap = s.softcap { Kernels.softcap(row + visible.lowerBound, width, cap: cap) }
                Kernels.softmax(row + visible.lowerBound, width)
                row.update(repeating: 0, count: visible.lowerBound)
                (row + visible.upperBound).update(repeating: 0, count: n - visible.upperBound)
            }
            // Weighted values, accumulated over the runs, into the query buffer (no longer needed).
            for (k, seg) in tile.segments.enumerated() {
                BLAS.sgemm(m: rows, n: hd, k: seg.count, a: scores + seg.column, lda: n,
                           b: values + seg.slot * kvDim + g * hd, ldb: kvDim, beta: k == 0 ? 0 : 1, c: qt, ldc: hd)
            }
            if tile.segments.isEmpty { qt.update(repeating: 0, count: rows * hd) }
            for h in 0..<group {
                for t in 0..<tile.count {
                    (out + tile.members[t] * outStride + (g * group + h) * hd).update(from: qt + (h * tile.count + t) * hd, count: hd)
                }
            }
        }
    }
}
