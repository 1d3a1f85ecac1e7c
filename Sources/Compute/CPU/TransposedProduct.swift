import Foundation
import ModelFormats

extension Matrix {
    /// `y[m × ldy][:, 0..<cols] (+)= x[m × rows] · W` (x rows `lda` apart): the product with the weight as
    /// stored, not transposed — the input gradient of `apply` (`dX = dY · W`), and `x · W_enc` for an SAE.
    ///
    /// The output is cut into tiles of input rows × weight columns whose sizes follow from the shapes
    /// alone; each tile is one `sgemm` over the whole reduction (the `rows` of W), so every output
    /// element is summed the same way whatever the thread count. A 16-bit weight's column block is
    /// widened into the tile's own buffer first.
    func applyTransposed(_ x: UnsafePointer<Float>, m: Int, lda: Int, into y: UnsafeMutablePointer<Float>, ldy: Int,
                         accumulate: Bool) {
        guard m > 0, cols > 0 else { return }
        let (mb, nb) = (Self.tile(m, most: 512), Self.tile(cols, most: 256))
        let mt = (m + mb - 1) / mb, nt = (cols + nb - 1) / nb
        let rows = self.rows, cols = self.cols
        Parallel.forEach(mt * nt, cost: 2 * min(m, mb) * min(cols, nb) * rows) { t in
            let i0 = (t % mt) * mb, c0 = (t / mt) * nb
            let mi = min(mb, m - i0), n = min(nb, cols - c0)
            let c = y + i0 * ldy + c0
            guard rows > 0 else {
                if !accumulate { for i in 0..<mi { (c + i * ldy).update(repeating: 0, count: n) } }
                return
            }
            switch storage {
            case .f32(let w):
                BLAS.sgemm(m: mi, n: n, k: rows, a: x + i0 * lda, lda: lda, b: w + c0, ldb: cols,
                           beta: accumulate ? 1 : 0, c: c, ldc: ldy)
            case .bf16(let w), .f16(let w):
                let block = FloatBuffer(uninitializedCount: rows * n), isBF16 = isBFloat16
                for r in 0..<rows {
                    let src = w + r * cols + c0, dst = block.pointer + r * n
                    if isBF16 {
                        for j in 0..<n { dst[j] = DTypeConversion.float(bf16: src[j]) }
                    } else {
                        for j in 0..<n { dst[j] = DTypeConversion.float(f16: src[j]) }
                    }
                }
                BLAS.sgemm(m: mi, n: n, k: rows, a: x + i0 * lda, lda: lda, b: block.pointer, ldb: n,
                           beta: accumulate ? 1 : 0, c: c, ldc: ldy)
            case .panels(let w):
                // Panels hold `panel` rows term-major: row r, column k at (r / panel) * panel * cols + k * panel + r % panel.
                let block = FloatBuffer(uninitializedCount: rows * n), np = Self.panel
                for r in 0..<rows {
                    let src = w + (r / np) * np * cols + r % np, dst = block.pointer + r * n
                    for j in 0..<n { dst[j] = src[(c0 + j) * np] }
                }
                BLAS.sgemm(m: mi, n: n, k: rows, a: x + i0 * lda, lda: lda, b: block.pointer, ldb: n,
                           beta: accumulate ? 1 : 0, c: c, ldc: ldy)
            }
        }
    }

    private var isBFloat16: Bool { if case .bf16 = storage { return true } else { return false } }

    /// The size of the fewest near-equal parts of `n` of at most `most`, rounded up to a multiple of 16.
    private static func tile(_ n: Int, most: Int) -> Int {
        let parts = max(1, (n + most - 1) / most)
        return min(most, ((n + parts - 1) / parts + 15) / 16 * 16)
    }
}
