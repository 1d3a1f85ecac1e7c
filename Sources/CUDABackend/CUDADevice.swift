import CCUDA
import Compute
import Foundation

/// One GPU as the backend uses it: the driver's primary context, one non-blocking stream every operation is
/// queued on (so operations run in call order and only reads wait), the cuBLASLt handle and its workspace,
/// and the compiled kernels.
final class CUDADevice: @unchecked Sendable {
    let device: CUdevice
    let context: CUcontext
    let stream: CUstream
    /// "NVIDIA H100 80GB HBM3", compute capability (9, 0), free/total memory at start.
    let name: String
    let capability: (major: Int, minor: Int)
    let kernels: KernelCache

    /// Opens the driver, the first GPU and the libraries, and compiles (or loads the cached) kernels.
    init() throws {
        try CUDALibraries.openDriver()
        try CUDAError.check(steer_cuInit(0), "cuInit")
        var count: Int32 = 0
        try CUDAError.check(steer_cuDeviceGetCount(&count), "cuDeviceGetCount")
        guard count > 0 else { throw ComputeError.unavailable(backend: "cuda", reason: "the CUDA driver sees no GPU") }
        try CUDALibraries.openLibraries()
        var dev: CUdevice = 0
        try CUDAError.check(steer_cuDeviceGet(&dev, 0), "cuDeviceGet(0)")
        device = dev
        var nameBuffer = [CChar](repeating: 0, count: 256)
        try CUDAError.check(steer_cuDeviceGetName(&nameBuffer, Int32(nameBuffer.count), dev), "cuDeviceGetName")
        name = String(decoding: nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var major: Int32 = 0, minor: Int32 = 0
        try CUDAError.check(steer_cuDeviceGetAttribute(&major, Int32(STEER_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), dev),
                            "cuDeviceGetAttribute(compute capability)")
        try CUDAError.check(steer_cuDeviceGetAttribute(&minor, Int32(STEER_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), dev),
                            "cuDeviceGetAttribute(compute capability)")
        capability = (Int(major), Int(minor))
        var ctx: CUcontext?
        try CUDAError.check(steer_cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain")
        guard let ctx else { throw CUDAError.driver(call: "cuDevicePrimaryCtxRetain", message: "no context") }
        context = ctx
        try CUDAError.check(steer_cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        var s: CUstream?
        try CUDAError.check(steer_cuStreamCreate(&s, UInt32(STEER_CU_STREAM_NON_BLOCKING)), "cuStreamCreate")
        guard let s else { throw CUDAError.driver(call: "cuStreamCreate", message: "no stream") }
        stream = s
        // Freed blocks stay in the stream-ordered pool across synchronizations (the default threshold of 0
        // hands them back to the system at every read, and the next allocation pays for it again).
        var pool: CUmemoryPool?
        try CUDAError.check(steer_cuDeviceGetDefaultMemPool(&pool, dev), "cuDeviceGetDefaultMemPool")
        var keep = UInt64.max
        try CUDAError.check(steer_cuMemPoolSetAttribute(pool, Int32(STEER_CU_MEMPOOL_ATTR_RELEASE_THRESHOLD), &keep),
                            "cuMemPoolSetAttribute(release threshold)")
        kernels = try KernelCache(capability: capability)
    }

    /// Makes the context current on the calling thread (the driver keeps it per thread).
    func enter() throws { try CUDAError.check(steer_cuCtxSetCurrent(context), "cuCtxSetCurrent") }

    /// `bytes` of device memory, stream-ordered (freed by `free` on the same stream).
    func allocate(_ bytes: Int, for what: @autoclosure () -> String) throws -> CUdeviceptr {
        var p: CUdeviceptr = 0
        try CUDAError.check(steer_cuMemAllocAsync(&p, max(bytes, 4), stream), "cuMemAllocAsync(\(bytes) bytes for \(what()))")
        return p
    }

    func free(_ p: CUdeviceptr) {
        guard p != 0 else { return }
        _ = steer_cuCtxSetCurrent(context)
        _ = steer_cuMemFreeAsync(p, stream)
    }

    func upload(_ source: UnsafeRawPointer, bytes: Int, to p: CUdeviceptr) throws {
        guard bytes > 0 else { return }
        try CUDAError.check(steer_cuMemcpyHtoDAsync(p, source, bytes, stream), "cuMemcpyHtoDAsync(\(bytes) bytes)")
    }

    /// Copies to the host and waits for everything queued before.
    func download(_ p: CUdeviceptr, bytes: Int, into destination: UnsafeMutableRawPointer) throws {
        if bytes > 0 { try CUDAError.check(steer_cuMemcpyDtoHAsync(destination, p, bytes, stream), "cuMemcpyDtoHAsync(\(bytes) bytes)") }
        try synchronize()
    }

    func copy(_ source: CUdeviceptr, to destination: CUdeviceptr, bytes: Int) throws {
        guard bytes > 0 else { return }
        try CUDAError.check(steer_cuMemcpyDtoDAsync(destination, source, bytes, stream), "cuMemcpyDtoDAsync(\(bytes) bytes)")
    }

    func zero(_ p: CUdeviceptr, bytes: Int) throws {
        guard bytes > 0 else { return }
        try CUDAError.check(steer_cuMemsetD8Async(p, 0, bytes, stream), "cuMemsetD8Async(\(bytes) bytes)")
    }

    func synchronize() throws { try CUDAError.check(steer_cuStreamSynchronize(stream), "cuStreamSynchronize") }

    /// Free and total device memory in bytes.
    func memory() throws -> (free: Int, total: Int) {
        var f = 0, t = 0
        try CUDAError.check(steer_cuMemGetInfo(&f, &t), "cuMemGetInfo")
        return (f, t)
    }
}
