import Foundation
import TensorKit

/// Buffers `forwardPacked` can reuse from one pass to the next on the same thread, so that a run of
/// similar passes allocates (and the kernel zero-fills) nothing after the first.
public final class PackedWorkspace {
    var scratch: BlockScratch?
    var residual: FloatBuffer?

    public init() {}

    /// Scratch for `rows` token rows and a residual stream of `rows × d`; grown when too small.
    func buffers(config c: ModelConfig, rows: Int) -> (BlockScratch, FloatBuffer) {
        if let s = scratch, let x = residual, s.rows >= rows { return (s, x) }
        let s = BlockScratch(config: c, rows: rows), x = FloatBuffer(count: rows * c.hiddenSize)
        scratch = s; residual = x
        return (s, x)
    }

    /// Workspaces handed out to concurrent jobs, one at a time each.
    public final class Pool: @unchecked Sendable {
        private var free: [PackedWorkspace] = []
        private let lock = NSLock()

        public init() {}

        /// Runs `body` with a workspace no other thread holds meanwhile.
        public func with<T>(_ body: (PackedWorkspace) throws -> T) rethrows -> T {
            lock.lock()
            let w = free.popLast() ?? PackedWorkspace()
            lock.unlock()
            defer { lock.lock(); free.append(w); lock.unlock() }
            return try body(w)
        }
    }
}
