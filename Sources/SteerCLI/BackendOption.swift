import Compute
import CUDABackend
import Foundation

/// `--backend cpu|cuda`: where a command computes. Without the option (or `STEER_BACKEND`), cuda when a
/// CUDA GPU with cuBLASLt and NVRTC can be opened, else cpu. `--backend cuda` on a machine without them
/// fails with the reason ("no CUDA driver found (libcuda.so.1: …)") and status 1. On cuda, `--weights f32`
/// (the default) is the fidelity mode: Float32 products throughout; `--weights bf16` runs BF16 products.
enum BackendOption {
    static let spec = OptionSpec("--backend", value: "cpu|cuda|auto",
                                 help: "compute backend (default: cuda when a CUDA GPU is usable, else cpu; env STEER_BACKEND)")

    /// The process's CUDA backend, opened at most once (its kernels compile or load from the cache then).
    private static let cuda = Result { try CUDABackend() }

    /// The backend the arguments choose, set up for the command's `--weights`.
    static func backend(_ args: ParsedArguments) throws -> ComputeBackend {
        let choice = try args.choice("--backend", ["cpu", "cuda", "auto"],
                                     default: ProcessInfo.processInfo.environment["STEER_BACKEND"] ?? "auto")
        let fidelity = try GenerateCommand.precision(args) == .f32
        switch choice {
        case "cpu":
            return CPUBackend.shared
        case "cuda":
            let backend = try cuda.get()
            backend.fidelity = fidelity
            return backend
        default:
            guard case .success(let backend) = cuda else { return CPUBackend.shared }
            backend.fidelity = fidelity
            return backend
        }
    }
}
