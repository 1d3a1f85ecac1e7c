import Foundation

/// Causal multi-head attention with grouped KV heads over a key/value cache, as transformers'
/// eager attention computes it: scores `q·k · scale`, optional soft-capping `cap·tanh(s/cap)`,
/// causal + padding + sliding-window mask, softmax in Float32, weighted sum of values.
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
                    let qv = q + (b * s.queries + t) * qStride + h * hd
                    let n = slot - lo + 1
                    for j in 0..<n {
                        scores[j] = Kernels.dot(qv, kBase + (lo + j) * hd, hd) * s.scale
                    }
                    if let cap = s.softcap { Kernels.softcap(scores, n, cap: cap) }
                    Kernels.softmax(scores, n)
                    o.update(repeating: 0, count: hd)
                    for j in 0..<n { Kernels.axpy(scores[j], vBase + (lo + j) * hd, o, hd) }
                }
            }
        }
    }
}
