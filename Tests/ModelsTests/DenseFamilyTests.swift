import XCTest
import ModelFormats
import Compute
@testable import Models

/// Gemma-3 (text and multimodal folders), OLMo-2, SmolLM3 and Granite beyond the shared fidelity tests:
/// both config styles, the layer plans read from them, the multimodal checkpoint namings, and bad folders.
final class DenseFamilyTests: ModelFolderTestCase {
    static let families = ["gemma3_text", "gemma3", "olmo2", "smollm3", "granite"]

    /// Logits of the fixture's `input_ids` for a model folder.
    func logits(_ dir: URL, _ f: FixtureModel) throws -> [Float] {
        let (_, out) = try ModelLoader.load(directory: dir).prefill([try f.ints("input_ids")], logits: .all)
        return try XCTUnwrap(out).array
    }

    /// Every fixture carries the same model in the other config style (config.v4.json or config.v5.json,
    /// identical logits in transformers): it decodes to the same layer plan and matches transformers.
    func testOtherConfigStyleGivesTheSameModel() throws {
        for name in Self.families {
            let f = try FixtureModel(name)
            let fixture = try XCTUnwrap(JSONSerialization.jsonObject(
                with: Data(contentsOf: f.directory.appendingPathComponent("fixture.json"))) as? [String: Any])
            let alternate = try XCTUnwrap(fixture["alternate_config"] as? [String: Any], name)
            let file = try XCTUnwrap(alternate["file"] as? String), style = try XCTUnwrap(alternate["config_style"] as? String)
            let dir = try copy(name)
            try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
            try FileManager.default.copyItem(at: f.directory.appendingPathComponent(file), to: dir.appendingPathComponent("config.json"))
            let (_, a) = try ModelLoader.readConfig(directory: f.directory), (_, b) = try ModelLoader.readConfig(directory: dir)
            XCTAssertEqual(b.configStyle, style, name)
            XCTAssertNotEqual(a.configStyle, b.configStyle, name)
            XCTAssertEqual(a.blocks, b.blocks, name)
            XCTAssertEqual(a.ropeSummary, b.ropeSummary, name)
            XCTAssertEqual(a.scaleSummary, b.scaleSummary, name)
            XCTAssertEqual(a.tieWordEmbeddings, b.tieWordEmbeddings, name)
            let diff = maxAbsDiff(try logits(dir, f), try f.floats("logits"))
            XCTAssertLessThan(diff, FidelityTests.tolerance, "\(name) with \(file): logits differ by \(diff)")
        }
    }

    func testLayerPlansReadFromTheConfigs() throws {
        func config(_ name: String) throws -> ModelConfig { try ModelLoader.readConfig(directory: FixtureModel.root.appendingPathComponent(name)).1 }
        // gemma3_text: sliding_window_pattern 3 → layers 2 and 5 full (base 1e6), the others sliding (window 5, base 1e4).
        let g = try config("gemma3_text")
        XCTAssertEqual(g.slidingWindows, [5, 5, nil, 5, 5, nil])
        XCTAssertEqual(g.blocks.map(\.attention.rope), [1, 1, 0, 1, 1, 0])
        XCTAssertEqual(g.ropes.map(\.base), [1_000_000, 10_000])
        XCTAssertEqual(g.blocks[0].attention.qkNorm, .perHead)
        XCTAssertEqual(g.blocks[0].attention.scale, 1 / Float(20).squareRoot())
        XCTAssertEqual(g.finalLogitSoftcap, 8)
        // The multimodal folder: text_config defaults (pattern 6, both bases), linear ×8 on the full layer only,
        // no final soft-cap (Gemma3ForConditionalGeneration does not apply it), tied by the top-level default.
        let m = try config("gemma3")
        XCTAssertEqual(m.slidingWindows, [5, 5, 5, 5, 5, nil])
        XCTAssertEqual(m.ropes.map(\.base), [1_000_000, 10_000])
        XCTAssertEqual(m.ropes[Gemma3.fullRoPE].scaling, .linear(factor: 8))
        XCTAssertEqual(m.ropes[Gemma3.slidingRoPE].scaling, .none)
        XCTAssertNil(m.finalLogitSoftcap)
        XCTAssertTrue(m.tieWordEmbeddings)
        XCTAssertEqual(m.eosTokenIds, [1, 106])
        // OLMo-2: post-norms only, q/k norms over all heads.
        let o = try config("olmo2")
        XCTAssertFalse(o.blocks[0].preNorms)
        XCTAssertTrue(o.blocks[0].postAttentionNorm && o.blocks[0].postMLPNorm)
        XCTAssertEqual(o.blocks[0].attention.qkNorm, .whole)
        // SmolLM3: no RoPE on layer 3, which is also the sliding one.
        let s = try config("smollm3")
        XCTAssertEqual(s.blocks.map(\.attention.rope), [0, 0, 0, nil])
        XCTAssertEqual(s.slidingWindows, [nil, nil, nil, 6])
        // Granite's four scalars.
        let r = try config("granite")
        XCTAssertEqual(r.embeddingScale, 12)
        XCTAssertEqual(r.logitDivisor, 4)
        XCTAssertEqual(r.blocks.map(\.residualMultiplier), [0.22, 0.22])
        XCTAssertEqual(r.blocks[0].attention.scale, 0.05)
    }

    /// SmolLM3's sliding layers follow `layer_types` alone, as transformers' eager masks do (checked there:
    /// `use_sliding_window: false` leaves the logits unchanged); without the list, the flag decides.
    func testSmolLM3SlidingLayersFollowLayerTypes() throws {
        let f = try FixtureModel("smollm3")
        let dir = try copy("smollm3") { $0["use_sliding_window"] = false }
        XCTAssertEqual(try ModelLoader.readConfig(directory: dir).1.slidingWindows, [nil, nil, nil, 6])
        XCTAssertLessThan(maxAbsDiff(try logits(dir, f), try f.floats("logits")), FidelityTests.tolerance)
        let v4 = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: f.directory.appendingPathComponent("config.v4.json"))) as? [String: Any])
        let derived = try copy("smollm3") { $0 = v4; $0["use_sliding_window"] = false }
        XCTAssertEqual(try ModelLoader.readConfig(directory: derived).1.slidingWindows, [nil, nil, nil, nil])
        expectError(try copy("smollm3") { $0["sliding_window"] = NSNull() }, contains: ["sliding_window"])
    }

    /// transformers 5 names a multimodal model's tensors `model.language_model.*`, `model.vision_tower.*`
    /// (in memory; `save_pretrained` writes the published `language_model.model.*`): both load the same model.
    func testGemma3InMemoryNamingLoads() throws {
        let f = try FixtureModel("gemma3")
        let store = try WeightStore(folder: f.directory)
        let dir = try copy("gemma3")
        var w = SafeTensorsWriter()
        for name in store.names {
            let renamed = name.hasPrefix("language_model.model.") ? "model.language_model." + name.dropFirst("language_model.model.".count)
                : name.hasPrefix("language_model.") ? String(name.dropFirst("language_model.".count)) : "model." + name
            try w.addUnchanged(name, from: store, as: renamed)
        }
        try w.write(to: dir.appendingPathComponent("model.safetensors"))
        let moved = try WeightStore(folder: dir)
        XCTAssertTrue(moved.names.contains("model.language_model.embed_tokens.weight"))
        XCTAssertTrue(moved.names.contains("model.vision_tower.post_layernorm.weight"), "\(moved.names)")
        let diff = maxAbsDiff(try logits(dir, f), try f.floats("logits"))
        XCTAssertLessThan(diff, FidelityTests.tolerance)
    }

    /// The vision tower and projector are skipped by name: counted, never loaded, never an error.
    func testGemma3VisionTowerIsSkipped() throws {
        let f = try FixtureModel("gemma3")
        let store = try WeightStore(folder: f.directory)
        let layout = Gemma3.layout(of: store)
        let skipped = layout.skipped(in: store.names)
        XCTAssertFalse(skipped.isEmpty)
        XCTAssertTrue(skipped.allSatisfy { $0.hasPrefix("vision_tower.") || $0.hasPrefix("multi_modal_projector.") }, "\(skipped)")
        XCTAssertEqual(layout.stored("model.layers.0.self_attn.q_norm.weight"), "language_model.model.layers.0.self_attn.q_norm.weight")
        XCTAssertEqual(Gemma3.layout(of: try WeightStore(folder: FixtureModel.root.appendingPathComponent("gemma3_text"))), .plain)
        // In a text-only folder a vision tensor is no part of the model: an unexpected tensor, named.
        let dir = try copy("gemma3_text")
        let text = try WeightStore(folder: dir)
        var w = SafeTensorsWriter()
        for name in text.names { try w.addUnchanged(name, from: text) }
        w.add("vision_tower.patch.weight", floats: [1, 2], shape: [2], as: .f32)
        try w.write(to: dir.appendingPathComponent("model.safetensors"))
        expectError(dir, contains: ["unexpected tensors", "vision_tower.patch.weight"])
    }

    /// A folder whose weights do not match its config names the tensor as the files store it.
    func testMismatchedWeightsNameTheStoredTensor() throws {
        func drop(_ name: String, from model: String, replacing: [Float]? = nil) throws -> URL {
            let dir = try copy(model)
            let store = try WeightStore(folder: dir)
            var w = SafeTensorsWriter()
            for n in store.names where n != name { try w.addUnchanged(n, from: store) }
            if let replacing { w.add(name, floats: replacing, shape: [replacing.count], as: .f32) }
            try w.write(to: dir.appendingPathComponent("model.safetensors"))
            return dir
        }
        expectError(try drop("language_model.model.layers.2.self_attn.q_norm.weight", from: "gemma3"),
                    contains: ["missing tensors", "language_model.model.layers.2.self_attn.q_norm.weight"])
        expectError(try drop("model.layers.1.post_feedforward_layernorm.weight", from: "olmo2"),
                    contains: ["model.layers.1.post_feedforward_layernorm.weight"])
        // OLMo-2's q_norm spans all heads (32 = 4 × 8): one head's width is a shape error naming it.
        expectError(try drop("model.layers.0.self_attn.q_norm.weight", from: "olmo2", replacing: Array(repeating: 1, count: 8)),
                    contains: ["model.layers.0.self_attn.q_norm.weight", "[32]", "[8]"])
        expectError(try copy("gemma3") { cfg in
            var t = cfg["text_config"] as? [String: Any] ?? [:]
            t["num_hidden_layers"] = 8
            cfg["text_config"] = t
        }, contains: ["num_hidden_layers", "8 layers", "language_model.model.layers."])
    }

    func testHostileDenseConfigs() throws {
        func text(_ edit: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
            { cfg in var t = cfg["text_config"] as? [String: Any] ?? [:]; edit(&t); cfg["text_config"] = t }
        }
        expectError(try copy("smollm3") { $0["no_rope_layers"] = [1, 1, 0] }, contains: ["no_rope_layers", "3 entries for 4 layers"])
        expectError(try copy("smollm3") { $0["no_rope_layers"] = [1, 2, 1, 0] }, contains: ["no_rope_layers", "0 and 1"])
        expectError(try copy("smollm3") { $0["no_rope_layers"] = "all" }, contains: ["no_rope_layers"])
        expectError(try copy("smollm3") { $0["hidden_act"] = "relu" }, contains: ["hidden_act", "relu"])
        expectError(try copy("gemma3_text") { $0["sliding_window_pattern"] = 0 }, contains: ["sliding_window_pattern"])
        expectError(try copy("gemma3_text") { $0["query_pre_attn_scalar"] = -4 }, contains: ["query_pre_attn_scalar"])
        expectError(try copy("gemma3_text") { $0["rope_local_base_freq"] = 0 }, contains: ["rope_local_base_freq"])
        expectError(try copy("gemma3_text") { $0["sliding_window"] = NSNull() }, contains: ["sliding_window"])
        expectError(try copy("gemma3") { $0["text_config"] = [1, 2] }, contains: ["text_config"])
        expectError(try copy("gemma3", edit: text { $0["rope_scaling"] = ["rope_type": "linear", "factor": -8] }), contains: ["rope_scaling"])
        expectError(try copy("gemma3", edit: text { $0["hidden_size"] = 48 }), contains: ["language_model.model.embed_tokens.weight"])
        expectError(try copy("gemma3") { $0["eos_token_id"] = 4096 }, contains: ["eos_token_id", "4096"])
        expectError(try copy("granite") { $0["residual_multiplier"] = 0 }, contains: ["residual_multiplier"])
        expectError(try copy("granite") { $0["logits_scaling"] = "big" }, contains: ["logits_scaling"])
        expectError(try copy("granite") { $0["embedding_multiplier"] = 1e300 }, contains: ["embedding"])
        expectError(try copy("granite") { $0["attention_multiplier"] = -1 }, contains: ["attention_multiplier"])
        expectError(try copy("olmo2") { $0["rms_norm_eps"] = 0 }, contains: ["rms_norm_eps"])
    }

    func testUnsupportedModelTypeListsEveryFamily() throws {
        expectError(try copy("olmo2") { $0["model_type"] = "olmo3" }, contains: ["'olmo3'"] + ModelRegistry.supportedTypes)
    }
}
