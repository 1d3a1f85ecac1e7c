import Foundation
import ModelFormats

/// A tensor in host memory (64-byte aligned, not zero-filled).
final class CPUTensor: Tensor, @unchecked Sendable {
    let buffer: FloatBuffer
    var pointer: UnsafeMutablePointer<Float> { buffer.pointer }

    override init(rows: Int, cols: Int) {
        buffer = FloatBuffer(uninitializedCount: rows * cols)
        super.init(rows: rows, cols: cols)
    }
}

/// A weight as a `Matrix` (mapped or owned Float32 rows, owned Float32 panels, or mapped 16-bit
/// converted on use).
final class CPUWeight: Weight, @unchecked Sendable {
    let matrix: Matrix

    init(name: String, matrix: Matrix) {
        self.matrix = matrix
        let dtype: DType
        switch matrix.storage { case .f32, .panels: dtype = .f32; case .bf16: dtype = .bf16; case .f16: dtype = .f16 }
        super.init(name: name, rows: matrix.rows, cols: matrix.cols, dtype: dtype)
    }

    /// The values of a Float32 weight (vectors are always held as Float32).
    var vector: UnsafePointer<Float> {
        if case .f32(let p) = matrix.storage { return p }
        preconditionFailure("CPUWeight \(name): a 16-bit matrix used as a vector")
    }
}

/// Keys and values per layer, `slots × kvDim` Float32 each.
final class CPUKVStore: KVStore, @unchecked Sendable {
    let keys: [FloatBuffer]
    let values: [FloatBuffer]

    override init(layers: Int, slots: Int, kvDim: Int) {
        keys = (0..<layers).map { _ in FloatBuffer(uninitializedCount: slots * kvDim) }
        values = (0..<layers).map { _ in FloatBuffer(uninitializedCount: slots * kvDim) }
        super.init(layers: layers, slots: slots, kvDim: kvDim)
    }
}

/// Float64 sums.
final class CPUAccumulator: Accumulator, @unchecked Sendable {
    var storage: [Double]
    var sums: [Double] { storage }

    override init(rows: Int, cols: Int) {
        storage = [Double](repeating: 0, count: rows * cols)
        super.init(rows: rows, cols: cols)
    }
}

/// cos/sin tables, `count × rotaryDim/2` each.
final class CPURoPETables: RoPETables, @unchecked Sendable {
    let cos: FloatBuffer
    let sin: FloatBuffer

    init(count: Int, rotaryDim: Int, cos: FloatBuffer, sin: FloatBuffer) {
        self.cos = cos; self.sin = sin
        super.init(count: count, rotaryDim: rotaryDim)
    }
}

/// Owned, aligned 16-bit storage for a tensor whose file offset is odd.
final class HalfCopy {
    let pointer: UnsafeMutablePointer<UInt16>

    init(_ bytes: UnsafeRawBufferPointer, count: Int) {
        pointer = .allocate(capacity: max(1, count))
        if let base = bytes.baseAddress { UnsafeMutableRawPointer(pointer).copyMemory(from: base, byteCount: count * 2) }
    }

    deinit { pointer.deallocate() }
}
