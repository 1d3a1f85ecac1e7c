import Foundation

/// Work splitting for the elementwise kernels. BLAS has its own threads; these are for the rest.
enum Parallel {
    /// Number of worker threads used by `forEach` (defaults to the processor count).
    nonisolated(unsafe) static var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// Below this many scalar operations a loop runs on the calling thread: waking workers costs
    /// tens of microseconds, more than small kernels take.
    nonisolated(unsafe) static var minimumWork: Int =
        Int(ProcessInfo.processInfo.environment["STEER_PARALLEL_MIN_WORK"] ?? "") ?? 32_768

    /// Runs `body(i)` for `i in 0..<count`, in parallel when the total work is worth it.
    /// `cost` is a rough number of scalar operations per item. Inside `serial` it always runs inline.
    static func forEach(_ count: Int, cost: Int = 1, _ body: (Int) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 || count * cost < minimumWork || isSerial {
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

    /// Runs `count` independent jobs on up to `threads` threads, each job single-threaded: inside a job
    /// `forEach` runs inline and BLAS uses one thread. For many small forward passes this beats
    /// splitting every kernel across threads (no hand-offs, no BLAS workers spinning between calls).
    /// `job(i)` may run on any thread and in any order; jobs are handed out in index order. After the
    /// first error no further job starts, and that error is rethrown.
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
            let savedBLAS = BLAS.threads
            BLAS.threads = 1
            defer { BLAS.threads = savedBLAS }
            DispatchQueue.concurrentPerform(iterations: workers) { _ in serial { work() } }
        }
        if let error = state.error { throw error }
    }

    /// The next job index and the first error, shared by the workers of `jobs`.
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
