import CCUDA
import Compute
import Foundation

/// Failures of the CUDA backend at run time, naming the call that failed. (Missing drivers and libraries
/// are `ComputeError.unavailable`, thrown when the backend is created.)
public enum CUDAError: Error, CustomStringConvertible, Equatable {
    /// A driver call failed: the call (and what it was for) and the driver's error name and text.
    case driver(call: String, message: String)
    /// A cuBLASLt call failed or found no algorithm for a product.
    case cublas(call: String, status: Int32)
    /// NVRTC could not compile the kernels: its log.
    case compile(String)
    /// A shape or argument the kernels do not handle (e.g. head_dim > 256).
    case unsupported(String)

    public var description: String {
        switch self {
        case let .driver(call, message): return "CUDA \(call) failed: \(message)"
        case let .cublas(call, status): return "cuBLASLt \(call) failed with status \(status)"
        case .compile(let log): return "NVRTC could not compile Steer's kernels:\n\(log)"
        case .unsupported(let what): return "the CUDA backend does not support \(what)"
        }
    }

    /// Throws `.driver` unless `result` is CUDA_SUCCESS.
    static func check(_ result: CUresult, _ call: @autoclosure () -> String) throws {
        guard result != 0 else { return }
        var buffer = [CChar](repeating: 0, count: 512)
        steer_cuda_describe(result, &buffer, buffer.count)
        throw CUDAError.driver(call: call(), message: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Throws `.cublas` unless `status` is CUBLAS_STATUS_SUCCESS.
    static func checkBLAS(_ status: cublasStatus_t, _ call: @autoclosure () -> String) throws {
        if status != 0 { throw CUDAError.cublas(call: call(), status: status) }
    }
}

/// The libraries behind the backend, opened with dlopen (see `CCUDA`).
enum CUDALibraries {
    /// Where to look first for cuBLASLt and NVRTC (`STEER_CUDA_LIBS`, e.g. the `nvidia/cu13/lib` folder of
    /// the PyPI wheels); the loader's search path after that.
    static var directory: String? { ProcessInfo.processInfo.environment["STEER_CUDA_LIBS"] }

    /// Opens the driver; `ComputeError.unavailable` naming libcuda.so.1 when there is none.
    static func openDriver() throws {
        try open { steer_cuda_open_driver($0, $1) }
    }

    /// Opens cuBLASLt and NVRTC; `ComputeError.unavailable` naming the library or symbol missing.
    static func openLibraries() throws {
        try open { steer_cuda_open_cublaslt(directory, $0, $1) }
        try openCompiler()
    }

    /// Opens NVRTC alone (enough to compile the kernels, which needs no GPU).
    static func openCompiler() throws {
        try open { steer_cuda_open_nvrtc(directory, $0, $1) }
    }

    private static func open(_ call: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
        var buffer = [CChar](repeating: 0, count: 2048)
        let status = buffer.withUnsafeMutableBufferPointer { b in b.baseAddress.map { call($0, b.count) } ?? -1 }
        guard status == 0 else {
            let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ComputeError.unavailable(backend: "cuda", reason: message)
        }
    }
}
