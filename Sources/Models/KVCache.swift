import Foundation
import Compute

/// Keys and values of a batch of sequences for generation: sequence `i` owns slots
/// `i·capacity ..< (i+1)·capacity` of a backend store; the store doubles when a sequence outgrows its region.
public final class KVCache {
    public let backend: ComputeBackend
    public let batch: Int
    public private(set) var capacity: Int
    /// Tokens stored per sequence.
    public internal(set) var lengths: [Int]
    /// Prompt tokens per sequence (set by prefill).
    public internal(set) var promptLengths: [Int]
    public private(set) var store: KVStore
    private let layers: Int
    private let kvDim: Int

    public init(backend: ComputeBackend, batch: Int, layers: Int, kvDim: Int, capacity: Int) {
        self.backend = backend; self.batch = batch; self.layers = layers; self.kvDim = kvDim
        self.capacity = max(1, capacity)
        lengths = Array(repeating: 0, count: batch)
        promptLengths = Array(repeating: 0, count: batch)
        store = backend.kvStore(layers: layers, slots: batch * self.capacity, kvDim: kvDim)
    }

    /// Bytes held by keys and values.
    public var bytes: Int { store.bytes }

    /// First slot of sequence `i`.
    public func base(_ i: Int) -> Int { i * capacity }

    /// Makes room for `total` tokens in every sequence.
    func reserve(_ total: Int) {
        guard total > capacity else { return }
        var newCap = capacity
        while newCap < total { newCap *= 2 }
        let grown = backend.kvStore(layers: layers, slots: batch * newCap, kvDim: kvDim)
        for i in 0..<batch where lengths[i] > 0 {
            backend.copySlots(from: store, slots: base(i)..<(base(i) + lengths[i]), to: grown, at: i * newCap)
        }
        store = grown
        capacity = newCap
    }

    /// Drops everything after `tokens` in every sequence (to rerun from a shorter prefix).
    public func truncate(to tokens: Int) {
        lengths = lengths.map { max(0, min($0, tokens)) }
    }

    /// One new token per listed sequence, each at the end of its sequence.
    func step(_ tokens: [Int], sequences: [Int]) -> ForwardInput {
        var layout = SequenceLayout(), info: [RowInfo] = []
        for s in sequences {
            let p = lengths[s]
            let c = layout.addContext([KVRun(slot: base(s), position: 0, count: p + 1)])
            layout.addRow(position: p, slot: base(s) + p, context: c)
            info.append(RowInfo(sequence: s, position: p, promptLength: promptLengths[s]))
        }
        return ForwardInput(layout: layout, tokens: tokens, info: info, logitRows: Array(0..<sequences.count))
    }
}
