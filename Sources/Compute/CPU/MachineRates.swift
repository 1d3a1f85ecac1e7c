import CPUKernels
import Foundation

/// What this machine can do, measured the way the backend computes: the matrix-product rate of the
/// pool's blocked `sgemm`, the cores' fused multiply-add peak (the ceiling of any product), and the
/// memory bandwidth a streaming read reaches, of fresh memory or of given regions such as the
/// weights themselves (the ceiling of a decode step, which reads every weight once). For benchmarks;
/// nothing depends on the figures.
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

    /// GB/s (10⁹ bytes) of a read of `bytes` of freshly allocated memory, far larger than the caches;
    /// best of `repeats` after one pass that faults the pages in.
    static func readBandwidth(bytes: Int = 1 << 30, repeats: Int = 5) -> Double {
        let buffer = FloatBuffer(uninitializedCount: max(1, bytes / 4))
        let count = buffer.count
        Parallel.forEach((count + readBlock / 4 - 1) / (readBlock / 4), cost: readBlock) { b in
            let start = b * readBlock / 4
            (buffer.pointer + start).update(repeating: 1, count: min(readBlock / 4, count - start))
        }
        return readBandwidth(regions: [(UnsafeRawPointer(buffer.pointer), count * 4)], repeats: repeats)
    }

    /// GB/s of reading `regions` (address, bytes) once, split over the pool in blocks of `readBlock`
    /// bytes, integer adds only (any content); best of `repeats` after one untimed pass.
    static func readBandwidth(regions: [(UnsafeRawPointer, Int)], repeats: Int = 5) -> Double {
        var blocks: [(UnsafeRawPointer, Int)] = []
        for (base, bytes) in regions {
            for offset in stride(from: 0, to: bytes, by: readBlock) { blocks.append((base + offset, min(readBlock, bytes - offset))) }
        }
        let total = blocks.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return 0 }
        let sums = UnsafeMutablePointer<UInt64>.allocate(capacity: blocks.count)
        defer { sums.deallocate() }
        let seconds = best(of: repeats) {
            blocks.withUnsafeBufferPointer { list in
                Parallel.forEach(list.count, cost: readBlock) { b in sums[b] = steer_stream_read(list[b].0, list[b].1) }
            }
        }
        return Double(total) / seconds / 1e9
    }

    /// Blocks of a streaming read: 4 MiB, large enough that the hardware prefetchers run at full
    /// stride, small enough to balance the threads.
    static let readBlock = 4 << 20

    /// GFLOP/s of fused multiply-adds from registers on every thread of the pool (`steer_fma_peak`):
    /// the arithmetic ceiling no product can pass. Best of `repeats`.
    static func fmaPeakGFLOPS(repeats: Int = 3) -> Double {
        let items = 4 * Parallel.threads, iterations = 2_000_000
        let sink = FloatBuffer(count: items)
        let seconds = best(of: repeats) {
            Parallel.forEach(items, cost: Int.max / items) { i in sink[i] = steer_fma_peak(iterations) }
        }
        return Double(24 * KernelLevel.current.lanes * iterations * items) / seconds / 1e9
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
