import Foundation
import ModelFormats

/// A weight matrix `W[rows × cols]` (rows = output features, cols = input features, as in
/// `torch.nn.Linear.weight`), stored as Float32, or as bf16/f16 converted on use.
/// The storage may point into a memory-mapped file; `owner` keeps that mapping alive.
final class Matrix: @unchecked Sendable {
    enum Storage {
        case f32(UnsafePointer<Float>)
        case bf16(UnsafePointer<UInt16>)
        case f16(UnsafePointer<UInt16>)
    }

    let rows: Int
    let cols: Int
    let storage: Storage
    private let owner: AnyObject?

    init(rows: Int, cols: Int, storage: Storage, owner: AnyObject?) {
        self.rows = rows
        self.cols = cols
        self.storage = storage
        self.owner = owner
    }

    /// An owned Float32 matrix.
    convenience init(rows: Int, cols: Int, buffer: FloatBuffer) {
        precondition(buffer.count == rows * cols, "Matrix: buffer size does not match shape")
        self.init(rows: rows, cols: cols, storage: .f32(UnsafePointer(buffer.pointer)), owner: buffer)
    }

    var isFloat32: Bool { if case .f32 = storage { return true } else { return false } }

    /// Float32 storage this matrix allocated itself (not a view into a mapped file).
    var ownsFloat32: Bool { isFloat32 && owner is FloatBuffer }

    /// Row `r` as Float32 into `out[0..<cols]`.
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        switch storage {
        case .f32(let p): out.update(from: p + r * cols, count: cols)
        case .bf16(let p): for i in 0..<cols { out[i] = DTypeConversion.float(bf16: p[r * cols + i]) }
        case .f16(let p): for i in 0..<cols { out[i] = DTypeConversion.float(f16: p[r * cols + i]) }
        }
    }

    /// A Float32 copy of the whole matrix.
    func toFloat32() -> FloatBuffer {
        let out = FloatBuffer(count: rows * cols)
        Parallel.forEach(rows, cost: cols) { r in row(r, into: out.pointer + r * cols) }
        return out
    }

    /// `y[m × ldy][:, 0..<rows] = x[m × cols] · Wᵀ` (x rows `lda` apart, written at `y`, row stride `ldy`),
    /// optionally `+ bias`.
    /// Float32 weights go straight to `sgemm`; half weights are converted in row blocks (or,
    /// for a few input rows, read directly by a threaded dot-product kernel, which is memory-bound anyway).
    func apply(_ x: UnsafePointer<Float>, m: Int, lda: Int? = nil, into y: UnsafeMutablePointer<Float>, ldy: Int,
                      bias: UnsafePointer<Float>? = nil) {
        let lda = lda ?? cols
        switch storage {
        case .f32(let w) where m == 1 && ldy >= 1:
            // One input row: a matrix-vector product (OpenBLAS's sgemm does not forward M=1 to gemv).
            // y is cleared first: some BLAS builds scale y by beta = 0, which keeps a NaN left in scratch space.
            y.update(repeating: 0, count: rows)
            BLAS.sgemv(m: rows, n: cols, a: w, lda: cols, x: x, y: y)
        case .f32(let w):
            BLAS.sgemm(transB: true, m: m, n: rows, k: cols, a: x, lda: lda, b: w, ldb: cols, c: y, ldc: ldy)
        case .bf16, .f16:
            if m <= 4 {
                halfGEMV(x, m: m, lda: lda, into: y, ldy: ldy)
            } else {
                let block = max(1, min(rows, (1 << 20) / max(1, cols)))
                let tmp = FloatBuffer(count: block * cols)
                var r0 = 0
                while r0 < rows {
                    let n = min(block, rows - r0)
                    Parallel.forEach(n, cost: cols) { i in row(r0 + i, into: tmp.pointer + i * cols) }
                    BLAS.sgemm(transB: true, m: m, n: n, k: cols, a: x, lda: lda, b: tmp.pointer, ldb: cols,
                               c: y + r0, ldc: ldy)
                    r0 += n
                }
            }
        }
        if let bias {
            for i in 0..<m {
                let yr = y + i * ldy
                for j in 0..<rows { yr[j] += bias[j] }
            }
        }
    }

    private func halfGEMV(_ x: UnsafePointer<Float>, m: Int, lda: Int, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        let cols = self.cols
        switch storage {
        case .bf16(let base):
            // Widen 8 bf16 values at a time (zero-extend, shift into the high half) and multiply-add in
            // the same pass: one read of the 16-bit weights, no staging buffer.
            let blocks = (rows + 31) / 32
            Parallel.forEach(blocks, cost: 32 * cols * m) { b in
                for r in (b * 32)..<min(rows, b * 32 + 32) {
                    let w = UnsafeRawPointer(base + r * cols)
                    for i in 0..<m {
                        let xr = UnsafeRawPointer(x + i * lda)
                        var acc = SIMD8<Float>()
                        var k = 0
                        while k + 8 <= cols {
                            let h = w.loadUnaligned(fromByteOffset: k * 2, as: SIMD8<UInt16>.self)
                            // Lane by lane: the generic SIMD integer conversion does not vectorise.
                            var u = SIMD8<UInt32>()
                            for j in 0..<8 { u[j] = UInt32(h[j]) << 16 }
                            acc += unsafeBitCast(u, to: SIMD8<Float>.self) * xr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                            k += 8
                        }
                        var s = acc.sum()
                        while k < cols { s += Float(bitPattern: UInt32(base[r * cols + k]) << 16) * x[i * lda + k]; k += 1 }
                        y[i * ldy + r] = s
                    }
                }
            }
        case .f16(let base):
            let blocks = (rows + 63) / 64
            Parallel.forEach(blocks, cost: 64 * cols * m) { b in
                let tmp = UnsafeMutablePointer<Float>.allocate(capacity: cols)
                defer { tmp.deallocate() }
                for r in (b * 64)..<min(rows, b * 64 + 64) {
                    for k in 0..<cols { tmp[k] = DTypeConversion.float(f16: base[r * cols + k]) }
                    for i in 0..<m { y[i * ldy + r] = Kernels.dot(x + i * lda, tmp, cols) }
                }
            }
        case .f32:
            return
        }
    }
}

extension Matrix {
    /// The rows of `parts` stacked, when there are several parts, all owned Float32 with equal columns
    /// (converted from a 16-bit file): one wider matrix product instead of several, at no extra memory.
    /// Mapped Float32 parts are not joined (joining would copy them).
    static func joined(_ parts: [Matrix]) -> Matrix? {
        guard parts.count > 1, let cols = parts.first?.cols, parts.allSatisfy({ $0.cols == cols && $0.ownsFloat32 }) else { return nil }
        let rows = parts.reduce(0) { $0 + $1.rows }
        let buffer = FloatBuffer(uninitializedCount: rows * cols)
        var r = 0
        for part in parts {
            guard case .f32(let p) = part.storage else { return nil }
            (buffer.pointer + r * cols).update(from: p, count: part.rows * cols)
            r += part.rows
        }
        return Matrix(rows: rows, cols: cols, buffer: buffer)
    }
}
