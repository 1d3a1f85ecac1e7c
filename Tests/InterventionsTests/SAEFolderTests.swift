import Foundation
import Interventions
import Models
import XCTest

/// SAELens folders (scripts/make_gradient_fixtures.py): both cfg.json layouts read, every bad folder a
/// clear error naming the file, key or tensor; steering along a latent as edits at the SAE's hook.
final class SAEFolderTests: XCTestCase {
    static let saes = Fixtures.root.appendingPathComponent("gradient")
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("steer-sae-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    func testBothLayoutsAndEveryArchitecture() throws {
        let jump = try SparseAutoencoder(folder: Self.saes.appendingPathComponent("sae_jumprelu")).config
        XCTAssertEqual(jump.architecture, .jumpReLU)
        XCTAssertEqual([jump.dIn, jump.dSae, jump.layer], [64, 96, 0])
        XCTAssertEqual(jump.point, .residPost)
        XCTAssertEqual(jump.version, "6.18.0")
        let topk = try SparseAutoencoder(folder: Self.saes.appendingPathComponent("sae_topk")).config
        XCTAssertEqual(topk.architecture, .topK(5))
        XCTAssertEqual(topk.point, .residPre)
        let old = try SparseAutoencoder(folder: Self.saes.appendingPathComponent("sae_standard"))
        XCTAssertEqual(old.config.architecture, .standard)
        XCTAssertEqual(old.config.hookName, "blocks.1.hook_resid_mid")
        XCTAssertNil(old.config.version)
        XCTAssertEqual(old.streamPoint, StreamPoint(layer: 1, point: .residMid))
        XCTAssertEqual(try SparseAutoencoder(folder: Self.saes.appendingPathComponent("sae_jumprelu")).streamPoint, StreamPoint(layer: 1))
    }

    /// A copy of fixture `name` with its cfg.json edited by `edit` (and its weights replaced when `weights` is given).
    func variant(_ name: String, edit: (inout [String: Any]) -> Void) throws -> URL {
        let source = Self.saes.appendingPathComponent(name), folder = temp.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: folder)
        let url = folder.appendingPathComponent("cfg.json")
        var cfg = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&cfg)
        try JSONSerialization.data(withJSONObject: cfg).write(to: url)
        return folder
    }

    func expectError(_ folder: URL, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SparseAutoencoder(folder: folder), file: file, line: line) { error in
            let text = "\(error)"
            for f in fragments { XCTAssertTrue(text.contains(f), "'\(text)' does not mention '\(f)'", file: file, line: line) }
        }
    }

    func testBadFoldersAreClearErrors() throws {
        let empty = temp.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        expectError(empty, ["cfg.json", empty.path])
        let noWeights = try variant("sae_jumprelu") { _ in }
        try FileManager.default.removeItem(at: noWeights.appendingPathComponent("sae_weights.safetensors"))
        expectError(noWeights, ["sae_weights.safetensors"])
        expectError(try variant("sae_jumprelu") { $0["architecture"] = "gated" }, ["architecture 'gated'", "standard, jumprelu, topk"])
        expectError(try variant("sae_jumprelu") { $0["metadata"] = ["sae_lens_version": "6.1.0", "hook_name": "blocks.0.hook_mlp_out"] },
                    ["blocks.0.hook_mlp_out", "residual stream"])
        expectError(try variant("sae_jumprelu") { $0["metadata"] = ["sae_lens_version": "6.1.0", "hook_name": "blocks.0.attn.hook_z"] },
                    ["blocks.0.attn.hook_z"])
        expectError(try variant("sae_jumprelu") { $0["metadata"] = ["sae_lens_version": "6.1.0"] }, ["metadata.hook_name", "missing"])
        expectError(try variant("sae_topk") { $0["normalize_activations"] = "layer_norm" }, ["normalize_activations 'layer_norm'"])
        expectError(try variant("sae_standard") { $0["normalize_activations"] = true }, ["expected_average_only_in"])
        expectError(try variant("sae_topk") { $0["k"] = 0 }, ["'k'"])
        expectError(try variant("sae_topk") { $0["rescale_acts_by_decoder_norm"] = true }, ["rescale_acts_by_decoder_norm"])
        expectError(try variant("sae_standard") { $0["hook_point_head_index"] = 3 }, ["hook_point_head_index"])
        expectError(try variant("sae_jumprelu") { $0["d_sae"] = 95 }, ["W_enc", "[64, 96]", "[64, 95]"])
        expectError(try variant("sae_jumprelu") { $0["d_in"] = 63 }, ["W_enc", "[63, 96]"])
        expectError(try variant("sae_standard") { $0["d_in"] = "64" }, ["d_in"])
    }

    /// Old configs: `hook_name` at the top level, topk from `activation_fn` + `activation_fn_kwargs`.
    func testOlderTopKConfig() throws {
        let folder = try variant("sae_topk") { cfg in
            cfg["metadata"] = nil; cfg["architecture"] = nil; cfg["k"] = nil
            cfg["hook_name"] = "blocks.1.hook_resid_pre"; cfg["activation_fn"] = "topk"; cfg["activation_fn_kwargs"] = ["k": 5]
        }
        let c = try SparseAutoencoder(folder: folder).config
        XCTAssertEqual(c.architecture, .topK(5))
        XCTAssertEqual(c.layer, 1)
    }

    func testModelChecksAndLatentSteering() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("qwen2"))
        let sae = try SparseAutoencoder(folder: Self.saes.appendingPathComponent("sae_jumprelu"), backend: model.backend)
        try sae.check(model: model)
        let other = try ModelLoader.load(directory: Fixtures.model("qwen3"))
        XCTAssertNotEqual(other.config.hiddenSize, 64)
        XCTAssertThrowsError(try sae.check(model: other)) {
            XCTAssertTrue("\($0)".contains("its d_in is 64, the model's d_model is \(other.config.hiddenSize)"), "\($0)")
        }
        let late = try variant("sae_jumprelu") { $0["metadata"] = ["sae_lens_version": "6.1.0", "hook_name": "blocks.7.hook_resid_pre"] }
        XCTAssertThrowsError(try SparseAutoencoder(folder: late).check(model: model)) { XCTAssertTrue("\($0)".contains("layer 7"), "\($0)") }
        let row = try sae.decoderRow(57)
        let added = try LatentSteering(sae: sae, latent: 57, mode: .add(scale: 3)).edits(for: model)
        XCTAssertEqual(added.count, 1)
        XCTAssertEqual(added[0].point, .residPost)
        XCTAssertEqual(added[0].layers, [0])
        guard case .add(let v, let s) = added[0].op else { return XCTFail("not an addition") }
        XCTAssertEqual(v, row)
        XCTAssertEqual(s, 3)
        let ablated = try LatentSteering(sae: sae, latent: 57, mode: .ablate).edits(for: model)
        guard case .projectOut(let unit, 1) = ablated[0].op else { return XCTFail("not an ablation") }
        let norm = row.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        for (a, b) in zip(unit, row) { XCTAssertEqual(Double(a), Double(b) / norm, accuracy: 1e-7) }
        XCTAssertThrowsError(try sae.decoderRow(96))
        XCTAssertThrowsError(try LatentSteering.parse("no-index"))
        XCTAssertEqual(try LatentSteering.parse("/a:b/sae:12").latent, 12)
        XCTAssertEqual(try LatentSteering.parse("/a:b/sae:12").folder.path, "/a:b/sae")
    }
}
