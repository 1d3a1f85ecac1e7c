@testable import CUDABackend
import Compute
import Foundation
import XCTest

/// The CUDA backend: every operation against the Float64 reference on a GPU (skipped without one), and
/// what can be checked anywhere: the kernels compile with NVRTC when the library is at hand
/// (`STEER_CUDA_LIBS` or the loader's path), and a machine without a driver gets a clear error.
final class CUDABackendTests: XCTestCase {
    /// The backend, or a skip naming why there is none here.
    private func backend() throws -> CUDABackend {
        do { return try CUDABackend() } catch ComputeError.unavailable(_, let reason) {
            throw XCTSkip("no CUDA backend on this machine: \(reason)")
        }
    }

    func testCUDABackendPassesEveryOperationCheck() throws {
        let cuda = try backend()
        let worst = try checkAllOperations(cuda)
        print("CUDA backend on \(cuda.deviceDescription), largest error / bound per operation:",
              worst.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.3g", $0.value))" }.joined(separator: ", "))
    }

    /// Without a driver the error says so and names the library it looked for.
    func testMissingDriverIsNamed() throws {
        do {
            _ = try CUDABackend()
            throw XCTSkip("a CUDA driver is present")
        } catch ComputeError.unavailable(let name, let reason) where reason.hasPrefix("no CUDA driver found") {
            XCTAssertEqual(name, "cuda")
            XCTAssertTrue(reason.hasPrefix("no CUDA driver found (libcuda.so.1"), reason)
        } catch ComputeError.unavailable(_, let reason) {
            throw XCTSkip("a CUDA driver is present but not usable here: \(reason)")
        }
    }

    /// Every kernel compiles for Hopper (sm_90) and Ampere (sm_80), and the compile is cached by source
    /// hash and architecture. NVRTC needs no GPU; skipped where the library cannot be found.
    func testKernelsCompileWithNVRTC() throws {
        do { try CUDALibraries.openCompiler() } catch ComputeError.unavailable(_, let reason) {
            throw XCTSkip("NVRTC not found (set STEER_CUDA_LIBS to a folder with libnvrtc.so.*): \(reason)")
        }
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("steer-cuda-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        for (major, minor) in [(9, 0), (8, 0)] {
            let cubin = try KernelCompiler.cubin(major: major, minor: minor, cache: cache)
            XCTAssertEqual(Array(cubin.prefix(4)), [0x7F, 0x45, 0x4C, 0x46], "sm_\(major)\(minor): not an ELF cubin")
            XCTAssertEqual(try KernelCompiler.cubin(major: major, minor: minor, cache: cache), cubin)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: cache.path).sorted()
        XCTAssertEqual(files.count, 2, "\(files)")
        XCTAssertTrue(files.allSatisfy { $0.hasPrefix("kernels-") && $0.hasSuffix(".cubin") }, "\(files)")
    }

    /// A broken source is reported with NVRTC's log, not a crash.
    func testCompileErrorCarriesTheLog() throws {
        do { try CUDALibraries.openCompiler() } catch ComputeError.unavailable(_, let reason) {
            throw XCTSkip("NVRTC not found: \(reason)")
        }
        XCTAssertThrowsError(try KernelCompiler.compile(architecture: "sm_90", source: "extern \"C\" __global__ void f() { undeclared(); }")) {
            guard case CUDAError.compile(let log) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(log.contains("undeclared"), log)
        }
    }

    /// The alignment cuBLASLt is told about: the largest power of two dividing the address, at most 256.
    func testMatmulAlignment() {
        XCTAssertEqual(Matmul.alignment(0x1000), 256)
        XCTAssertEqual(Matmul.alignment(0x1004), 4)
        XCTAssertEqual(Matmul.alignment(0x1010), 16)
        XCTAssertEqual(Matmul.alignment(0x1002), 2)
    }
}
