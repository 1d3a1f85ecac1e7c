import Foundation

/// Causal multi-head attention with grouped KV heads, as transformers' eager attention computes it:
/// scores `q·k · scale`, optional soft-capping `cap·tanh(s/cap)`, causal + padding + sliding-window
/// mask, softmax in Float32, weighted sum of values. `compute` reads a left-padded KV cache;
/// `packed` reads keys straight from the projection of sequences packed without padding.
public enum Attention {
    /// Geometry and options of one attention call.
    public struct Shape: Sendable {
        public var batch: Int
        /// New query tokens per row in this call.
        public var queries: Int
        public var heads: Int
        public var kvHeads: Int
        public var headDim: Int
        /// Cache slots already filled before this call (the new keys follow them).
        public var past: Int
        /// Allocated slots per (row, kv head) in the cache.
        public var capacity: Int
        public var scale: Float
        public var softcap: Float?
        /// A key at slot `j` is visible from the query at slot `i` only when `i - j < window`.
        public var window: Int?

        public init(batch: Int, queries: Int, heads: Int, kvHeads: Int, headDim: Int, past: Int, capacity: Int,
                    scale: Float, softcap: Float? = nil, window: Int? = nil) {
            self.batch = batch; self.queries = queries; self.heads = heads; self.kvHeads = kvHeads
            self.headDim = headDim; self.past = past; self.capacity = capacity; self.scale = scale
            self.softcap = softcap; self.window = window
        }
    }

    /// Consecutive visible keys and their values, `stride` floats apart.
    public struct KeyRun {
        public var keys: UnsafePointer<Float>
        public var values: UnsafePointer<Float>
        public var stride: Int
        public var count: Int

        @inlinable public init(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, count: Int) {
            self.keys = keys; self.values = values; self.stride = stride; self.count = count
        }
    }

    /// One query head against the keys of `first` followed by those of `second` (either may be empty).
    /// `scores` needs room for both counts; `out` gets `headDim` floats.
    @inlinable
    public static func attend(_ q: UnsafePointer<Float>, headDim hd: Int, scale: Float, softcap: Float?,
                              _ first: KeyRun, _ second: KeyRun,
                              scores: UnsafeMutablePointer<Float>, out o: UnsafeMutablePointer<Float>) {
        let n = first.count + second.count
        for j in 0..<first.count { scores[j] = Kernels.dot(q, first.keys + j * first.stride, hd) * scale }
        for j in 0..<second.count { scores[first.count + j] = Kernels.dot(q, second.keys + j * second.stride, hd) * scale }
        if let cap = softcap { Kernels.softcap(scores, n, cap: cap) }
        Kernels.softmax(scores, n)
        o.update(repeating: 0, count: hd)
        for j in 0..<first.count { Kernels.axpy(scores[j], first.values + j * first.stride, o, hd) }
        for j in 0..<second.count { Kernels.axpy(scores[first.count + j], second.values + j * second.stride, o, hd) }
    }

    /// - Parameters:
    ///   - q: queries; row `(b·queries + t)` starts at `q + row·qStride`, head `h` at `+ h·headDim`.
    ///   - keys, values: cache `[batch, kvHeads, capacity, headDim]` already holding this call's keys.
    ///   - firstValid: per batch row, the first non-padding slot (left padding).
    ///   - out: `[batch·queries, heads·headDim]`. Queries on padding slots get zeros.
    public static func compute(shape s: Shape, q: UnsafePointer<Float>, qStride: Int,
                               keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                               firstValid: [Int], out: UnsafeMutablePointer<Float>) {
        let group = s.heads / s.kvHeads
        let hd = s.headDim
        let outStride = s.heads * hd
        let total = s.past + s.queries
        // Work items: (row, head, block of queries) so that decode (1 query) still spreads over heads.
        let qBlock = 16
        let blocks = (s.queries + qBlock - 1) / qBlock
        let items = s.batch * s.heads * blocks
        firstValid.withUnsafeBufferPointer { firstValid in
            Parallel.forEach(items, cost: qBlock * total * hd * 2) { item in
                let blk = item % blocks
                let h = (item / blocks) % s.heads
                let b = item / (blocks * s.heads)
                let g = h / group
                let kBase = keys + (b * s.kvHeads + g) * s.capacity * hd
                let vBase = values + (b * s.kvHeads + g) * s.capacity * hd
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: total)
                defer { scores.deallocate() }
                for t in (blk * qBlock)..<min(s.queries, blk * qBlock + qBlock) {
                    let slot = s.past + t
                    let o = out + (b * s.queries + t) * outStride + h * hd
                    var lo = firstValid[b]
                    if let w = s.window { lo = max(lo, slot - w + 1) }
                    if slot < firstValid[b] || lo > slot {
                        o.update(repeating: 0, count: hd)
                        continue
                    }
                    let run = KeyRun(keys: kBase + lo * hd, values: vBase + lo * hd, stride: hd, count: slot - lo + 1)
                    let none = KeyRun(keys: kBase, values: vBase, stride: hd, count: 0)
                    attend(q + (b * s.queries + t) * qStride + h * hd, headDim: hd, scale: s.scale, softcap: s.softcap,
                           run, none, scores: scores, out: o)
                }
            }
        }
    }

    /// Where one query token of a packed batch looks: its position, and the tokens holding positions
    /// `0..<prefixCount` (`prefixStart…`) and `prefixCount…` (`ownStart…`) in the packed projection.
    public struct PackedQuery: Sendable {
        public var token: Int
        public var position: Int
        public var prefixStart: Int
        public var prefixCount: Int
        public var ownStart: Int

        public init(token: Int, position: Int, prefixStart: Int, prefixCount: Int, ownStart: Int) {
            self.token = token; self.position = position; self.prefixStart = prefixStart
            self.prefixCount = prefixCount; self.ownStart = ownStart
        }
    }

    /// Attention for packed sequences (no padding; a shared prefix stored once).
    /// - Parameters:
    ///   - qkv: `[tokens, qkvStride]` rows of `[q (heads·hd) | k (kvHeads·hd) | v (kvHeads·hd)]`.
    ///   - queries: the tokens to compute; output row `i` is `queries[i]`.
    ///   - out: `[queries.count, heads·hd]`.
    public static func packed(qkv: UnsafePointer<Float>, qkvStride: Int, heads: Int, kvHeads: Int, headDim hd: Int,
                              scale: Float, softcap: Float?, window: Int?, queries: [PackedQuery],
                              out: UnsafeMutablePointer<Float>) {
        let group = heads / kvHeads
        let qDim = heads * hd, kvDim = kvHeads * hd
        let longest = (queries.map(\.position).max() ?? 0) + 1
        queries.withUnsafeBufferPointer { qs in
            Parallel.forEach(qs.count, cost: heads * longest * hd * 2) { i in
                let pq = qs[i]
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: pq.position + 1)
                defer { scores.deallocate() }
                let lo = window.map { max(0, pq.position - $0 + 1) } ?? 0
                // Visible positions lo...position: those below prefixCount sit in the prefix run.
                let prefixLo = min(lo, pq.prefixCount), prefixHi = min(pq.position + 1, pq.prefixCount)
                let ownLo = max(lo, pq.prefixCount) - pq.prefixCount, ownHi = pq.position + 1 - pq.prefixCount
                for h in 0..<heads {
                    let kOff = qDim + (h / group) * hd, vOff = qDim + kvDim + (h / group) * hd
                    let p0 = qkv + (pq.prefixStart + prefixLo) * qkvStride
                    let o0 = qkv + (pq.ownStart + ownLo) * qkvStride
                    let first = KeyRun(keys: p0 + kOff, values: p0 + vOff, stride: qkvStride, count: max(0, prefixHi - prefixLo))
                    let second = KeyRun(keys: o0 + kOff, values: o0 + vOff, stride: qkvStride, count: max(0, ownHi - ownLo))
                    attend(qkv + pq.token * qkvStride + h * hd, headDim: hd, scale: scale, softcap: softcap,
                           first, second, scores: scores, out: out + i * qDim + h * hd)
                }
            }
        }
    }
}
