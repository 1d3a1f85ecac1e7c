@testable import Compute
import Foundation
import ModelFormats
import XCTest

/// Every `ComputeBackend` operation against the Float64 reference (`checkAllOperations`). A new
/// backend is checked by adding one line like `testCPUBackend`'s.
final class BackendOperationTests: XCTestCase {
    func testCPUBackend() throws {
        let worst = try checkAllOperations(CPUBackend())
        print("CPU backend, largest error / bound per operation:",
              worst.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.3g", $0.value))" }.joined(separator: ", "))
    }

    /// The same with the CPU kernels split across 3 threads even for these small inputs (their chunked paths).
    func testCPUBackendWithParallelKernels() throws {
        let backend = CPUBackend(), savedThreads = backend.threads, savedWork = Parallel.minimumWork
        defer { backend.threads = savedThreads; Parallel.minimumWork = savedWork }
        backend.threads = 3
        Parallel.minimumWork = 1
        try checkAllOperations(backend)
    }

    /// The same at every instruction set of the C kernels this CPU supports (baseline, AVX2, AVX-512):
    /// the checks hold whichever one a machine picks.
    func testCPUBackendAtEveryKernelLevel() throws {
        let saved = KernelLevel.current
        defer { KernelLevel.current = saved }
        for level in KernelLevel.allCases where level <= KernelLevel.supported {
            KernelLevel.current = level
            try checkAllOperations(CPUBackend())
        }
    }

    /// The checker itself: each deliberate bug of `MutantBackend` fails the check of the operation it affects
    /// (wrong masks, dropped terms, shifted indices, results rounded to 16-bit precision, swallowed errors).
    func testCheckerCatchesEveryMutant() throws {
        for mutation in MutantBackend.Mutation.allCases {
            var failures: [String] = []
            let checker = BackendChecker(MutantBackend(mutation)) { failures.append($0) }
            checker.includesLargeCases = false
            try checker.checkAll()
            XCTAssertTrue(failures.contains { $0.contains(": \(mutation.operation)") },
                          "\(mutation) not caught by the \(mutation.operation) check; failures: \(failures.prefix(3))")
        }
    }

    /// The CPU backend joins weights it converted (owned Float32) and never mapped Float32 ones, which
    /// joining would copy; `checkAllOperations` checks the joined product wherever a backend joins.
    func testCPUJoinsConvertedWeightsOnly() throws {
        let backend = CPUBackend()
        var keep: [WeightData] = []
        func weight(_ dtype: DType) throws -> Weight {
            let (data, _) = WeightBytes.make("w", [Float](repeating: 0.5, count: 12), rows: 3, cols: 4, dtype: dtype)
            keep.append(data)
            return try backend.weight(data, keepHalf: false)
        }
        XCTAssertNotNil(backend.joined([try weight(.bf16), try weight(.f16)]))
        XCTAssertNil(backend.joined([try weight(.f32), try weight(.f32)]))
        XCTAssertNil(backend.joined([try weight(.bf16)]))
        XCTAssertEqual(keep.count, 5)
    }
}
