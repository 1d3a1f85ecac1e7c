import XCTest
import ModelFormats
@testable import Models

/// Bad model folders produce errors that name the problem, never a crash.
final class LoadingErrorTests: ModelFolderTestCase {
    func testUnsupportedModelTypeListsSupported() throws {
        let dir = try copy("llama") { $0["model_type"] = "mamba" }
        expectError(dir, contains: ["'mamba'", "gemma2", "llama", "phi3", "qwen", "qwen2", "qwen3"])
    }

    func testBadConfigValuesNameFileAndKey() throws {
        expectError(try copy("llama") { $0["num_attention_heads"] = "four" }, contains: ["config.json", "num_attention_heads"])
        expectError(try copy("qwen2") { $0["num_key_value_heads"] = 3 }, contains: ["num_key_value_heads"])
        expectError(try copy("mistral") { $0["hidden_size"] = -64 }, contains: ["hidden_size", "positive"])
        expectError(try copy("llama") { $0.removeValue(forKey: "vocab_size") }, contains: ["vocab_size", "missing"])
        expectError(try copy("llama") { $0["rope_scaling"] = ["rope_type": "yarn", "factor": 2.0] }, contains: ["yarn"])
        expectError(try copy("llama") { $0["vocab_size"] = 300 }, contains: ["model.embed_tokens.weight", "[300, 64]"])
    }

    func testMalformedConfigJSON() throws {
        let dir = try copy("qwen2")
        try Data("{ not json".utf8).write(to: dir.appendingPathComponent("config.json"))
        expectError(dir, contains: ["config.json", "not valid JSON"])
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        expectError(dir, contains: ["missing file", "config.json"])
    }

    func testMissingAndUnexpectedTensorsAreNamed() throws {
        let src = try FixtureModel("llama").load()
        let store = try WeightStore(folder: FixtureModel.root.appendingPathComponent("llama"))
        // Rewrite the weights without one tensor, then with an extra one.
        func rewrite(_ dir: URL, drop: String?, extra: String?) throws {
            var w = SafeTensorsWriter()
            for name in store.names where name != drop { try w.addUnchanged(name, from: store) }
            if let extra { w.add(extra, floats: [1, 2], shape: [2], as: .f32) }
            try w.write(to: dir.appendingPathComponent("model.safetensors"))
        }
        let a = try copy("llama")
        try rewrite(a, drop: "model.layers.1.mlp.down_proj.weight", extra: nil)
        expectError(a, contains: ["missing tensors", "model.layers.1.mlp.down_proj.weight"])
        let b = temp.appendingPathComponent("b")
        try FileManager.default.copyItem(at: a, to: b)
        try rewrite(b, drop: nil, extra: "model.layers.0.surprise.weight")
        expectError(b, contains: ["unexpected tensors", "model.layers.0.surprise.weight"])
        _ = src
    }

    func testTokenIdsOutsideVocabularyAreRejected() throws {
        let model = try FixtureModel("qwen2").load()
        XCTAssertThrowsError(try model.prefill([[1, 2, 999_999]])) { XCTAssertTrue("\($0)".contains("999999")) }
        XCTAssertThrowsError(try model.prefill([[]]))
        XCTAssertThrowsError(try model.prefill([]))
    }

    func testConfigStylesAndFamiliesDecode() throws {
        for name in FixtureModel.names {
            let (_, c) = try ModelLoader.readConfig(directory: FixtureModel.root.appendingPathComponent(name))
            let fixture = try JSONSerialization.jsonObject(
                with: Data(contentsOf: FixtureModel.root.appendingPathComponent(name).appendingPathComponent("fixture.json"))) as? [String: Any]
            if let style = fixture?["config_style"] as? String, style == "v4" || style == "v5" {
                XCTAssertEqual(c.configStyle, style, name)
            }
        }
        let (_, g2) = try ModelLoader.readConfig(directory: FixtureModel.root.appendingPathComponent("gemma2"))
        XCTAssertEqual(g2.slidingWindows.map { $0 != nil }, [true, false, true])
        XCTAssertNotNil(g2.blocks[0].attention.softcap)
        let (_, l) = try ModelLoader.readConfig(directory: FixtureModel.root.appendingPathComponent("llama_bf16"))
        XCTAssertEqual(l.eosTokenIds, [2, 3])
    }
}
