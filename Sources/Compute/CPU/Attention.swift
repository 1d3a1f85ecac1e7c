import CPUKernels
import Foundation

/// Causal multi-head attention with grouped KV heads on the CPU, as transformers' eager attention
/// computes it: scores `q·k · scale`, optional soft-capping `cap·tanh(s/cap)`, the keys a row may see
/// (its context up to its own position, within the sliding window), softmax in Float32, weighted sum
/// of values. Keys and values are read from a `CPUKVStore` layer (`slots × kvDim`, keys of head `g`
/// at column `g·headDim`).
///
/// The queries of one context are cut into tiles of consecutive queries (`AttentionTile`); a tile and
/// one KV head is one work item: its query heads stacked against the keys the tile can see, scores and
/// weighted values as two register-blocked matrix products (`steer_attention_scores`/`_values`, AVX-512
/// or AVX2), masking and softmax row by row in between. A prefill costs what its products cost; a
/// decode step is a tile of one query whose `heads / kvHeads` query heads share each key read. Packed
/// prompts, shared prefixes, padded batches and decode are all layouts of this one kernel.
///
/// A query's result does not depend on its tile: a score is a dot product in a fixed order, softmax
/// runs over the query's own visible keys, and the weighted sum runs over the keys in position order
/// (masked keys add exact zeros). So packing prompts differently, computing a prompt's last row alone
/// or splitting work over threads changes no value, as with one query at a time.
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
            // Scratch: stacked queries (then outputs) [rows × hd], keys transposed [hd × n], scores [rows × n].
            let scratch = ThreadScratch.floats(rows * hd + hd * n + rows * n)
            let qt = scratch, kt = scratch + rows * hd, scores = kt + hd * n
            for h in 0..<group {
                for t in 0..<tile.count {
                    (qt + (h * tile.count + t) * hd).update(from: q + queries[tile.members[t]] * qStride + (g * group + h) * hd, count: hd)
                }
            }
            for seg in tile.segments {
                for j in 0..<seg.count {
                    let key = keys + (seg.slot + j) * kvDim + g * hd, column = kt + seg.column + j
                    for c in 0..<hd { column[c * n] = key[c] }
                }
            }
            steer_attention_scores(qt, hd, rows, kt, n, n, hd, s.scale, scores, n)
            for r in 0..<rows {
                let row = scores + r * n, visible = tile.visible[r % tile.count]
                let width = visible.count
                if width > 0, let cap = s.softcap { Kernels.softcap(row + visible.lowerBound, width, cap: cap) }
                Kernels.softmax(row + visible.lowerBound, width)
                row.update(repeating: 0, count: visible.lowerBound)
                (row + visible.upperBound).update(repeating: 0, count: n - visible.upperBound)
            }
            // Weighted values, run by run of slots (read in place, kvDim apart), into the query buffer.
            qt.update(repeating: 0, count: rows * hd)
            for seg in tile.segments {
                steer_attention_values(scores + seg.column, n, rows, values + seg.slot * kvDim + g * hd, kvDim, seg.count, hd, qt, hd)
            }
            for h in 0..<group {
                for t in 0..<tile.count {
                    (out + tile.members[t] * outStride + (g * group + h) * hd).update(from: qt + (h * tile.count + t) * hd, count: hd)
                }
            }
        }
    }
}
