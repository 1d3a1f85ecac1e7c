import CPUKernels
import Foundation

extension Matrix {
    /// Input rows up to which row-major weights run the matrix-vector kernel (each weight read once for
    /// all of them, widened in registers); above it, blocks are packed into panels per call.
    static let gemvRows = 16

    /// `y[m × ldy][:, 0..<rows] = x[m × cols] · Wᵀ` (x rows `lda` apart, written at `y`, row stride `ldy`),
    /// optionally `+ bias`.
    ///
    /// The work is split into blocks of weight rows (and, for many input rows, of input rows) whose
    /// sizes follow from the shapes alone, each one single-threaded kernel call on the backend's pool.
    /// Panels (converted weights) run `steer_panel_product` for any number of rows: every element a sum
    /// in one fixed order, so the same bits whatever the blocks, the batch around a row, the thread
    /// count or the instruction set. Row-major weights (mapped Float32, kept 16-bit) run the
    /// matrix-vector kernel for up to `gemvRows` rows (memory-bound, each weight read once) and
    /// `steer_gemm` above; without AVX2 (or on Apple's CPUs) those blocks go to the system BLAS.
    func apply(_ x: UnsafePointer<Float>, m: Int, lda: Int? = nil, into y: UnsafeMutablePointer<Float>, ldy: Int,
               bias: UnsafePointer<Float>? = nil) {
        guard m > 0, rows > 0 else { return }
        let lda = lda ?? cols
        if case .panels(let p) = storage {
            applyPanels(p, x, m: m, lda: lda, into: y, ldy: ldy)
        } else if let (dtype, base, size) = rowMajor {
            if m <= Self.gemvRows {
                Self.applyGEMV([self], [(dtype, base, size)], x, m: m, lda: lda, into: y, ldy: ldy)
            } else {
                applyGEMM(dtype, base, size, x, m: m, lda: lda, into: y, ldy: ldy)
            }
        }
        if let bias {
            for i in 0..<m { Kernels.add(bias, into: y + i * ldy, rows) }
        }
    }

    /// `apply` of each matrix in turn, written side by side from `y` on. Row-major matrices within
    /// `gemvRows` rows run all their matrix-vector blocks in one parallel loop (the same blocks and
    /// kernel calls as one by one, so the same bits).
    static func apply(_ parts: [Matrix], _ x: UnsafePointer<Float>, m: Int, lda: Int, into y: UnsafeMutablePointer<Float>,
                      ldy: Int) {
        let rowMajor = parts.compactMap(\.rowMajor)
        guard m > 0, m <= gemvRows, rowMajor.count == parts.count else {
            var column = 0
            for p in parts {
                p.apply(x, m: m, lda: lda, into: y + column, ldy: ldy)
                column += p.rows
            }
            return
        }
        applyGEMV(parts, rowMajor, x, m: m, lda: lda, into: y, ldy: ldy)
    }

    /// The matrix-vector kernel over blocks of `gemvBlock` weight rows of every part (`rowMajor[i]` is
    /// part i's storage), parts side by side from `y` on, all blocks in one parallel loop.
    private static func applyGEMV(_ parts: [Matrix], _ rowMajor: [(dtype: steer_dtype, base: UnsafeRawPointer, size: Int)],
                                  _ x: UnsafePointer<Float>, m: Int, lda: Int, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        // (part, first row, end row, first output column) of every block.
        var blocks: [(Int, Int, Int, Int)] = []
        var column = 0, cost = 0
        for (i, p) in parts.enumerated() {
            let block = gemvBlock(cols: p.cols, size: rowMajor[i].size)
            for r in stride(from: 0, to: p.rows, by: block) { blocks.append((i, r, min(p.rows, r + block), column)) }
            column += p.rows
            cost += p.rows * p.cols * m
        }
        blocks.withUnsafeBufferPointer { list in
            rowMajor.withUnsafeBufferPointer { mats in
                Parallel.forEach(list.count, cost: cost / max(1, list.count)) { b in
                    let (i, r0, r1, c) = list[b], mat = mats[i]
                    steer_gemv(mat.dtype, mat.base, parts[i].cols, r0, r1, x, m, lda, y + c, ldy)
                }
            }
        }
    }

    private func applyPanels(_ p: UnsafePointer<Float>, _ x: UnsafePointer<Float>, m: Int, lda: Int,
                             into y: UnsafeMutablePointer<Float>, ldy: Int) {
        let (mb, nb) = Self.tiles(m: m, rows: rows)
        let np = nb / Self.panel, panels = (rows + Self.panel - 1) / Self.panel
        let mt = (m + mb - 1) / mb, nt = (panels + np - 1) / np
        let cols = self.cols, rows = self.rows
        Parallel.forEach(mt * nt, cost: 2 * min(m, mb) * nb * cols) { t in
            let i0 = (t % mt) * mb, p0 = (t / mt) * np
            steer_panel_product(p, cols, rows, p0, min(panels, p0 + np), x + i0 * lda, lda, min(mb, m - i0), y + i0 * ldy, ldy)
        }
    }

    private func applyGEMM(_ dtype: steer_dtype, _ base: UnsafeRawPointer, _ size: Int, _ x: UnsafePointer<Float>, m: Int,
                           lda: Int, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        let (mb, nb) = Self.tiles(m: m, rows: rows)
        let mt = (m + mb - 1) / mb, nt = (rows + nb - 1) / nb
        let own = Self.ownProducts, cols = self.cols, rows = self.rows
        Parallel.forEach(mt * nt, cost: 2 * min(m, mb) * nb * cols) { t in
            // Weight-row blocks outermost: consecutive items of one thread tend to share a block.
            let i0 = (t % mt) * mb, r0 = (t / mt) * nb
            let mi = min(mb, m - i0), n = min(nb, rows - r0)
            let w = base + r0 * cols * size, xi = x + i0 * lda, yi = y + i0 * ldy + r0
            if own {
                steer_gemm(dtype, w, cols, n, cols, xi, lda, mi, yi, ldy, ThreadScratch.floats(steer_gemm_scratch_floats(n)))
            } else if dtype == STEER_F32 {
                BLAS.sgemm(transB: true, m: mi, n: n, k: cols, a: xi, lda: lda, b: w.assumingMemoryBound(to: Float.self),
                           ldb: cols, c: yi, ldc: ldy)
            } else {
                let tmp = ThreadScratch.floats(n * cols)
                steer_widen(dtype, w, tmp, n * cols)
                BLAS.sgemm(transB: true, m: mi, n: n, k: cols, a: xi, lda: lda, b: tmp, ldb: cols, c: yi, ldc: ldy)
            }
        }
    }

    /// Whether row-major products of many rows run Steer's own kernel (AVX2 or AVX-512;
    /// `STEER_GEMM=blas` forces the system BLAS, for comparing the two) rather than the system BLAS.
    static var ownProducts: Bool { KernelLevel.current >= .avx2 && !blasRequested }

    private static let blasRequested = ProcessInfo.processInfo.environment["STEER_GEMM"] == "blas"

    /// Weight rows per block of the matrix-vector kernel: about 256 KiB of weights (longer streams per item
    /// and fewer hand-offs than 64 KiB: bf16 batch-1 decode of the 0.5B shape 6–11% faster).
    static func gemvBlock(cols: Int, size: Int) -> Int {
        min(256, max(8, (262_144 / max(1, cols * size)) / 8 * 8))
    }

    /// Input rows × weight rows of one product block. Many input rows: at most 512 × 256, cut into
    /// near-equal parts (equal items balance over the pool), large enough that repacking costs little.
    /// Few input rows (a decode batch, the last positions of prompts): one input block, 1–2 panels of
    /// weight rows per item, since each item then streams its weights from memory once.
    static func tiles(m: Int, rows: Int) -> (m: Int, n: Int) {
        if m <= 64 { return (m, rows > 8 * 64 ? 64 : panel) }
        return (evenParts(m, most: 512, multiple: 16), evenParts(rows, most: 256, multiple: panel))
    }

    /// The size of the fewest near-equal parts of `n` of at most `most`, rounded up to `multiple`.
    static func evenParts(_ n: Int, most: Int, multiple: Int) -> Int {
        let parts = max(1, (n + most - 1) / most)
        return min(most, ((n + parts - 1) / parts + multiple - 1) / multiple * multiple)
    }
}
