import CCUDA
import Foundation

/// The kernel module loaded into the context, and its functions by name.
final class KernelCache: @unchecked Sendable {
    private let module: CUmodule
    private var functions: [String: CUfunction] = [:]
    private let lock = NSLock()

    init(capability: (major: Int, minor: Int)) throws {
        let binary = try KernelCompiler.cubin(major: capability.major, minor: capability.minor)
        var m: CUmodule?
        try binary.withUnsafeBytes { b in
            try b.baseAddress.map { try CUDAError.check(steer_cuModuleLoadData(&m, $0), "cuModuleLoadData(Steer's kernels)") }
        }
        guard let m else { throw CUDAError.driver(call: "cuModuleLoadData", message: "no module") }
        module = m
    }

    /// The kernel `name` (an `extern "C"` function of `KernelSource`).
    func function(_ name: String) throws -> CUfunction {
        lock.lock(); defer { lock.unlock() }
        if let f = functions[name] { return f }
        var f: CUfunction?
        try CUDAError.check(steer_cuModuleGetFunction(&f, module, name), "cuModuleGetFunction(\(name))")
        guard let f else { throw CUDAError.driver(call: "cuModuleGetFunction(\(name))", message: "no function") }
        functions[name] = f
        return f
    }
}
