import CPUKernels
import Foundation
import ModelFormats

/// A weight matrix `W[rows × cols]` (rows = output features, cols = input features, as in
/// `torch.nn.Linear.weight`): mapped or owned Float32 rows, mapped 16-bit rows converted on use, or
/// owned Float32 panels (`STEER_PANEL` rows stored term-major, the layout the product kernels read;
/// rows padded to a whole panel with zeros). `owner` keeps the memory alive.
final class Matrix: @unchecked Sendable {
    enum Storage {
        case f32(UnsafePointer<Float>)
        case bf16(UnsafePointer<UInt16>)
        case f16(UnsafePointer<UInt16>)
        case panels(UnsafePointer<Float>)
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

    /// An owned Float32 matrix, row-major.
    convenience init(rows: Int, cols: Int, buffer: FloatBuffer) {
        precondition(buffer.count == rows * cols, "Matrix: buffer size does not match shape")
        self.init(rows: rows, cols: cols, storage: .f32(UnsafePointer(buffer.pointer)), owner: buffer)
    }

    /// Rows per panel.
    static let panel = Int(STEER_PANEL)

    /// Whether converted matrices are kept as panels: where the own product kernels run (AVX2 and up).
    static var panelsSupported: Bool { KernelLevel.supported >= .avx2 }

    /// An owned panel matrix from row-major values of `dtype` at `source` (aligned for the dtype),
    /// converted on the pool, one panel per item.
    static func panels(rows: Int, cols: Int, dtype: DType, source: UnsafeRawPointer) -> Matrix {
        let count = (rows + panel - 1) / panel
        let buffer = FloatBuffer(uninitializedCount: count * panel * cols)
        let kind = steerType(dtype)
        Parallel.forEach(count, cost: panel * cols) { p in
            steer_pack_panels(kind, source, cols, rows, 0, cols, p, p + 1, buffer.pointer + p * panel * cols)
        }
        return Matrix(rows: rows, cols: cols, storage: .panels(UnsafePointer(buffer.pointer)), owner: buffer)
    }

    static func steerType(_ dtype: DType) -> steer_dtype {
        switch dtype { case .f32: return STEER_F32; case .bf16: return STEER_BF16; case .f16: return STEER_F16 }
    }

    /// Float32 storage this matrix allocated itself (not a view into a mapped file).
    var isOwnedFloat32: Bool {
        switch storage {
        case .f32: return owner is FloatBuffer
        case .panels: return true
        case .bf16, .f16: return false
        }
    }

    /// The row-major storage for the C kernels (nil for panels).
    var rowMajor: (dtype: steer_dtype, base: UnsafeRawPointer, size: Int)? {
        switch storage {
        case .f32(let p): return (STEER_F32, UnsafeRawPointer(p), 4)
        case .bf16(let p): return (STEER_BF16, UnsafeRawPointer(p), 2)
        case .f16(let p): return (STEER_F16, UnsafeRawPointer(p), 2)
        case .panels: return nil
        }
    }

    /// Rows `first ..< first + count` as Float32 into `out` (`count × cols`), exactly.
    func rows(_ first: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        if let (dtype, base, size) = rowMajor {
            steer_widen(dtype, base + first * cols * size, out, count * cols)
        } else if case .panels(let p) = storage {
            let n = Self.panel
            for r in first..<(first + count) {
                let src = p + (r / n) * n * cols + r % n, dst = out + (r - first) * cols
                for k in 0..<cols { dst[k] = src[k * n] }
            }
        }
    }

    /// Row `r` as Float32 into `out[0..<cols]`.
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) { rows(r, count: 1, into: out) }
}

extension Matrix {
    /// The rows of `parts` stacked, when there are several parts, all owned Float32 with equal columns
    /// (converted from a 16-bit file): one wider matrix product instead of several, at no extra memory
    /// once the parts are dropped. Mapped Float32 parts are not joined (joining would copy them).
    static func joined(_ parts: [Matrix]) -> Matrix? {
        guard parts.count > 1, let cols = parts.first?.cols, parts.allSatisfy({ $0.cols == cols && $0.isOwnedFloat32 }) else { return nil }
        let rows = parts.reduce(0) { $0 + $1.rows }
        guard parts.allSatisfy({ if case .panels = $0.storage { return true } else { return false } }) else {
            let buffer = FloatBuffer(uninitializedCount: rows * cols)
            var r = 0
            for part in parts {
                part.rows(0, count: part.rows, into: buffer.pointer + r * cols)
                r += part.rows
            }
            return Matrix(rows: rows, cols: cols, buffer: buffer)
        }
        let n = panel, buffer = FloatBuffer(uninitializedCount: (rows + n - 1) / n * n * cols)
        var r = 0
        for part in parts {
            guard case .panels(let src) = part.storage else { return nil }
            if r % n == 0 {
                // Whole panels line up: copy them (a partial last panel brings its zero rows along).
                (buffer.pointer + r * cols).update(from: src, count: (part.rows + n - 1) / n * n * cols)
            } else {
                for i in 0..<part.rows {
                    let s = src + (i / n) * n * cols + i % n, t = r + i, d = buffer.pointer + (t / n) * n * cols + t % n
                    for k in 0..<cols { d[k * n] = s[k * n] }
                }
            }
            r += part.rows
        }
        // Rows past the end of the last panel are zeros (the kernels compute them, callers never see them).
        for t in rows..<((rows + n - 1) / n * n) {
            let d = buffer.pointer + (t / n) * n * cols + t % n
            for k in 0..<cols { d[k * n] = 0 }
        }
        return Matrix(rows: rows, cols: cols, storage: .panels(UnsafePointer(buffer.pointer)), owner: buffer)
    }
}
