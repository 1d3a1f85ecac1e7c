import CPUKernels
@testable import Compute
import Foundation
import ModelFormats
import XCTest

/// The C kernels at every instruction set this CPU supports (baseline, AVX2, AVX-512), each against
/// the same references: widening bit-exact, products within the bounds of Float32 arithmetic
/// (`Float32Error`), so no expectation depends on which kernel a machine picks.
final class CPUKernelTests: XCTestCase {
    private var saved = KernelLevel.current
    private var random = SeededRandom(seed: 0xC0DE_2026)

    override func tearDown() { KernelLevel.current = saved }

    private var levels: [KernelLevel] { KernelLevel.allCases.filter { $0 <= KernelLevel.supported } }

    /// Every one of the 65,536 bf16 and f16 bit patterns widens as `DTypeConversion` widens it (zeros of
    /// both signs, subnormals, infinities; NaNs stay NaN), at every level and for any start offset.
    func testWideningIsExactForEveryBitPattern() {
        let count = 1 << 16
        let bits = UnsafeMutablePointer<UInt16>.allocate(capacity: count)
        defer { bits.deallocate() }
        for i in 0..<count { bits[i] = UInt16(i) }
        let out = FloatBuffer(count: count)
        for level in levels {
            KernelLevel.current = level
            for dtype in [DType.bf16, .f16] {
                let m = Matrix(rows: 1, cols: count, storage: dtype == .bf16 ? .bf16(bits) : .f16(bits), owner: nil)
                m.rows(0, count: 1, into: out.pointer)
                var wrong = 0
                for i in 0..<count {
                    let want = dtype == .bf16 ? DTypeConversion.float(bf16: UInt16(i)) : DTypeConversion.float(f16: UInt16(i))
                    let same = want.isNaN ? out[i].isNaN : out[i].bitPattern == want.bitPattern
                    if !same { wrong += 1; if wrong <= 3 { XCTFail("\(level) \(dtype) \(i): \(out[i]) want \(want)") } }
                }
                XCTAssertEqual(wrong, 0, "\(level) \(dtype)")
            }
        }
    }

    /// Matrix-vector products of 1–4 input rows (each weight row read once for all of them) over F32,
    /// BF16 and F16 weights, widths covering the vector chains and the scalar tail, inputs and outputs at
    /// row strides wider than the rows; every element within γ_cols·Σ|x·w| of the exact dot product.
    func testMatrixVectorProductsWithinFloat32Bounds() throws {
        let backend = CPUBackend()
        for level in levels {
            KernelLevel.current = level
            for dtype in [DType.f32, .bf16, .f16] {
                for cols in [1, 5, 16, 31, 64, 100, 263] {
                    let rows = 13
                    let (data, w) = WeightBytes.make("w", random.floats(rows * cols), rows: rows, cols: cols, dtype: dtype)
                    let matrix = (try backend.weight(data, keepHalf: true) as! CPUWeight).matrix
                    for m in 1...Matrix.gemvRows {
                        let lda = cols + 3, ldy = rows + 2
                        let x = random.floats(m * lda)
                        var y = [Float](repeating: .nan, count: m * ldy)
                        x.withUnsafeBufferPointer { xp in
                            y.withUnsafeMutableBufferPointer { matrix.apply(xp.baseAddress!, m: m, lda: lda, into: $0.baseAddress!, ldy: ldy) }
                        }
                        for i in 0..<m {
                            for r in 0..<rows {
                                var exact = 0.0, magnitude = 0.0
                                for k in 0..<cols { let t = Double(x[i * lda + k]) * w[r, k]; exact += t; magnitude += abs(t) }
                                let error = abs(Double(y[i * ldy + r]) - exact)
                                XCTAssertLessThanOrEqual(error, Float32Error.gamma(cols) * magnitude,
                                                         "\(level) \(dtype) cols \(cols) m \(m) [\(i), \(r)]")
                            }
                            // Columns past the weight's rows are not written.
                            XCTAssertTrue(y[(i * ldy + rows)..<((i + 1) * ldy)].allSatisfy(\.isNaN), "\(level) \(dtype) wrote past row \(rows)")
                        }
                    }
                }
            }
        }
    }

    /// A matrix-vector element does not depend on which block of weight rows its call covers (the pool
    /// may split the rows anywhere) nor on the other input rows of the call (a decode batch of any size).
    func testMatrixVectorElementsIndependentOfBlockAndBatch() {
        let rows = 40, cols = 201
        let bits = (0..<(rows * cols)).map { _ in DTypeConversion.bf16(random.floats(1)[0]) }
        let x = random.floats(16 * cols)
        for level in levels {
            KernelLevel.current = level
            func product(m: Int, blocks: [Range<Int>]) -> [Float] {
                var y = [Float](repeating: 0, count: m * rows)
                bits.withUnsafeBytes { w in
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            for b in blocks {
                                steer_gemv(STEER_BF16, w.baseAddress!, cols, b.lowerBound, b.upperBound, xp.baseAddress!, m, cols,
                                           yp.baseAddress!, rows)
                            }
                        }
                    }
                }
                return y
            }
            let whole = product(m: 16, blocks: [0..<rows])
            XCTAssertEqual(product(m: 16, blocks: [0..<7, 7..<8, 8..<33, 33..<rows]), whole, "\(level): split rows")
            for m in [1, 2, 3, 5, 9] {
                XCTAssertEqual(product(m: m, blocks: [0..<3, 3..<rows]), Array(whole[0..<(m * rows)]), "\(level): \(m) input rows")
            }
        }
    }

    /// Products over panels (converted weights) and over row-major weights packed per call give the same
    /// bits for every batch size, block split, and instruction set with FMA (AVX2 and AVX-512): each
    /// element is one sum in ascending order. Within γ_cols·Σ|x·w| of the exact value.
    func testProductsSameBitsForAnyBatchSplitAndLevel() throws {
        let rows = 75, cols = 300, m = 70
        let (data, w) = WeightBytes.make("w", random.floats(rows * cols), rows: rows, cols: cols, dtype: .bf16)
        let panels = Matrix.panels(rows: rows, cols: cols, dtype: .bf16, source: data.bytes.baseAddress!)
        let x = random.floats(m * cols)
        func product(_ level: KernelLevel, rowMajor: Bool, batches: [Range<Int>]) -> [Float] {
            KernelLevel.current = level
            var y = [Float](repeating: .nan, count: m * rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    for b in batches {
                        let xi = xp.baseAddress! + b.lowerBound * cols, yi = yp.baseAddress! + b.lowerBound * rows
                        if rowMajor {
                            let scratch = ThreadScratch.floats(steer_gemm_scratch_floats(rows))
                            steer_gemm(STEER_BF16, data.bytes.baseAddress!, cols, rows, cols, xi, cols, b.count, yi, rows, scratch)
                        } else {
                            panels.apply(xi, m: b.count, into: yi, ldy: rows)
                        }
                    }
                }
            }
            return y
        }
        let fma = levels.filter { $0 >= .avx2 }
        guard let top = fma.last else { throw XCTSkip("no FMA level on this CPU") }
        let reference = product(top, rowMajor: false, batches: [0..<m])
        for i in 0..<m {
            for r in 0..<rows {
                var exact = 0.0, magnitude = 0.0
                for k in 0..<cols { let t = Double(x[i * cols + k]) * w[r, k]; exact += t; magnitude += abs(t) }
                XCTAssertLessThanOrEqual(abs(Double(reference[i * rows + r]) - exact), Float32Error.gamma(cols) * magnitude)
            }
        }
        for level in fma {
            XCTAssertEqual(product(level, rowMajor: false, batches: (0..<m).map { $0..<($0 + 1) }), reference, "\(level): one row at a time")
            XCTAssertEqual(product(level, rowMajor: false, batches: [0..<3, 3..<20, 20..<m]), reference, "\(level): batches of 3, 17, 50")
            XCTAssertEqual(product(level, rowMajor: true, batches: [0..<m]), reference, "\(level): row-major, packed per call")
        }
    }

    /// The streaming read that measures bandwidth adds every little-endian 64-bit word it reads
    /// (wrapping), then the tail bytes: integer sums, so exactly the plain sum, for any start and length.
    func testStreamReadSumsEveryByte() {
        let bytes = (0..<4099).map { _ in UInt8.random(in: 0...255, using: &random) }
        for level in levels {
            KernelLevel.current = level
            for (start, n) in [(0, 0), (0, 7), (1, 8), (3, 257), (5, 1024), (0, 4096), (2, 4097)] {
                var expected: UInt64 = 0, k = 0
                while k + 8 <= n {
                    var word: UInt64 = 0
                    for j in 0..<8 { word |= UInt64(bytes[start + k + j]) << (8 * j) }
                    expected &+= word
                    k += 8
                }
                while k < n { expected &+= UInt64(bytes[start + k]); k += 1 }
                let got = bytes.withUnsafeBytes { steer_stream_read($0.baseAddress! + start, n) }
                XCTAssertEqual(got, expected, "\(level) start \(start) n \(n)")
            }
        }
    }

    /// The peak measurement runs the chains it claims: 12 chains of `a = a·m + c` from a = i, one
    /// rounding per step where the level has fused multiply-add (AVX2, AVX-512) and two at the baseline,
    /// summed in chain order; its lanes are equal, so the pairwise lane sum is `lanes ×` that exactly.
    func testFMAPeakRunsFusedChains() {
        let m: Float = 0.999999, c: Float = 1e-7, iterations = 1000
        for level in levels {
            KernelLevel.current = level
            var sum: Float = 0
            for i in 0..<12 {
                var a = Float(i)
                for _ in 0..<iterations { a = level >= .avx2 ? c.addingProduct(a, m) : a * m + c }
                sum += a
            }
            XCTAssertEqual(steer_fma_peak(iterations), Float(level.lanes) * sum, "\(level)")
        }
    }

    /// `STEER_KERNELS`-style lowering: a level above the CPU's is refused, names are stable.
    func testLevelsAreCappedBySupport() {
        KernelLevel.current = .avx512
        XCTAssertEqual(KernelLevel.current, KernelLevel.supported)
        KernelLevel.current = .baseline
        XCTAssertEqual(KernelLevel.current, .baseline)
        XCTAssertEqual(KernelLevel.allCases.map(\.name), ["baseline", "avx2", "avx512"])
    }
}
