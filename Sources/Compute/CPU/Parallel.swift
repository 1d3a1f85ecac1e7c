import CPUKernels
import Foundation

/// The CPU backend's one pool of threads, for its own kernels and for matrix products alike.
///
/// OpenBLAS always runs single-threaded (`BLAS.pinToOneThread`): its worker threads spin in
/// `sched_yield` between calls, which cost 15% of a prefill. Matrix products are split here instead,
/// into blocks whose size follows from the shapes only, each block one single-threaded BLAS call or
/// kernel run. Items are handed out one at a time to whichever thread is free (uneven items balance),
/// and since an item computes its elements the same way on any thread, results are bit-identical
/// whatever `threads` is. `forEach` runs on a persistent team (`Team`) whose workers spin briefly with the
/// pause hint between loops and then sleep; `jobs` runs on libdispatch's threads. Nothing calls sched_yield.
enum Parallel {
    /// Number of worker threads used by `forEach` (defaults to the processor count).
    nonisolated(unsafe) static var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// Below this many scalar operations a loop runs on the calling thread: waking workers costs
    /// tens of microseconds, more than small kernels take.
    nonisolated(unsafe) static var minimumWork: Int =
        Int(ProcessInfo.processInfo.environment["STEER_PARALLEL_MIN_WORK"] ?? "") ?? 32_768

    /// Runs `body(i)` for `i in 0..<count`, in parallel when the total work is worth it.
    /// `cost` is a rough number of scalar operations per item. Inside `serial` it always runs inline.
    /// Items are handed out in index order; put the costly ones first when costs differ.
    static func forEach(_ count: Int, cost: Int = 1, _ body: (Int) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 || count * cost < minimumWork || isSerial {
            for i in 0..<count { body(i) }
            return
        }
        if Team.run(count, participants: workers - 1, body) { return }
        // The team is busy (a loop started from another thread): libdispatch's threads instead.
        let items = JobState()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = items.next(below: count) { body(i) }
        }
    }

    /// The persistent worker team of `forEach` (`steer_pool` in CPUKernels): its workers spin briefly
    /// between loops instead of being woken through the kernel for each one, which cost about a tenth of a
    /// decode step (a hundred short loops per token). Made on first use, remade when more threads are asked for.
    enum Team {
        /// Pause iterations a worker spins before sleeping (about 0.4 ms); none when there are more threads
        /// than processors, where a spinning worker would take a core from one with work.
        static func spin(participants: Int) -> Int {
            participants + 1 <= processors ? 20_000 : 0
        }
        /// Read once: on Linux each `activeProcessorCount` reads the cgroup's CPU quota files, which took
        /// a few percent of a bf16 decode step when asked on every loop.
        private static let processors = ProcessInfo.processInfo.activeProcessorCount
        private static let lock = NSLock()
        nonisolated(unsafe) private static var pool: OpaquePointer?
        nonisolated(unsafe) private static var poolSpin = 0

        /// Carries the loop body through C.
        private final class Body {
            let run: (Int) -> Void
            init(_ run: @escaping (Int) -> Void) { self.run = run }
        }

        /// Runs the loop on the team; false when another thread is using it.
        static func run(_ count: Int, participants: Int, _ body: (Int) -> Void) -> Bool {
            guard lock.try() else { return false }
            defer { lock.unlock() }
            let spin = spin(participants: participants)
            if pool == nil || Int(steer_pool_workers(pool)) < participants || poolSpin != spin {
                if let old = pool { steer_pool_destroy(old) }
                pool = steer_pool_create(Int32(participants), spin)
                poolSpin = spin
            }
            guard let pool, Int(steer_pool_workers(pool)) >= participants else { return false }
            withoutActuallyEscaping(body) { escaping in
                let box = Body(escaping)
                withExtendedLifetime(box) {
                    steer_pool_run(pool, count, Int32(participants), { context, item in
                        Unmanaged<Body>.fromOpaque(context!).takeUnretainedValue().run(item)
                    }, Unmanaged.passUnretained(box).toOpaque())
                }
            }
            return true
        }
    }

    /// Runs `count` independent jobs on up to `threads` threads, each job single-threaded: inside a job
    /// `forEach` runs inline. For many small forward passes this beats splitting every kernel across
    /// threads (no hand-offs). `job(i)` may run on any thread and in any order; jobs are handed out in
    /// index order. After the first error no further job starts, and that error is rethrown.
    static func jobs(_ count: Int, _ job: (Int) throws -> Void) throws {
        let workers = min(threads, count)
        let state = JobState()
        func work() {
            while let i = state.next(below: count) {
                do { try job(i) } catch { state.fail(error) }
            }
        }
        if workers <= 1 {
            serial { work() }
        } else {
            DispatchQueue.concurrentPerform(iterations: workers) { _ in serial { work() } }
        }
        if let error = state.error { throw error }
    }

    /// The next item or job index and the first error, shared by the workers of `forEach` or `jobs`.
    final class JobState: @unchecked Sendable {
        private var value = 0
        private(set) var error: Error?
        private let lock = NSLock()

        func next(below count: Int) -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard error == nil, value < count else { return nil }
            value += 1
            return value - 1
        }

        func fail(_ e: Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
    }

    /// Runs `body` with `forEach` inline on this thread.
    static func serial<T>(_ body: () throws -> T) rethrows -> T {
        let was = isSerial
        setSerial(true)
        defer { setSerial(was) }
        return try body()
    }

    /// Whether the calling thread is inside `serial`.
    static var isSerial: Bool { pthread_getspecific(serialKey) != nil }

    static func setSerial(_ on: Bool) {
        pthread_setspecific(serialKey, on ? UnsafeRawPointer(bitPattern: 1) : nil)
    }

    static let serialKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}
