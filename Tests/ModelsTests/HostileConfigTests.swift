import XCTest
import ModelFormats
@testable import Models

/// The hostile `config.json` values of the issue (and their neighbours): each is refused with an
/// error naming the file and key before anything is sized from it, never a crash, hang or huge
/// allocation. Numbers come from the issue text; expected messages are Steer's own.
final class HostileConfigTests: ModelFolderTestCase {
    func folder(_ name: String, edit: (inout [String: Any]) -> Void) throws -> URL { try copy(name, edit: edit) }

    /// The load fails with an error naming `config.json` and containing `parts`.
    func expectError(_ dir: URL, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        expectError(dir, contains: parts + ["config.json"], file: file, line: line)
    }

    /// Phi-3 stores it in v5 `rope_parameters`; the issue's values: 4 (double free), 16 (segfault),
    /// −1 (hang) and 2 (logits off by 9.5) are all outside (0, 1].
    func testPartialRotaryFactorOutsideUnitInterval() throws {
        for value in [4.0, 16, -1, 2, 0, 1.0000001] {
            let dir = try folder("phi3") { c in
                var rope = c["rope_parameters"] as? [String: Any] ?? [:]
                rope["partial_rotary_factor"] = value
                c["rope_parameters"] = rope
            }
            expectError(dir, ["partial_rotary_factor", "outside (0, 1]"])
        }
        // The v4 spelling at the top level is checked the same way.
        expectError(try folder("phi3") { c in c["rope_parameters"] = nil; c["partial_rotary_factor"] = 4 },
                    ["partial_rotary_factor", "outside (0, 1]"])
    }

    func testPartialRotaryDimensionMustBeEvenAndSupported() throws {
        // head_dim 16 × 0.3125 = 5 rotated dimensions: odd, so pairs cannot be formed.
        expectError(try folder("phi3") { c in c["rope_parameters"] = ["rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.3125] },
                    ["partial_rotary_factor", "5 rotary dimensions"])
        // transformers rotates whole heads for Llama (a partial factor fails there): refused, not guessed.
        XCTAssertThrowsError(try ModelLoader.load(directory: try folder("llama") { $0["partial_rotary_factor"] = 0.5 })) {
            XCTAssertTrue("\($0)".contains("partial_rotary_factor below 1 for model_type 'llama'"), "\($0)")
        }
        // Qwen-1's rotary_pct follows the same rule.
        expectError(try folder("qwen") { $0["rotary_pct"] = 2.0 }, ["rotary_pct", "outside (0, 1]"])
        expectError(try folder("qwen") { $0["kv_channels"] = -16 }, ["kv_channels", "positive even"])
    }

    /// 2^40 layers or head dimensions used to die in an allocation; 10⁹ layers used 15.6 GB first.
    func testHugeSizesAreRefusedBeforeAllocating() throws {
        for key in ["num_hidden_layers", "head_dim", "hidden_size", "vocab_size", "intermediate_size", "num_attention_heads"] {
            expectError(try folder("llama") { $0[key] = 1 << 40 }, [key, "above the supported maximum"])
        }
        expectError(try folder("llama") { $0["num_hidden_layers"] = 1_000_000_000 }, ["num_hidden_layers", "above the supported maximum 4096"])
        expectError(try folder("qwen") { $0["kv_channels"] = 1 << 40 }, ["kv_channels", "above the supported maximum"])
    }

    /// A layer count within the bounds but not matching the weights fails on tensor names alone.
    func testLayerCountIsCheckedAgainstTheWeights() throws {
        expectError(try folder("llama") { $0["num_hidden_layers"] = 4096 }, ["num_hidden_layers", "4096 layers", "layers 0...1"])
        expectError(try folder("llama") { $0["num_hidden_layers"] = 1 }, ["num_hidden_layers", "1 layers", "layers 0...1"])
        expectError(try folder("qwen") { $0["num_hidden_layers"] = 3 }, ["num_hidden_layers", "transformer.h.N"])
        // Sharded weights are checked the same way.
        expectError(try folder("qwen3") { $0["num_hidden_layers"] = 7; $0["layer_types"] = nil }, ["num_hidden_layers", "7 layers"])
    }

    func testHeadGeometryMustMatchTheWeights() throws {
        expectError(try folder("llama") { $0["head_dim"] = 15 }, ["head_dim", "positive even"])
        expectError(try folder("llama") { $0["head_dim"] = 0 }, ["head_dim", "positive even"])
        expectError(try folder("qwen2") { $0["num_key_value_heads"] = 3 }, ["num_key_value_heads", "does not divide"])
        XCTAssertThrowsError(try ModelLoader.load(directory: try folder("llama") { $0["head_dim"] = 32 })) {
            XCTAssertTrue("\($0)".contains("q_proj.weight: expected shape [128, 64]"), "\($0)")
        }
    }

    func testRangesOfRealValuedSettings() throws {
        for (key, value) in [("rms_norm_eps", -1e-6), ("rms_norm_eps", 0.0), ("rope_theta", 0.0), ("rope_theta", -10.0), ("rope_theta", 1e300)] {
            expectError(try folder("mistral") { $0[key] = value }, [key, "finite positive"])
        }
        expectError(try folder("mistral") { $0["sliding_window"] = 0 }, ["sliding_window", "at least 1"])
        expectError(try folder("gemma2") { $0["query_pre_attn_scalar"] = -4.0 }, ["query_pre_attn_scalar"])
        expectError(try folder("gemma2") { $0["attn_logit_softcapping"] = 0.0 }, ["attn_logit_softcapping", "finite and positive"])
        expectError(try folder("gemma2") { $0["final_logit_softcapping"] = -30.0 }, ["final_logit_softcapping"])
        expectError(try folder("qwen") { $0["use_logn_attn"] = true; $0["seq_length"] = 0 }, ["seq_length", "at least 1"])
    }

    func testRopeScalingParameters() throws {
        func scaling(_ s: [String: Any]) throws -> URL { try folder("llama") { $0["rope_scaling"] = s } }
        expectError(try scaling(["rope_type": "linear", "factor": 0.0]), ["factor", "finite positive"])
        expectError(try scaling(["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 64]), ["rope_scaling", "low_freq_factor < high_freq_factor"])
        expectError(try scaling(["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 0]), ["original_max_position_embeddings", "positive"])
        let phi = { (s: [String: Any]) in try self.folder("phi3") { $0["rope_parameters"] = s } }
        expectError(try phi(["rope_type": "longrope", "partial_rotary_factor": 0.5, "short_factor": [1.0, 1.0, 1.0],
                             "long_factor": [1.0, 1.0, 1.0]]), ["longrope needs short_factor and long_factor of length 4"])
        expectError(try phi(["rope_type": "longrope", "partial_rotary_factor": 0.5, "short_factor": [1.0, -1.0, 1.0, 1.0],
                             "long_factor": [1.0, 1.0, 1.0, 1.0]]), ["longrope factors must be finite and positive"])
    }

    func testTokenIdsMustBeInsideTheVocabulary() throws {
        expectError(try folder("llama") { $0["eos_token_id"] = 256 }, ["eos_token_id", "outside the vocabulary 0..<256"])
        expectError(try folder("llama") { $0["bos_token_id"] = -1 }, ["bos_token_id", "outside the vocabulary"])
        expectError(try folder("llama") { $0["eos_token_id"] = [1, true] }, ["eos_token_id", "list of integers"])
        expectError(try folder("llama") { $0["eos_token_id"] = 1e300 }, ["eos_token_id", "list of integers"])
        // generation_config.json's ids are checked against the same vocabulary, naming that file.
        let dir = try folder("llama") { _ in }
        let gen = dir.appendingPathComponent("generation_config.json")
        try FileManager.default.removeItem(at: gen)
        try Data(#"{"eos_token_id": [2, 9999]}"#.utf8).write(to: gen)
        XCTAssertThrowsError(try ModelLoader.load(directory: dir)) {
            XCTAssertTrue("\($0)".contains("generation_config.json: key 'eos_token_id': token id 9999"), "\($0)")
        }
    }

    func testLayerTypesMustCoverEveryLayer() throws {
        expectError(try folder("mistral") { $0["layer_types"] = ["full_attention"] }, ["layer_types", "1 entries for 2 layers"])
    }
}
