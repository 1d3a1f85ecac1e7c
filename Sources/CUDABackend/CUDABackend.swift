import CCUDA
import Compute
import Foundation
import ModelFormats

/// The CUDA backend: tensors, weights, key/value stores and accumulators in GPU memory, every operation a
/// kernel of `KernelSource` (compiled with NVRTC at first use) or a cuBLASLt product, queued in call order on
/// one stream; only `read` waits. Nothing CUDA is needed to build Steer: the driver, cuBLASLt and NVRTC are
/// opened at run time, and `init` throws `ComputeError.unavailable` naming what is missing.
///
/// Precision. Weights stay in their stored dtype when `keepHalf` (BF16/F16), else Float32. In fidelity mode
/// (the default) every product is Float32 (`CUBLAS_COMPUTE_32F`, no TF32; 16-bit weights are widened to
/// Float32 first), as the CPU backend computes. With `fidelity = false`, products with 16-bit weights take
/// 16-bit activations (BF16/F16 inputs, Float32 accumulate) and Float32 weights may use TF32.
///
/// Failures. The protocol's operations do not throw; a CUDA error inside one (out of memory, a faulted
/// kernel) is passed to `onFailure`, which by default prints the failed call and exits with status 1: the
/// device state is lost at that point, and no result is better than a wrong one.
public final class CUDABackend: ComputeBackend, @unchecked Sendable {
    public let name = "cuda"
    /// Streams are not split per call; kept for the protocol (`jobs` runs jobs one after another).
    public var threads = 1
    /// Float32 products throughout (see the type's comment).
    public var fidelity: Bool
    /// Called with the error of a failed operation.
    public var onFailure: (Error) -> Never = { error in
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
    let device: CUDADevice
    let matmul: Matmul

    /// Opens the first GPU. Throws `ComputeError.unavailable` ("no CUDA driver found (libcuda.so.1: …)", a
    /// missing cuBLASLt or NVRTC, no GPU) or a `CUDAError` (a failed call, kernels that do not compile).
    public init(fidelity: Bool = true) throws {
        self.fidelity = fidelity
        device = try CUDADevice()
        matmul = try Matmul(device: device)
    }

    /// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)".
    public var deviceDescription: String {
        let total = (try? device.memory().total) ?? 0
        return "\(device.name) (sm_\(device.capability.major)\(device.capability.minor), "
            + String(format: "%.1f GiB)", Double(total) / 1_073_741_824)
    }

    /// Runs an operation's device calls, handing any error to `onFailure`.
    func run(_ body: () throws -> Void) {
        do { try device.enter(); try body() } catch { onFailure(error) }
    }

    func buffer(_ bytes: Int, _ what: @autoclosure () -> String) -> DeviceBuffer {
        do { try device.enter(); return try DeviceBuffer(device, bytes: bytes, for: what()) } catch { onFailure(error) }
    }

    // MARK: Memory

    public func tensor(rows: Int, cols: Int) -> Tensor {
        CUDATensor(rows: rows, cols: cols, buffer: buffer(rows * cols * 4, "a \(rows) × \(cols) tensor"))
    }

    public func upload(_ values: UnsafeBufferPointer<Float>, rows: Int, cols: Int) -> Tensor {
        let t = CUDATensor(rows: rows, cols: cols, buffer: buffer(rows * cols * 4, "a \(rows) × \(cols) tensor"))
        run { try values.baseAddress.map { try device.upload($0, bytes: min(values.count, rows * cols) * 4, to: t.buffer.pointer) } }
        return t
    }

    public func read(_ t: Tensor, rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        run { try device.download(cuda(t).at(rows.lowerBound), bytes: rows.count * t.cols * 4, into: out) }
    }

    public func write(_ values: UnsafePointer<Float>, rows: Range<Int>, of t: Tensor) {
        run { try device.upload(values, bytes: rows.count * t.cols * 4, to: cuda(t).at(rows.lowerBound)) }
    }

    public func weight(_ data: WeightData, keepHalf: Bool) throws -> Weight {
        let n = data.rows * data.cols
        guard data.bytes.count >= n * data.dtype.byteSize, let base = data.bytes.baseAddress else {
            throw ComputeError.badWeight(name: data.name, reason: "\(data.bytes.count) bytes for \(data.rows) × \(data.cols) \(data.dtype)")
        }
        try device.enter()
        // 16-bit matrices stay 16-bit when asked; vectors (norms, biases) and everything else become Float32.
        if keepHalf && data.rows > 1 && data.dtype != .f32 {
            let b = try DeviceBuffer(device, bytes: n * 2, for: "weight \(data.name)")
            try device.upload(base, bytes: n * 2, to: b.pointer)
            return CUDAWeight(name: data.name, rows: data.rows, cols: data.cols, dtype: data.dtype, buffer: b)
        }
        var floats = [Float](repeating: 0, count: n)
        floats.withUnsafeMutableBufferPointer { f in
            f.baseAddress.map { DTypeConversion.toFloats(base, dtype: data.dtype, count: n, into: $0) }
        }
        let b = try DeviceBuffer(device, bytes: n * 4, for: "weight \(data.name)")
        try floats.withUnsafeBytes { f in try f.baseAddress.map { try device.upload($0, bytes: n * 4, to: b.pointer) } }
        // The host copy may go only once the upload has left it (pageable copies are staged, but be explicit).
        try device.synchronize()
        return CUDAWeight(name: data.name, rows: data.rows, cols: data.cols, dtype: .f32, buffer: b)
    }

    /// Not joined: callers keep the parts (a joined copy would hold the weights twice while the parts live).
    public func joined(_ parts: [Weight]) -> Weight? { nil }

    public func kvStore(layers: Int, slots: Int, kvDim: Int) -> KVStore {
        CUDAKVStore(layers: layers, slots: slots, kvDim: kvDim,
                    buffer: buffer(2 * layers * slots * kvDim * 4, "a key/value store of \(layers) layers × \(slots) slots"))
    }

    public func copySlots(from: KVStore, slots: Range<Int>, to: KVStore, at: Int) {
        let a = cuda(from), b = cuda(to), d = a.kvDim * 4
        run {
            for l in 0..<min(a.layers, b.layers) {
                try device.copy(a.keys(l) + CUdeviceptr(slots.lowerBound * d), to: b.keys(l) + CUdeviceptr(at * d), bytes: slots.count * d)
                try device.copy(a.values(l) + CUdeviceptr(slots.lowerBound * d), to: b.values(l) + CUdeviceptr(at * d), bytes: slots.count * d)
            }
        }
    }

    public func accumulator(rows: Int, cols: Int) -> Accumulator {
        let acc = CUDAAccumulator(rows: rows, cols: cols, buffer: buffer(rows * cols * 8, "a \(rows) × \(cols) accumulator"))
        run { try device.zero(acc.buffer.pointer, bytes: rows * cols * 8) }
        return acc
    }

    public func read(_ acc: Accumulator) -> [Double] {
        var sums = [Double](repeating: 0, count: acc.rows * acc.cols)
        run {
            try sums.withUnsafeMutableBytes { s in
                try s.baseAddress.map { try device.download(cuda(acc).buffer.pointer, bytes: s.count, into: $0) }
            }
        }
        return sums
    }

    // MARK: Work

    /// Runs the jobs one after another (one stream); after the first error no further job starts.
    public func jobs(_ count: Int, _ job: (Int) throws -> Void) throws {
        for i in 0..<count { try job(i) }
    }

    // Handles made by this backend (a handle from another backend is a programming error).
    @inline(__always) func cuda(_ t: Tensor) -> CUDATensor { unsafeDowncast(t, to: CUDATensor.self) }
    @inline(__always) func cuda(_ w: Weight) -> CUDAWeight { unsafeDowncast(w, to: CUDAWeight.self) }
    @inline(__always) func cuda(_ s: KVStore) -> CUDAKVStore { unsafeDowncast(s, to: CUDAKVStore.self) }
    @inline(__always) func cuda(_ a: Accumulator) -> CUDAAccumulator { unsafeDowncast(a, to: CUDAAccumulator.self) }
    @inline(__always) func cuda(_ r: RoPETables) -> CUDARoPETables { unsafeDowncast(r, to: CUDARoPETables.self) }
}
