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

    /// With `fidelity = false` a product with a BF16 weight rounds the activations to BF16 (and nothing else):
    /// against Σ w·bf16(x) in Float64 the error is Float32 accumulation only, at most k·2⁻²³·Σ|w·x| (k = 21
    /// terms, with room for any summation order).
    func testBF16ProductsRoundOnlyTheActivations() throws {
        let cuda = try backend()
        cuda.fidelity = false
        defer { cuda.fidelity = true }
        var random = SeededRandom(seed: 7)
        let (rows, k, n) = (5, 21, 37)
        let (data, w) = WeightBytes.make("w", random.floats(n * k, scale: 1), rows: n, cols: k, dtype: .bf16)
        let weight = try withExtendedLifetime(data) { try cuda.weight(data, keepHalf: true) }
        XCTAssertEqual(weight.dtype, .bf16)
        let x = random.floats(rows * k, scale: 1)
        let out = cuda.tensor(rows: rows, cols: n)
        cuda.linear(cuda.upload(x, rows: rows), rows: 0..<rows, xColumn: 0, weight: weight, bias: nil, out: out, column: 0)
        let got = cuda.read(out)
        func bf16(_ v: Float) -> Double {
            let u = v.bitPattern
            return Double(Float(bitPattern: (u &+ 0x7FFF &+ ((u >> 16) & 1)) & 0xFFFF_0000))
        }
        for r in 0..<rows {
            for i in 0..<n {
                var want = 0.0, magnitude = 0.0
                for l in 0..<k {
                    want += w.values[i * k + l] * bf16(x[r * k + l])
                    magnitude += abs(w.values[i * k + l] * bf16(x[r * k + l]))
                }
                XCTAssertLessThanOrEqual(abs(Double(got[r * n + i]) - want), Double(k) * 0x1p-23 * magnitude, "[\(r), \(i)]")
            }
        }
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
