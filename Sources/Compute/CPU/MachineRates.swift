import CPUKernels
import Foundation

/// What this machine can do, measured the way the backend computes: the matrix-product rate of the
/// pool's blocked `sgemm`, and the memory bandwidth a streaming read reaches (the ceiling of a
/// decode step, which reads every weight once). For benchmarks; nothing depends on the figures.
enum MachineRates {
    /// GFLOP/s of `Matrix.apply` on square Float32 matrices of `size` (weights held as a converted
    /// model's are), best of `repeats`.
    static func sgemmGFLOPS(size n: Int = 1024, repeats: Int = 5) -> Double {
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) { a[i] = Float(i % 7) * 0.01; b[i] = Float(i % 5) * 0.02 }
        let w = Matrix.panelsSupported ? Matrix.panels(rows: n, cols: n, dtype: .f32, source: UnsafeRawPointer(b.pointer))
                                       : Matrix(rows: n, cols: n, buffer: b)
        let seconds = best(of: repeats) { w.apply(a.pointer, m: n, into: c.pointer, ldy: n) }
        return 2 * Double(n) * Double(n) * Double(n) / seconds / 1e9
    }

    /// GB/s (10⁹ bytes) of a read of `bytes` of memory, far larger than the caches, split over the pool
    /// in 4 MiB blocks; best of `repeats` after one pass that faults the pages in.
    static func readBandwidth(bytes: Int = 1 << 30, repeats: Int = 5) -> Double {
        let block = 1 << 20, blocks = max(1, bytes / (block * 4))
        let buffer = FloatBuffer(uninitializedCount: blocks * block)
        Parallel.forEach(blocks, cost: block) { b in (buffer.pointer + b * block).update(repeating: 1, count: block) }
        let sums = FloatBuffer(count: blocks)
        let seconds = best(of: repeats) {
            Parallel.forEach(blocks, cost: block) { b in sums[b] = steer_stream_sum(buffer.pointer + b * block, block) }
        }
        return Double(blocks * block * 4) / seconds / 1e9
    }

    /// The shortest of `repeats` timed runs of `body`, after one untimed run.
    static func best(of repeats: Int, _ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return best
    }
}
