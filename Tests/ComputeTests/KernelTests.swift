import Foundation
import XCTest
@testable import Compute

final class KernelTests: XCTestCase {
    /// The vector exponential against the C library's `expf`, over the whole range where results are normal.
    func testVectorExpWithinTwoULPOfLibm() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0013 })
            let got = Kernels.exp(lanes)
            for i in 0..<8 {
                let want = expf(lanes[i])
                worst = max(worst, abs(got[i] - want) / want.ulp)
            }
            x += 0.0101
        }
        XCTAssertLessThanOrEqual(worst, 2, "worst error \(worst) ulp")
        // Underflow gives 0 (also for -inf, as softmax's masked entries need); the top end stays finite.
        let ends = Kernels.exp(SIMD8<Float>(-.infinity, -200, -88, 0, 1, 88.3, 200, .infinity))
        XCTAssertEqual(ends[0], 0); XCTAssertEqual(ends[1], 0); XCTAssertEqual(ends[2], 0)
        XCTAssertEqual(ends[3], 1)
        for i in 4..<8 { XCTAssertTrue(ends[i].isFinite && ends[i] > 1, "\(ends[i])") }
    }

    func testSoftmaxSumsToOneAndZeroesMaskedEntries() {
        for n in [1, 7, 8, 19, 33] {
            var x = (0..<n).map { Float(($0 * 37) % 11) - 4 }
            if n > 2 { x[1] = -.infinity }
            let want: [Double] = {
                let m = Double(x.max()!), e = x.map { Foundation.exp(Double($0) - m) }, s = e.reduce(0, +)
                return e.map { $0 / s }
            }()
            Kernels.softmax(&x, n)
            for i in 0..<n { XCTAssertEqual(Double(x[i]), want[i], accuracy: 1e-6, "n=\(n) i=\(i)") }
            if n > 2 { XCTAssertEqual(x[1], 0) }
        }
    }

    /// The vectorised gated activations against their scalar definitions (odd length: SIMD body and tail).
    func testGatedActivationsMatchScalarDefinitions() {
        let n = 203
        let gate = (0..<n).map { Float($0 - 101) * 0.09 }, up = (0..<n).map { 1 + Float($0 % 7) * 0.25 }
        var out = [Float](repeating: 0, count: n)
        Kernels.gatedActivation(.silu, gate: gate, up: up, out: &out, n: n)
        for i in 0..<n {
            let g = Double(gate[i]), want = g / (1 + Foundation.exp(-g)) * Double(up[i])
            XCTAssertEqual(Double(out[i]), want, accuracy: 1e-6 * max(1, abs(want)), "silu at \(i)")
        }
        Kernels.gatedActivation(.geluTanh, gate: gate, up: up, out: &out, n: n)
        for i in 0..<n {
            let g = Double(gate[i])
            let want = 0.5 * g * (1 + tanh(0.7978845608028654 * (g + 0.044715 * g * g * g))) * Double(up[i])
            XCTAssertEqual(Double(out[i]), want, accuracy: 1e-6 * max(1, abs(want)), "gelu at \(i)")
        }
    }

    func testProjectOutRemovesTheDirection() {
        let d = 19, rows = 3
        var u = (0..<d).map { Float($0 % 5) - 2 }
        let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        u = u.map { $0 / norm }
        var x = (0..<(rows * d)).map { Float(($0 * 7) % 11) - 5 }
        let before = x
        Kernels.projectOut(&x, rows: rows, width: d, unit: u)
        for r in 0..<rows {
            let row = Array(x[(r * d)..<((r + 1) * d)]), old = Array(before[(r * d)..<((r + 1) * d)])
            XCTAssertEqual(zip(row, u).reduce(0) { $0 + $1.0 * $1.1 }, 0, accuracy: 1e-5)
            let a = zip(old, u).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<d { XCTAssertEqual(row[i], old[i] - a * u[i], accuracy: 1e-5) }
        }
    }

    /// Every job runs once, on any number of threads; inside a job kernels run inline and BLAS has one thread.
    func testJobsRunEachIndexOnceSingleThreadedInside() throws {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        for threads in [1, 2, 4] {
            Parallel.threads = threads
            let lock = NSLock()
            var seen = [Int](repeating: 0, count: 37)
            var inside: [Bool] = []
            try Parallel.jobs(37) { i in
                lock.lock(); seen[i] += 1; inside.append(Parallel.isSerial); lock.unlock()
            }
            XCTAssertEqual(seen, Array(repeating: 1, count: 37))
            XCTAssertTrue(inside.allSatisfy { $0 })
            XCTAssertFalse(Parallel.isSerial)
            // The first error stops the hand-out and comes back.
            struct Stop: Error {}
            var ran = 0
            XCTAssertThrowsError(try Parallel.jobs(1000) { i in
                lock.lock(); ran += 1; lock.unlock()
                if i == 3 { throw Stop() }
            }) { XCTAssertTrue($0 is Stop) }
            XCTAssertLessThan(ran, 1000)
        }
    }
}
