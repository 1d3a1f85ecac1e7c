import Foundation
import ModelFormats
import XCTest
@testable import SteerCLI

/// The CUDA backend against the CPU backend through the commands, on a machine with a GPU (skipped
/// elsewhere): Float32 logits of every family fixture within 1e-3, and greedy BF16 generation on the demo
/// model giving the CPU backend's tokens for at least 95% of prompts.
final class CUDAFidelityTests: XCTestCase {
    private var temp: URL!

    override func setUpWithError() throws {
        guard let handle = dlopen("libcuda.so.1", RTLD_NOW) else { throw XCTSkip("no CUDA driver on this machine") }
        dlclose(handle)
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("steer-cuda-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let temp { try? FileManager.default.removeItem(at: temp) } }

    private func steerOutput(_ args: [String]) throws -> String {
        let (status, out, err) = steer(args)
        if status == 1 && err.contains("backend cuda is not available") { throw XCTSkip(err) }
        XCTAssertEqual(status, 0, "steer \(args.joined(separator: " ")): \(err)")
        return out
    }

    /// The bound: the issue's 1e-3 on logits of order 1–10 (F32 products, other summation orders than the CPU's).
    func testFloat32LogitsMatchTheCPUBackendOnEveryFamily() throws {
        let models = CommandTests.fixtures.appendingPathComponent("models")
        let families = try FileManager.default.contentsOfDirectory(atPath: models.path).sorted()
        var checked = 0
        for family in families {
            let dir = models.appendingPathComponent(family)
            let ref = dir.appendingPathComponent("reference.safetensors")
            guard FileManager.default.fileExists(atPath: ref.path) else { continue }
            let reference = try SafeTensorsFile(url: ref)  // mapped: alive while its bytes are read
            let raw = try reference.rawBytes("input_ids")
            let ids = withExtendedLifetime(reference) {
                (0..<(raw.count / 8)).map { String(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
            var logits: [[Float]] = []
            for backend in ["cpu", "cuda"] {
                let file = temp.appendingPathComponent("\(family)-\(backend).safetensors")
                _ = try steerOutput(["logits", dir.path, "--ids", ids.joined(separator: ","), "--out", file.path, "--backend", backend])
                logits.append(try SafeTensorsFile(url: file).floats("logits"))
            }
            let worst = zip(logits[0], logits[1]).map { abs($0 - $1) }.max() ?? .infinity
            print("cuda vs cpu logits, \(family): max |Δ| = \(worst)")
            XCTAssertEqual(logits[0].count, logits[1].count, family)
            XCTAssertLessThanOrEqual(worst, 1e-3, family)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0)
    }

    func testGreedyBF16GenerationMatchesTheCPUBackend() throws {
        let root = CommandTests.fixtures.deletingLastPathComponent().deletingLastPathComponent()
        let demo = root.appendingPathComponent("models/refusal-demo")
        guard FileManager.default.fileExists(atPath: demo.path) else { throw XCTSkip("no demo model at \(demo.path)") }
        let data = try Data(contentsOf: root.appendingPathComponent("data/prompts/harmful_test.json"))
        let prompts = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [Any]).prefix(40).compactMap { item -> String? in
            (item as? String) ?? ((item as? [String: Any])?["instruction"] as? String)
        }
        var same = 0
        for prompt in prompts {
            let replies = try ["cpu", "cuda"].map {
                try steerOutput(["generate", demo.path, "--prompt", prompt, "--max-tokens", "32", "--weights", "bf16", "--backend", $0])
            }
            if replies[0] == replies[1] { same += 1 }
        }
        print("greedy bf16 replies identical on cuda and cpu: \(same) of \(prompts.count)")
        XCTAssertGreaterThanOrEqual(Double(same), 0.95 * Double(prompts.count))
    }
}
