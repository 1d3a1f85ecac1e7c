import XCTest
import ModelFormats
import Compute
@testable import Interventions
@testable import Models

/// Weight orthogonalization of mixture-of-experts models (scripts/make_moe_intervention_fixtures.py): every
/// expert's down projection (and bias) is edited, and the export equals hook ablation — in transformers
/// (asserted by the script) and in Steer.
final class MoEExportTests: XCTestCase {
    static let tolerance = AbliterationExportTests.tolerance
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("steer-moe-abl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// Steer's export: the Python edit's tensors (within one unit in the last place: both edit in Float64
    /// and round once), every other tensor unchanged, and logits within 1e-4 of transformers on the Python
    /// export and of transformers' hook ablation on the original model; Steer's own hook ablation too.
    func testExpertExportsMatchTransformersAndHookAblation() throws {
        for name in ["qwen3_moe", "mixtral", "gpt_oss"] {
            let fx = try InterventionFixture(name)
            let r = try Direction.read(from: fx.directionURL).requireVector(path: fx.directionURL.path)
            let out = scratch.appendingPathComponent(name)
            let report = try WeightOrthogonalizer.export(model: Fixtures.model(name), direction: r, to: out)
            XCTAssertEqual(report.editedTensors.sorted(), fx.editedTensors("plain"), name)
            XCTAssertTrue(report.editedTensors.contains { $0.contains("experts") }, name)
            let exported = try WeightStore(folder: out), source = try WeightStore(folder: Fixtures.model(name))
            for t in fx.editedTensors("plain") {
                let ref = try fx.floats("tensor.plain.\(t)"), got = try exported.floats(t), dtype = try exported.info(t).dtype
                let bad = (0..<ref.count).first { abs(ref[$0] - got[$0]) > storageULP(max(abs(ref[$0]), abs(got[$0])), dtype) }
                XCTAssertNil(bad, "\(name) \(t)[\(bad ?? 0)]")
            }
            for t in source.names where !report.editedTensors.contains(t) {
                XCTAssertEqual(Array(try exported.rawBytes(t)), Array(try source.rawBytes(t)), "\(name): \(t) changed")
            }
            let ids = try fx.ints("input_ids")
            let steerExport = try allLogits(try ModelLoader.load(directory: out), ids)
            let original = try ModelLoader.load(directory: Fixtures.model(name))
            let hooks = Hooks(try DirectionalAblation.matchingWeightEdit(direction: r, layers: nil).edits(for: original))
            let steerHooked = try allLogits(original, ids, hooks: hooks)
            let pairs = [("Steer export vs transformers on the Python export", steerExport, try fx.floats("logits.plain")),
                         ("Steer export vs transformers hook ablation", steerExport, try fx.floats("logits.hook")),
                         ("Steer hook ablation vs transformers hook ablation", steerHooked, try fx.floats("logits.hook"))]
            for (what, a, b) in pairs {
                let diff = maxAbsDiff(a, b)
                print("\(name): \(what): max |Δ| = \(diff)")
                XCTAssertLessThan(diff, Self.tolerance, "\(name): \(what)")
            }
        }
    }

    /// gpt-oss as published (MXFP4 experts): the export holds the dequantized, edited experts in BF16 under
    /// transformers' parameter names, no `*_blocks`/`*_scales`, no `quantization_config`; Steer on it gives
    /// transformers' logits on the Python export of the same edit.
    func testMXFP4ExportIsDequantizedBF16() throws {
        let name = "gpt_oss_mxfp4"
        let fx = try InterventionFixture(name)
        let r = try Direction.read(from: fx.directionURL).requireVector(path: fx.directionURL.path)
        let out = scratch.appendingPathComponent(name)
        let report = try WeightOrthogonalizer.export(model: Fixtures.model(name), direction: r, to: out)
        XCTAssertEqual(report.editedTensors.sorted(), fx.editedTensors("plain"))
        let exported = try WeightStore(folder: out)
        XCTAssertFalse(exported.names.contains { $0.hasSuffix("_blocks") || $0.hasSuffix("_scales") })
        for stem in ["gate_up_proj", "down_proj"] {
            XCTAssertEqual(try exported.info("model.layers.1.mlp.experts.\(stem)").dtype, .bf16, stem)
        }
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertNil(config["quantization_config"])
        XCTAssertEqual(config["model_type"] as? String, "gpt_oss")
        for t in fx.editedTensors("plain") {
            let ref = try fx.floats("tensor.plain.\(t)"), got = try exported.floats(t), dtype = try exported.info(t).dtype
            let bad = (0..<ref.count).first { abs(ref[$0] - got[$0]) > storageULP(max(abs(ref[$0]), abs(got[$0])), dtype) }
            XCTAssertNil(bad, "\(t)[\(bad ?? 0)]")
        }
        let diff = maxAbsDiff(try allLogits(try ModelLoader.load(directory: out), try fx.ints("input_ids")), try fx.floats("logits.plain"))
        print("\(name): Steer on its BF16 export vs transformers on the Python export: max |Δ| = \(diff)")
        XCTAssertLessThan(diff, Self.tolerance)
    }
}
