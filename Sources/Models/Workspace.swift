import Foundation
import Compute

/// Activation buffers a forward pass reuses from one pass to the next on the same thread, so that a
/// run of similar passes allocates nothing after the first. Buffers grow to the largest pass seen.
public final class Workspace {
    public let backend: ComputeBackend
    private(set) var capacity = 0
    private var tensors: [String: Tensor] = [:]
    private var store: KVStore?

    public init(backend: ComputeBackend) { self.backend = backend }

    /// Makes room for `rows` token rows of a model of `config`.
    func ensure(rows: Int, config c: ModelConfig) -> Workspace {
        guard rows > capacity else { return self }
        let n = max(rows, capacity * 5 / 4)
        let d = c.hiddenSize
        let qkv = c.blocks.map(\.attention.qkvWidth).max() ?? 0
        let q = c.blocks.map(\.attention.qDim).max() ?? 0
        let f = c.intermediateSize
        for (name, cols) in [("x", d), ("h", d), ("sub", d), ("compact", d), ("qkv", qkv), ("attn", q), ("gateUp", 2 * f), ("act", f)] {
            tensors[name] = backend.tensor(rows: n, cols: cols)
        }
        capacity = n
        return self
    }

    /// A buffer made by `ensure` (which runs before any of these is read).
    private func named(_ name: String) -> Tensor { tensors[name] ?? backend.tensor(rows: 0, cols: 0) }
    var x: Tensor { named("x") }
    var h: Tensor { named("h") }
    var sub: Tensor { named("sub") }
    var compact: Tensor { named("compact") }
    var qkv: Tensor { named("qkv") }
    var attn: Tensor { named("attn") }
    var gateUp: Tensor { named("gateUp") }
    var act: Tensor { named("act") }

    /// `rows × d` rows for the output head.
    func head(rows: Int) -> Tensor { sized("head", rows: rows, cols: tensors["x"]?.cols ?? 0) }

    /// `rows × vocab` logits.
    func logits(rows: Int, vocab: Int) -> Tensor { sized("logits", rows: rows, cols: vocab) }

    private func sized(_ name: String, rows: Int, cols: Int) -> Tensor {
        if let t = tensors[name], t.rows >= rows, t.cols == cols { return t }
        let t = backend.tensor(rows: rows, cols: cols)
        tensors[name] = t
        return t
    }

    /// A key/value store of at least `slots` slots for passes that keep nothing (packed scoring).
    func scratchStore(slots: Int, config c: ModelConfig) -> KVStore {
        if let s = store, s.slots >= slots { return s }
        let s = backend.kvStore(layers: c.numLayers, slots: max(slots, (store?.slots ?? 0) * 5 / 4),
                                kvDim: c.blocks.map(\.attention.kvDim).max() ?? 0)
        store = s
        return s
    }

    /// Workspaces handed out to concurrent jobs, one at a time each.
    public final class Pool: @unchecked Sendable {
        private let backend: ComputeBackend
        private var free: [Workspace] = []
        private let lock = NSLock()

        public init(backend: ComputeBackend) { self.backend = backend }

        /// Runs `body` with a workspace no other thread holds meanwhile.
        public func with<T>(_ body: (Workspace) throws -> T) rethrows -> T {
            lock.lock()
            let w = free.popLast() ?? Workspace(backend: backend)
            lock.unlock()
            defer { lock.lock(); free.append(w); lock.unlock() }
            return try body(w)
        }
    }
}
