import Foundation
import XCTest
@testable import Compute

/// The CPU backend's parallel loops on the persistent worker team: every item exactly once, whatever the
/// thread count, nested loops and loops started from two threads at once (the second runs without the team).
final class ParallelTests: XCTestCase {
    func testEveryItemRunsOnceOnTheTeam() {
        let saved = (Parallel.threads, Parallel.minimumWork)
        defer { Parallel.threads = saved.0; Parallel.minimumWork = saved.1 }
        Parallel.minimumWork = 1
        for threads in [1, 2, 3, 2, 1] {
            Parallel.threads = threads
            for count in [1, 2, 7, 1000] {
                let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
                defer { hits.deallocate() }
                hits.initialize(repeating: 0)
                for _ in 0..<3 { Parallel.forEach(count) { hits[$0] += 1 } }
                XCTAssertEqual(Array(hits), Array(repeating: 3, count: count), "threads \(threads), items \(count)")
            }
        }
    }

    func testNestedAndConcurrentLoops() {
        let saved = (Parallel.threads, Parallel.minimumWork)
        defer { Parallel.threads = saved.0; Parallel.minimumWork = saved.1 }
        Parallel.minimumWork = 1
        Parallel.threads = 2
        let lock = NSLock()
        var total = 0
        // A loop inside a loop item, and two loops started at once from two threads.
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            Parallel.forEach(50) { _ in
                Parallel.forEach(4) { _ in lock.lock(); total += 1; lock.unlock() }
            }
        }
        XCTAssertEqual(total, 2 * 50 * 4)
    }
}
