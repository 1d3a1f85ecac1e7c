import Compute
import Foundation
import ModelFormats
import Models
import XCTest
@testable import SteerCLI

/// `steer bench` end to end on a fixture (figures present, not their values: no timed tests), and the
/// CPU backend's promise that a model's logits do not depend on the thread count.
final class BenchCommandTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func testBenchReportsMediansBandwidthAndMachine() throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("steer-bench-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let model = Self.fixtures.appendingPathComponent("models/qwen2").path
        let (status, out, err) = steer(["bench", model, "--prefill", "2x8,1x40", "--decode-batches", "1,3", "--new-tokens", "3",
                                        "--repeat", "2", "--bandwidth-mib", "16", "--threads", "2", "--json", json.path])
        XCTAssertEqual(status, 0, err)
        for line in ["machine", "sgemm", "memory read", "prefill 2x8", "prefill 1x40", "decode batch 1", "decode batch 3", "GB/s"] {
            XCTAssertTrue(out.contains(line), "no '\(line)' in\n\(out)")
        }
        let figures = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        for key in ["prefill_2x8_tokens_per_s", "prefill_2x8_tokens_per_s_min", "prefill_1x40_tokens_per_s_max", "prefill_tokens_per_s",
                    "decode_b3_tokens_per_s_runs", "decode_b1_gb_per_s", "memory_read_gb_per_s", "decode_weight_bytes_per_step"] {
            XCTAssertNotNil(figures[key] as? Double, key)
        }
        XCTAssertEqual(figures["decode_b3_tokens_per_s_runs"] as? Double, 2)
        XCTAssertNotNil(figures["cpu"] as? String)
        XCTAssertNotNil(figures["kernels"] as? String)
        // Malformed batches are usage errors.
        XCTAssertEqual(steer(["bench", model, "--prefill", "2y8"]).0, 64)
        XCTAssertEqual(steer(["bench", model, "--prefill", "0x8"]).0, 64)
    }

    /// Logits of a batch of prompts (one long enough for several attention tiles and product blocks) are
    /// bit-identical on 1, 2 and 3 threads: Float32 weights mapped, bf16 converted to panels, bf16 kept.
    func testLogitsBitIdenticalOnAnyThreadCount() throws {
        let saved = CPUBackend.shared.threads
        defer { CPUBackend.shared.threads = saved }
        for (name, precision) in [("llama", WeightPrecision.f32), ("llama_bf16", .f32), ("llama_bf16", .bf16)] {
            let dir = Self.fixtures.appendingPathComponent("models/\(name)")
            var results: [[Float]] = []
            for threads in [1, 2, 3] {
                CPUBackend.shared.threads = threads
                let model = try ModelLoader.load(directory: dir, precision: precision)
                let vocab = model.config.vocabSize
                let prompts = [(0..<200).map { ($0 * 37 + 11) % vocab }, (0..<7).map { ($0 * 5 + 3) % vocab }]
                let (cache, logits) = try model.prefill(prompts, logits: .all, reserve: 2)
                let step = try model.step([5, 9], sequences: [0, 1], cache: cache)
                results.append((logits?.array ?? []) + (step?.array ?? []))
            }
            XCTAssertFalse(results[0].isEmpty)
            XCTAssertEqual(results[1], results[0], "\(name) \(precision): 2 threads")
            XCTAssertEqual(results[2], results[0], "\(name) \(precision): 3 threads")
        }
    }
}
