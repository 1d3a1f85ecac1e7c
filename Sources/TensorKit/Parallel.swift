import Foundation

/// Work splitting for the elementwise kernels. BLAS has its own threads; these are for the rest.
public enum Parallel {
    /// Number of worker threads used by `forEach` (defaults to the processor count).
    nonisolated(unsafe) public static var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// Below this many scalar operations a loop runs on the calling thread: waking workers costs
    /// tens of microseconds, more than small kernels take.
    nonisolated(unsafe) public static var minimumWork: Int =
        Int(ProcessInfo.processInfo.environment["STEER_PARALLEL_MIN_WORK"] ?? "") ?? 32_768

    /// Runs `body(i)` for `i in 0..<count`, in parallel when the total work is worth it.
    /// `cost` is a rough number of scalar operations per item.
    @inlinable
    public static func forEach(_ count: Int, cost: Int = 1, _ body: (Int) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 || count * cost < minimumWork {
            for i in 0..<count { body(i) }
            return
        }
        let chunk = (count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = w * chunk
            let end = min(count, start + chunk)
            if start < end { for i in start..<end { body(i) } }
        }
    }
}
