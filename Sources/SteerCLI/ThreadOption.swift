import Foundation
import Compute

/// `--threads N`: how many threads the CPU backend uses (BLAS, its kernels and its jobs).
enum ThreadOption {
    static let spec = OptionSpec("--threads", value: "N", help: "worker threads (default: all cores)")

    /// Reads the flag (default: all cores), applies it, and returns the count.
    static func apply(_ args: ParsedArguments) throws -> Int {
        let threads = try args.int("--threads", default: ProcessInfo.processInfo.activeProcessorCount, range: 1...1024)
        CPUBackend.shared.threads = threads
        return threads
    }
}
