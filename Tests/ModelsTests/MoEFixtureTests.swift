import XCTest
import Compute
import ModelFormats
@testable import Models

/// What the mixture-of-experts fixtures (scripts/make_moe_fixtures.py) check beyond `FidelityTests`
/// (which runs them with every other family): the other config style, the block layout each family
/// declares, MXFP4 decoding against transformers' own dequantization, and clear refusals.
final class MoEFixtureTests: XCTestCase {
    static let names = ["qwen3_moe", "mixtral", "gpt_oss", "gpt_oss_mxfp4"]

    /// The fixture folder with `config.<style>.json` (the other style) as its config.json, in a scratch copy.
    func otherStyle(_ name: String) throws -> URL {
        let src = FixtureModel.root.appendingPathComponent(name), fm = FileManager.default
        let other = try XCTUnwrap(try fm.contentsOfDirectory(atPath: src.path).first { $0.hasPrefix("config.v") })
        let dir = fm.temporaryDirectory.appendingPathComponent("steer-moe-\(name)-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in try fm.contentsOfDirectory(atPath: src.path) where f != "config.json" && !f.hasPrefix("config.v") {
            try fm.createSymbolicLink(at: dir.appendingPathComponent(f), withDestinationURL: src.appendingPathComponent(f))
        }
        try fm.copyItem(at: src.appendingPathComponent(other), to: dir.appendingPathComponent("config.json"))
        return dir
    }

    /// v4 (as published) and v5 (as transformers 5 writes) configs give the same blocks and the same logits.
    func testBothConfigStylesMatchTransformers() throws {
        for name in Self.names {
            let f = try FixtureModel(name)
            let dir = try otherStyle(name)
            defer { try? FileManager.default.removeItem(at: dir) }
            let (_, a) = try ModelLoader.readConfig(directory: f.directory), (_, b) = try ModelLoader.readConfig(directory: dir)
            // (gpt-oss's published v4 config carries layer_types, so both may read as v5: the rope keys differ.)
            XCTAssertEqual(a.blocks, b.blocks, name)
            let model = try ModelLoader.load(directory: dir)
            let (_, logits) = try model.prefill([try f.ints("input_ids")], logits: .all)
            let diff = maxAbsDiff(try XCTUnwrap(logits).array, try f.floats("logits"))
            XCTAssertLessThan(diff, FidelityTests.tolerance, "\(name) (\(b.configStyle)): logits differ by \(diff)")
        }
    }

    /// Each family's blocks: experts (total / active), routing, dense layers, sinks, windows.
    func testBlockLayouts() throws {
        func config(_ name: String) throws -> ModelConfig { try ModelLoader.readConfig(directory: FixtureModel.root.appendingPathComponent(name)).config }
        let q = try config("qwen3_moe")
        XCTAssertEqual(q.blocks.map { $0.mlp.experts?.experts }, [8, nil, 8])
        XCTAssertEqual(q.blocks[0].mlp.experts?.routing, .softmaxTopK(normalize: false))
        XCTAssertEqual(q.blocks[1].mlp, .gated(width: 64, activation: .silu))
        let m = try config("mixtral")
        XCTAssertEqual(m.blocks[0].mlp.experts, ExpertsSpec(experts: 4, active: 2, width: 32, activation: .silu, routing: .softmaxTopK(normalize: true)))
        XCTAssertEqual(m.blocks.map(\.attention.window), [6, 6])
        for name in ["gpt_oss", "gpt_oss_mxfp4"] {
            let g = try config(name)
            XCTAssertEqual(g.blocks.map(\.attention.window), [6, nil], name)
            XCTAssertTrue(g.blocks.allSatisfy(\.attention.sinks), name)
            XCTAssertEqual(g.blocks[1].mlp.experts, ExpertsSpec(experts: 4, active: 2, width: 32,
                                                                activation: .clampedSwiGLU(alpha: 1.702, limit: 1.5), routing: .topKSoftmax), name)
        }
    }

    /// Steer's MXFP4 decoding equals transformers' `convert_moe_packed_tensors` bit for bit: on layer 0's
    /// packed experts and on every nibble under edge scales (2⁻¹²⁷ … 2¹²⁸: ldexp, so 0.5·2¹²⁸ is finite, zeros stay zeros).
    func testMXFP4DecodingEqualsTransformers() throws {
        let dir = FixtureModel.root.appendingPathComponent("gpt_oss_mxfp4")
        let ref = try SafeTensorsFile(url: dir.appendingPathComponent("mxfp4_reference.safetensors"))
        let weights = try SafeTensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        var cases = [("edge", try ref.rawBytes("edge_blocks"), try ref.rawBytes("edge_scales"), try ref.floats("edge_dequantized"),
                      try ref.tensorInfo("edge_blocks").shape)]
        for stem in ["model.layers.0.mlp.experts.gate_up_proj", "model.layers.0.mlp.experts.down_proj"] {
            cases.append((stem, try weights.rawBytes(stem + "_blocks"), try weights.rawBytes(stem + "_scales"), try ref.floats(stem),
                          try weights.tensorInfo(stem + "_blocks").shape))
        }
        for (what, blocks, scales, want, shape) in cases {
            let (e, rows, groups) = (shape[0], shape[1], shape[2]), cols = groups * MXFP4.blockSize
            XCTAssertEqual(want.count, e * rows * cols, what)
            var row = [Float](repeating: 0, count: cols), mismatches = 0
            for x in 0..<e {
                for r in 0..<rows {
                    let i = x * rows + r
                    row.withUnsafeMutableBufferPointer {
                        MXFP4.decodeRow(blocks: blocks.baseAddress! + i * groups * MXFP4.blockBytes, scales: scales.baseAddress! + i * groups,
                                        cols: cols, into: $0.baseAddress!)
                    }
                    // transformers' result is [experts, cols, rows] (the parameter's orientation).
                    for c in 0..<cols {
                        let w = want[(x * cols + c) * rows + r], g = row[c]
                        if !(w.bitPattern == g.bitPattern || (w.isNaN && g.isNaN)) { mismatches += 1 }
                    }
                }
            }
            XCTAssertEqual(mismatches, 0, "\(what): \(mismatches) values differ from transformers' dequantization")
        }
        XCTAssertTrue(try ref.floats("edge_dequantized").contains { $0.isInfinite })
    }

    /// Packed MXFP4 and its float32 twin load to the same routed experts (every MXFP4 value is exact in BF16 and F32).
    func testMXFP4LoadsInBF16() throws {
        let f = try FixtureModel("gpt_oss_mxfp4")
        let model = try f.load(.bf16)
        let (_, logits) = try model.prefill([try f.ints("input_ids")], logits: .all)
        let out = try XCTUnwrap(logits).array
        XCTAssertFalse(out.contains { !$0.isFinite })
    }

    /// Gradients refuse routed experts and sinks with a clear error rather than a wrong answer.
    func testGradientsRefuseExperts() throws {
        for name in ["qwen3_moe", "gpt_oss"] {
            let model = try FixtureModel(name).load()
            XCTAssertThrowsError(try model.metricGradients([[1, 2, 3]], unit: [Float](repeating: 0.1, count: model.config.hiddenSize),
                                                           metricLayer: 1, at: StreamPoint(layer: 0))) {
                XCTAssertTrue("\($0)".contains("unsupported"), "\(name): \($0)")
            }
        }
    }

    /// Hostile expert counts name the key or the tensor that does not match them; an unknown type lists the MoE families.
    func testBadExpertConfigAndMissingTensorAreNamed() throws {
        let src = FixtureModel.root.appendingPathComponent("qwen3_moe"), fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("steer-moe-bad-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        try fm.createSymbolicLink(at: dir.appendingPathComponent("model.safetensors"), withDestinationURL: src.appendingPathComponent("model.safetensors"))
        var cfg = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: src.appendingPathComponent("config.json"))) as? [String: Any])
        for (key, value, mention) in [("num_experts_per_tok", 9, "num_experts_per_tok"), ("num_experts", 0, "missing tensors: model.layers.0.mlp.gate_proj"),
                                      ("num_experts", 9, "model.layers.0.mlp.gate.weight")] as [(String, Int, String)] {
            var c = cfg
            c[key] = value
            try JSONSerialization.data(withJSONObject: c).write(to: dir.appendingPathComponent("config.json"))
            XCTAssertThrowsError(try ModelLoader.load(directory: dir), "\(key) = \(value)") {
                XCTAssertTrue("\($0)".contains(mention), "\(key) = \(value): \($0)")
            }
        }
        cfg["model_type"] = "qwen3_moe_v9"
        try JSONSerialization.data(withJSONObject: cfg).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try ModelLoader.load(directory: dir)) { e in
            for t in ["qwen3_moe", "mixtral", "gpt_oss"] { XCTAssertTrue("\(e)".contains(t), "\(e)") }
        }
    }
}
