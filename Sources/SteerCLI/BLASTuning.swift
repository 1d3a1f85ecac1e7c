import Foundation

/// OpenBLAS picks its kernels when the library loads. The Debian build (0.3.21) does not know recent
/// AMD cores and falls back to its Haswell (AVX2) kernels on CPUs that have AVX-512, which halves the
/// sgemm rate. Steer's own kernels run every product on CPUs with AVX2, so this only matters when the
/// products are handed to OpenBLAS on purpose (`STEER_GEMM=blas`, for comparisons): then, when the CPU
/// has the AVX-512 subsets the SkylakeX kernels need and the user has not chosen a core, `steer`
/// restarts itself once with `OPENBLAS_CORETYPE=SKYLAKEX`.
public enum BLASTuning {
    static let marker = "STEER_BLAS_TUNED"

    /// Re-executes the current program with a better OpenBLAS core type when that helps; returns otherwise.
    public static func reexecIfUseful(arguments: [String]) {
        #if os(Linux)
        let env = ProcessInfo.processInfo.environment
        guard env["STEER_GEMM"] == "blas", env["OPENBLAS_CORETYPE"] == nil, env[marker] == nil, hasAVX512() else { return }
        setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 1)
        setenv(marker, "1", 1)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // execv only returns on failure: carry on with the default kernels.
        unsetenv("OPENBLAS_CORETYPE")
        #endif
    }

    /// True when /proc/cpuinfo lists every AVX-512 subset OpenBLAS's SkylakeX kernels use.
    static func hasAVX512(cpuinfo: String? = readProcFile("/proc/cpuinfo")) -> Bool {
        guard let info = cpuinfo, let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let flags = Set(line.split(separator: " ").map(String.init))
        return ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains)
    }

    /// /proc files report size 0, so read until EOF instead of by size.
    static func readProcFile(_ path: String) -> String? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        return String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
    }
}
