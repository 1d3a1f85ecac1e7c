import CPUKernels
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

    /// The storage for the C kernels.
    private var raw: (dtype: steer_dtype, base: UnsafeRawPointer, size: Int) {
        switch storage {
        case .f32(let p): return (STEER_F32, UnsafeRawPointer(p), 4)
        case .bf16(let p): return (STEER_BF16, UnsafeRawPointer(p), 2)
        case .f16(let p): return (STEER_F16, UnsafeRawPointer(p), 2)
        }
    }

    /// Rows `first ..< first + count` as Float32 into `out` (`count × cols`), exactly.
    func rows(_ first: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let (dtype, base, size) = raw
        steer_widen(dtype, base + first * cols * size, out, count * cols)
    }

    /// Row `r` as Float32 into `out[0..<cols]`.
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) { rows(r, count: 1, into: out) }

    /// Input rows up to which `apply` runs the matrix-vector kernel (each weight read once for all of
    /// them, memory-bound); above it, blocks of weight rows go through `sgemm`.
    static let gemvRows = 4

    /// `y[m × ldy][:, 0..<rows] = x[m × cols] · Wᵀ` (x rows `lda` apart, written at `y`, row stride `ldy`),
    /// optionally `+ bias`.
    ///
    /// The work is split into blocks of weight rows (and, for many input rows, of input rows) whose
    /// sizes follow from the shapes alone; each block is one single-threaded kernel or `sgemm` call on
    /// the backend's pool, so every output element is computed the same way whatever the thread count.
    /// 16-bit weights are widened in registers (few input rows) or block by block into per-thread
    /// scratch space before `sgemm`: each weight is read from memory once per call.
    func apply(_ x: UnsafePointer<Float>, m: Int, lda: Int? = nil, into y: UnsafeMutablePointer<Float>, ldy: Int,
               bias: UnsafePointer<Float>? = nil) {
        guard m > 0, rows > 0 else { return }
        let lda = lda ?? cols
        let (dtype, base, size) = raw
        let cols = self.cols, rows = self.rows
        if m <= Self.gemvRows {
            let block = Self.gemvBlock(cols: cols, size: size)
            let blocks = (rows + block - 1) / block
            Parallel.forEach(blocks, cost: block * cols * m) { b in
                let r0 = b * block
                steer_gemv(dtype, base, cols, r0, min(rows, r0 + block), x, m, lda, y, ldy)
            }
        } else {
            let (mb, nb) = Self.gemmTiles(m: m, rows: rows)
            let mt = (m + mb - 1) / mb, nt = (rows + nb - 1) / nb
            Parallel.forEach(mt * nt, cost: 2 * min(m, mb) * min(rows, nb) * cols) { t in
                // Weight-row blocks outermost: consecutive items of one thread tend to share a block.
                let i0 = (t % mt) * mb, r0 = (t / mt) * nb
                let mi = min(mb, m - i0), n = min(nb, rows - r0)
                let w: UnsafePointer<Float>
                if case .f32(let p) = storage {
                    w = p + r0 * cols
                } else {
                    let tmp = ThreadScratch.floats(n * cols)
                    steer_widen(dtype, base + r0 * cols * size, tmp, n * cols)
                    w = UnsafePointer(tmp)
                }
                BLAS.sgemm(transB: true, m: mi, n: n, k: cols, a: x + i0 * lda, lda: lda, b: w, ldb: cols,
                           c: y + i0 * ldy + r0, ldc: ldy)
            }
        }
        if let bias {
            for i in 0..<m { Kernels.add(bias, into: y + i * ldy, rows) }
        }
    }

    /// Weight rows per block of the matrix-vector kernel: about 64 KiB of weights.
    static func gemvBlock(cols: Int, size: Int) -> Int {
        min(256, max(8, (65_536 / max(1, cols * size)) / 8 * 8))
    }

    /// Input rows × weight rows of one `sgemm` block: at most 512 × 256, cut into near-equal parts
    /// (equal items balance over the pool). A block repacks its input rows (and widens its weight rows),
    /// so blocks stay large enough for that to cost a few percent; few input rows (a decode batch) make
    /// narrow blocks of 64 weight rows, which OpenBLAS runs near its peak for such shapes.
    static func gemmTiles(m: Int, rows: Int) -> (m: Int, n: Int) {
        (evenParts(m, most: 512), m <= 64 ? 64 : evenParts(rows, most: 256))
    }

    /// The size of the fewest near-equal parts of `n` of at most `most`, rounded up to a multiple of 16.
    static func evenParts(_ n: Int, most: Int) -> Int {
        let parts = max(1, (n + most - 1) / most)
        return min(most, ((n + parts - 1) / parts + 15) / 16 * 16)
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
