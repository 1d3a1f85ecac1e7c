import CPUKernels

/// The instruction set Steer's C kernels (`Sources/CPUKernels`: matrix-vector products over 16-bit
/// weights, widening, streaming reads) run at, picked once from the CPU at start-up. Lowering it is
/// for tests (every path against the same reference) and benchmarks (an AVX2 machine's kernels on
/// an AVX-512 one); the environment variable `STEER_KERNELS=avx2|baseline` does the same.
enum KernelLevel: Int, CaseIterable, Comparable {
    case baseline, avx2, avx512

    /// The best level this CPU and its operating system support.
    static var supported: KernelLevel { KernelLevel(steer_kernel_level_supported()) }

    /// The level in use; setting a level above `supported` gives `supported`.
    static var current: KernelLevel {
        get { KernelLevel(steer_kernel_level()) }
        set { steer_set_kernel_level(steer_level(rawValue: UInt32(newValue.rawValue))) }
    }

    var name: String { String(cString: steer_kernel_level_name(steer_level(rawValue: UInt32(rawValue)))) }

    /// Floats per vector of the level's kernels.
    var lanes: Int {
        switch self { case .baseline: return 4; case .avx2: return 8; case .avx512: return 16 }
    }

    static func < (a: KernelLevel, b: KernelLevel) -> Bool { a.rawValue < b.rawValue }

    private init(_ level: steer_level) { self = KernelLevel(rawValue: Int(level.rawValue)) ?? .baseline }
}
