import CCUDA
import Compute
import Foundation
import ModelFormats

/// Device memory that is freed (stream-ordered, after the work queued before) when the last handle goes.
final class DeviceBuffer: @unchecked Sendable {
    let pointer: CUdeviceptr
    let bytes: Int
    private let device: CUDADevice

    init(_ device: CUDADevice, bytes: Int, for what: @autoclosure () -> String) throws {
        self.device = device; self.bytes = bytes
        pointer = try device.allocate(bytes, for: what())
    }

    deinit { device.free(pointer) }

    /// The address `offset` bytes in.
    func at(_ offset: Int) -> CUdeviceptr { pointer + CUdeviceptr(offset) }
}

/// Row-major Float32 activations in device memory.
final class CUDATensor: Tensor, @unchecked Sendable {
    let buffer: DeviceBuffer
    init(rows: Int, cols: Int, buffer: DeviceBuffer) {
        self.buffer = buffer
        super.init(rows: rows, cols: cols)
    }
    /// The address of element (row, column).
    func at(_ row: Int, _ column: Int = 0) -> CUdeviceptr { buffer.at((row * cols + column) * 4) }
}

/// A weight on the device: Float32, or BF16/F16 as stored in the file.
final class CUDAWeight: Weight, @unchecked Sendable {
    let buffer: DeviceBuffer
    init(name: String, rows: Int, cols: Int, dtype: DType, buffer: DeviceBuffer) {
        self.buffer = buffer
        super.init(name: name, rows: rows, cols: cols, dtype: dtype)
    }
    /// The dtype code of the kernels (`load_any`): 0 F32, 1 BF16, 2 F16.
    var kernelDType: Int { dtype == .bf16 ? 1 : dtype == .f16 ? 2 : 0 }
}

/// Keys then values of every layer in one allocation: `[2][layers][slots][kvDim]` Float32.
final class CUDAKVStore: KVStore, @unchecked Sendable {
    let buffer: DeviceBuffer
    init(layers: Int, slots: Int, kvDim: Int, buffer: DeviceBuffer) {
        self.buffer = buffer
        super.init(layers: layers, slots: slots, kvDim: kvDim)
    }
    func keys(_ layer: Int) -> CUdeviceptr { buffer.at(layer * slots * kvDim * 4) }
    func values(_ layer: Int) -> CUdeviceptr { buffer.at(((layers + layer) * slots * kvDim) * 4) }
}

/// Float64 sums on the device.
final class CUDAAccumulator: Accumulator, @unchecked Sendable {
    let buffer: DeviceBuffer
    init(rows: Int, cols: Int, buffer: DeviceBuffer) {
        self.buffer = buffer
        super.init(rows: rows, cols: cols)
    }
}

/// cos/sin tables on the device, `count × rotaryDim/2` each.
final class CUDARoPETables: RoPETables, @unchecked Sendable {
    let cos: DeviceBuffer
    let sin: DeviceBuffer
    init(count: Int, rotaryDim: Int, cos: DeviceBuffer, sin: DeviceBuffer) {
        self.cos = cos; self.sin = sin
        super.init(count: count, rotaryDim: rotaryDim)
    }
}
