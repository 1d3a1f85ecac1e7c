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
            // Each output is e_i / Σe: the exponential is within 2 ulp of expf, itself within 1 ulp (6u relative
            // together); its argument x_i − max rounds by at most u·|x_i − max| (so e_i by that much relative);
            // the sum of n terms is within γ_n; the division adds u. (Float64 reference error is negligible.)
            let spread = Double(x.filter(\.isFinite).max()! - x.filter(\.isFinite).min()!)
            let relative = 7 * RoundingBound.u + RoundingBound.u * spread + RoundingBound.gamma(n)
            Kernels.softmax(&x, n)
            for i in 0..<n { XCTAssertEqual(Double(x[i]), want[i], accuracy: relative * want[i], "n=\(n) i=\(i)") }
            if n > 2 { XCTAssertEqual(x[1], 0) }
        }
    }

    /// The vectorised gated activations against their scalar definitions (odd length: SIMD body and tail).
    func testGatedActivationsMatchScalarDefinitions() {
        let n = 203
        let gate = (0..<n).map { Float($0 - 101) * 0.09 }, up = (0..<n).map { 1 + Float($0 % 7) * 0.25 }
        var out = [Float](repeating: 0, count: n)
        let u = RoundingBound.u
        // silu: g / (1 + e^(−g)) · up — e^(−g) within 6u relative (2 ulp of expf, expf within 1 ulp), then an
        // addition (which cannot raise that relative error), a division and a multiplication: 9u relative.
        Kernels.gatedActivation(.silu, gate: gate, up: up, out: &out, n: n)
        for i in 0..<n {
            let g = Double(gate[i]), want = g / (1 + Foundation.exp(-g)) * Double(up[i])
            XCTAssertEqual(Double(out[i]), want, accuracy: 9 * u * abs(want), "silu at \(i)")
        }
        // gelu-tanh as g / (1 + e^(−2y)), y = c·(g + 0.044715·g³): y is 4 roundings and 2 rounded constants
        // from exact (7u relative), which moves e^(−2y) by 2|y|·7u relative on top of its own 6u; then 3 roundings.
        // The reference uses the same identity 0.5·(1 + tanh y) = 1 / (1 + e^(−2y)): in Float64, 1 + tanh(y)
        // cancels to 0 for y < −19 where the true value is still about 2e^(2y).
        Kernels.gatedActivation(.geluTanh, gate: gate, up: up, out: &out, n: n)
        for i in 0..<n {
            let g = Double(gate[i]), y = 0.7978845608028654 * (g + 0.044715 * g * g * g)
            let want = g / (1 + Foundation.exp(-2 * y)) * Double(up[i])
            XCTAssertEqual(Double(out[i]), want, accuracy: (9 + 14 * abs(y)) * u * abs(want), "gelu at \(i)")
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
        // The kernel's a = x·u and this test's (another summation order) are each within γ_d·s of exact,
        // s = Σ|x_i u_i|; ‖u‖² is 1 within γ_d + 2u (u was normalised in float); the update rounds each entry
        // once (u relative). So row·u is within (4γ_d + 3u)·s of 0 counting this test's own dot product, and
        // each entry within 2γ_d·s·|u_i| plus three roundings of |x_i| + |a·u_i| of the test's formula.
        let gamma = Float(RoundingBound.gamma(d)), unit = Float(RoundingBound.u)
        for r in 0..<rows {
            let row = Array(x[(r * d)..<((r + 1) * d)]), old = Array(before[(r * d)..<((r + 1) * d)])
            let s = zip(old, u).reduce(0) { $0 + abs($1.0 * $1.1) }
            XCTAssertEqual(zip(row, u).reduce(0) { $0 + $1.0 * $1.1 }, 0, accuracy: (4 * gamma + 3 * unit) * s)
            let a = zip(old, u).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<d {
                XCTAssertEqual(row[i], old[i] - a * u[i], accuracy: 2 * gamma * s * abs(u[i]) + 3 * unit * (abs(old[i]) + abs(a * u[i])))
            }
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
