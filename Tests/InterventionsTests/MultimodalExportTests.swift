import XCTest
import ModelFormats
import Compute
@testable import Interventions
@testable import Models

/// Exports of the post-norm families (Gemma-3 multimodal and text, OLMo-2) against transformers directly,
/// and the multimodal folder's other towers through a dtype-converting export.
final class MultimodalExportTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("steer-mm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// Hook ablation on the original model = transformers' logits of the abliterated export (1e-4 bar).
    func testHookAblationEqualsTransformersOnTheExport() throws {
        for name in AbliterationExportTests.postNormModels {
            let fx = try InterventionFixture(name)
            let r = try Direction.read(from: fx.directionURL).requireVector(path: fx.directionURL.path)
            let original = try ModelLoader.load(directory: Fixtures.model(name))
            let hooks = Hooks(try DirectionalAblation.matchingWeightEdit(direction: r, layers: nil).edits(for: original))
            let hooked = try allLogits(original, try fx.ints("input_ids"), hooks: hooks)
            let diff = maxAbsDiff(hooked, try fx.floats("logits.plain"))
            print("hook ablation \(name) vs transformers on the export: max |Δ| = \(diff)")
            XCTAssertLessThan(diff, AbliterationExportTests.tolerance, name)
        }
    }

    /// A bf16 export of the multimodal folder converts and edits only the text model: the vision tower and
    /// projector keep their bytes and dtype, the head is untied next to the text model, and the tensor
    /// names are the source's (plus the head).
    func testConvertedMultimodalExportKeepsTheOtherTowers() throws {
        let src = Fixtures.model("gemma3")
        let r = try Direction.read(from: try InterventionFixture("gemma3").directionURL).requireVector(path: "")
        let out = scratch.appendingPathComponent("bf16")
        var options = AbliterationOptions()
        options.outputDType = .bf16
        let report = try WeightOrthogonalizer.export(model: src, direction: r, to: out, options: options)
        let a = try WeightStore(folder: src), b = try WeightStore(folder: out)
        XCTAssertTrue(report.untiedHead)
        XCTAssertEqual(b.names, (a.names + ["language_model.lm_head.weight"]).sorted())
        XCTAssertTrue(report.editedTensors.allSatisfy { $0.hasPrefix("language_model.") }, "\(report.editedTensors)")
        let towers = Gemma3.layout(of: a).skipped(in: a.names)
        XCTAssertFalse(towers.isEmpty)
        for t in a.names {
            if towers.contains(t) {
                XCTAssertEqual(Array(try b.rawBytes(t)), Array(try a.rawBytes(t)), "\(t) changed")
            } else {
                XCTAssertEqual(try b.dtype(t), .bf16, t)
            }
        }
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(config["tie_word_embeddings"] as? Bool, false)
        XCTAssertNotNil(config["vision_config"])
        XCTAssertNoThrow(try ModelLoader.load(directory: out))
    }

    /// The same export from transformers 5's in-memory naming (`model.language_model.*`, head `lm_head.weight`):
    /// the edit keeps those names and equals hook ablation.
    func testExportOfInMemoryNaming() throws {
        let store = try WeightStore(folder: Fixtures.model("gemma3"))
        let src = scratch.appendingPathComponent("in-memory")
        try FileManager.default.copyItem(at: Fixtures.model("gemma3"), to: src)
        var w = SafeTensorsWriter()
        for name in store.names {
            let text = name.hasPrefix("language_model.model.")
            try w.addUnchanged(name, from: store, as: text ? "model.language_model." + name.dropFirst(21) : "model." + name)
        }
        try w.write(to: src.appendingPathComponent("model.safetensors"))
        let fx = try InterventionFixture("gemma3")
        let r = try Direction.read(from: fx.directionURL).requireVector(path: "")
        let out = scratch.appendingPathComponent("in-memory-export")
        let report = try WeightOrthogonalizer.export(model: src, direction: r, to: out)
        XCTAssertTrue(report.editedTensors.contains("model.language_model.layers.0.self_attn.o_proj.weight"), "\(report.editedTensors)")
        XCTAssertTrue(report.editedTensors.contains("lm_head.weight"))
        XCTAssertFalse(report.editedTensors.contains { $0.contains("vision") || $0.contains("projector") })
        let original = try ModelLoader.load(directory: src)
        let hooks = Hooks(try DirectionalAblation.matchingWeightEdit(direction: r, layers: nil).edits(for: original))
        let ids = try fx.ints("input_ids")
        let exported = try allLogits(try ModelLoader.load(directory: out), ids), hooked = try allLogits(original, ids, hooks: hooks)
        XCTAssertLessThanOrEqual(maxAbsDiff(exported, hooked), exportRoundingBound(original, exported, hooked, tokens: ids.count))
        XCTAssertLessThan(maxAbsDiff(exported, try fx.floats("logits.plain")), AbliterationExportTests.tolerance)
    }
}
