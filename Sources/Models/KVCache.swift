import Foundation
import TensorKit

/// Keys and values of every layer for a batch of left-padded sequences: `[batch, kvHeads, capacity, headDim]`
/// per layer, grown by doubling. Rows share slot numbering; `firstValid` marks each row's padding.
public final class KVCache {
    public let batch: Int
    public let layers: Int
    public let kvHeads: Int
    public let headDim: Int
    /// Slots filled so far (padding included).
    public internal(set) var length = 0
    public internal(set) var capacity: Int
    /// Per row, the first slot with a real token.
    public internal(set) var firstValid: [Int]
    /// Per row, the number of real prompt tokens (set by prefill).
    public internal(set) var promptLengths: [Int]
    var keys: [FloatBuffer]
    var values: [FloatBuffer]

    public init(batch: Int, layers: Int, kvHeads: Int, headDim: Int, capacity: Int = 64) {
        self.batch = batch; self.layers = layers; self.kvHeads = kvHeads; self.headDim = headDim
        self.capacity = max(1, capacity)
        firstValid = Array(repeating: 0, count: batch)
        promptLengths = Array(repeating: 0, count: batch)
        let size = batch * kvHeads * self.capacity * headDim
        keys = (0..<layers).map { _ in FloatBuffer(count: size) }
        values = (0..<layers).map { _ in FloatBuffer(count: size) }
    }

    /// Bytes held by keys and values.
    public var bytes: Int { 2 * layers * batch * kvHeads * capacity * headDim * 4 }

    /// Makes room for `total` slots.
    func reserve(_ total: Int) {
        guard total > capacity else { return }
        var newCap = capacity
        while newCap < total { newCap *= 2 }
        let rowsOld = capacity * headDim, rowsNew = newCap * headDim
        func grow(_ b: FloatBuffer) -> FloatBuffer {
            let nb = FloatBuffer(count: batch * kvHeads * rowsNew)
            for i in 0..<(batch * kvHeads) {
                (nb.pointer + i * rowsNew).update(from: b.pointer + i * rowsOld, count: length * headDim)
            }
            return nb
        }
        keys = keys.map(grow)
        values = values.map(grow)
        capacity = newCap
    }

    /// Drops everything after `slots` (to rerun from a shorter prefix).
    public func truncate(to slots: Int) {
        length = max(0, min(length, slots))
    }
}
