import CCUDA
import Compute
import Foundation
import ModelFormats

/// Compiles `KernelSource` with NVRTC into a CUBIN for one GPU architecture, caching the result on disk
/// under `$XDG_CACHE_HOME/steer/cuda` (or `~/.cache/steer/cuda`), keyed by a hash of the source, the
/// options and the NVRTC version, and the architecture. Needs NVRTC only, no GPU.
public enum KernelCompiler {
    /// The whole kernel module.
    public static var source: String { KernelSource.forward + "\n" + KernelSource.attention + "\n" }

    /// Options passed to NVRTC: no fused multiply-add (so products round as the CPU's do), IEEE division
    /// and square root.
    static func options(architecture: String) -> [String] {
        ["--gpu-architecture=\(architecture)", "-fmad=false", "-prec-div=true", "-prec-sqrt=true", "-default-device"]
    }

    /// The CUBIN for `sm_<major><minor>`, from the cache or compiled now (and then cached).
    public static func cubin(major: Int, minor: Int, cache: URL? = cacheDirectory) throws -> [UInt8] {
        try CUDALibraries.openCompiler()
        let arch = "sm_\(major)\(minor)"
        var vMajor: Int32 = 0, vMinor: Int32 = 0
        _ = steer_nvrtcVersion(&vMajor, &vMinor)
        let key = fnv1a(source + "\0" + options(architecture: arch).joined(separator: " ") + "\0nvrtc \(vMajor).\(vMinor)")
        let file = cache?.appendingPathComponent("kernels-\(String(key, radix: 16))-\(arch).cubin")
        if let file, let data = try? Data(contentsOf: file), !data.isEmpty { return [UInt8](data) }
        let binary = try compile(architecture: arch)
        if let cache, let file {
            // A cache that cannot be written only costs a compile next time.
            try? FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
            try? AtomicFile.write(binary, to: file)
        }
        return binary
    }

    /// Compiles the module for `architecture` (e.g. `sm_90`); `CUDAError.compile` with NVRTC's log on failure.
    static func compile(architecture: String, source: String = KernelCompiler.source) throws -> [UInt8] {
        var program: nvrtcProgram?
        try check(steer_nvrtcCreateProgram(&program, source, "steer_kernels.cu"), "nvrtcCreateProgram")
        defer { _ = steer_nvrtcDestroyProgram(&program) }
        let opts = options(architecture: architecture)
        let cStrings = opts.map { strdup($0) }
        defer { cStrings.forEach { Foundation.free($0) } }
        let pointers = cStrings.map { UnsafePointer<CChar>($0) }
        let status = pointers.withUnsafeBufferPointer { steer_nvrtcCompileProgram(program, Int32(opts.count), $0.baseAddress) }
        guard status == 0 else { throw CUDAError.compile(log(program) + "\n(\(describe(status)), options \(opts.joined(separator: " ")))") }
        var size = 0
        try check(steer_nvrtcGetCUBINSize(program, &size), "nvrtcGetCUBINSize")
        var binary = [UInt8](repeating: 0, count: size)
        try binary.withUnsafeMutableBufferPointer { b in
            try b.baseAddress.map {
                try check(steer_nvrtcGetCUBIN(program, UnsafeMutableRawPointer($0).assumingMemoryBound(to: CChar.self)), "nvrtcGetCUBIN")
            }
        }
        return binary
    }

    /// `$XDG_CACHE_HOME/steer/cuda`, else `~/.cache/steer/cuda`.
    public static var cacheDirectory: URL? {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("steer/cuda")
        }
        guard let home = env["HOME"], !home.isEmpty else { return nil }
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/steer/cuda")
    }

    private static func log(_ program: nvrtcProgram?) -> String {
        var size = 0
        guard steer_nvrtcGetProgramLogSize(program, &size) == 0, size > 1 else { return "(no log)" }
        var buffer = [CChar](repeating: 0, count: size)
        guard steer_nvrtcGetProgramLog(program, &buffer) == 0 else { return "(no log)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func describe(_ status: nvrtcResult) -> String {
        steer_nvrtcGetErrorString(status).map { String(cString: $0) } ?? "nvrtcResult \(status)"
    }

    private static func check(_ status: nvrtcResult, _ call: String) throws {
        if status != 0 { throw CUDAError.compile("\(call): \(describe(status))") }
    }

    /// 64-bit FNV-1a of the UTF-8 bytes: a cache key, not a security hash.
    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
