import Foundation
import XCTest
@testable import SteerCLI

/// `--backend cpu|cuda|auto` on the commands that compute.
final class BackendOptionTests: XCTestCase {
    private var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("steer-backend-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    private func logits(_ extra: [String]) -> (Int32, String, String) {
        steer(["logits", CommandTests.fixtures.appendingPathComponent("models/llama").path, "--ids", "1,2,3",
               "--out", temp.appendingPathComponent("logits.safetensors").path] + extra)
    }

    /// On a machine without the CUDA driver, `--backend cuda` exits with status 1 and says what is missing.
    func testCUDAWithoutDriverFailsClearly() throws {
        if let handle = dlopen("libcuda.so.1", RTLD_NOW) {
            dlclose(handle)
            throw XCTSkip("this machine has a CUDA driver")
        }
        let (status, _, err) = logits(["--backend", "cuda"])
        XCTAssertEqual(status, 1, err)
        XCTAssertTrue(err.contains("no CUDA driver found (libcuda.so.1"), err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.appendingPathComponent("logits.safetensors").path))
    }

    /// `cpu` and the default both compute; anything else is a usage error naming the choices.
    func testBackendChoices() {
        for extra in [["--backend", "cpu"], [], ["--backend", "auto"]] {
            let (status, _, err) = logits(extra)
            XCTAssertEqual(status, 0, "\(extra): \(err)")
        }
        let (status, _, err) = logits(["--backend", "tpu"])
        XCTAssertEqual(status, 64)
        XCTAssertTrue(err.contains("must be one of cpu, cuda, auto"), err)
    }

    /// Every command that takes `--threads` also takes `--backend`.
    func testEveryComputingCommandTakesBackend() {
        for command in SteerCLI.commands where command.spec.options.contains(where: { $0.name == "--threads" }) {
            XCTAssertTrue(command.spec.options.contains { $0.name == "--backend" }, command.spec.name)
        }
    }
}
