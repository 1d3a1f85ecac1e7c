import XCTest
import ModelFormats
import Compute
@testable import Interventions
@testable import Models

/// Weight orthogonalization exports against the Python re-implementation and against hook ablation.
final class AbliterationExportTests: XCTestCase {
    /// The fidelity bar against transformers (see FidelityTests.tolerance).
    static let tolerance: Float = 1e-4
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("steer-abl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func options(_ fx: InterventionFixture, _ variant: String, _ direction: Direction) throws -> AbliterationOptions {
        let spec = fx.spec(variant)
        var o = AbliterationOptions(normPreserving: spec["norm_preserving"] as? Bool ?? false)
        if let range = spec["layers"] as? [Int], range.count == 2 { o.layers = Array(range[0]...range[1]) }
        if spec["projected"] as? Bool ?? false { o.projectOut = try direction.harmlessMeanRow(path: fx.directionURL.path) }
        return o
    }

    /// Steer's export has the edited tensors of the Python re-implementation (both edit in Float64 and round
    /// once to the tensor's dtype, so within one unit in its last place), every other tensor byte for byte,
    /// and — loaded back into Steer — the logits transformers computes on the Python export.
    /// The projected variant is the exception: Steer rounds ĥ and the projected r′ = r − (r·ĥ)ĥ to Float32 before
    /// normalising (‖δr′‖ ≤ 4u·‖r‖, so ‖δû‖ ≤ 8u·‖r‖/‖r′‖), which moves an edited entry of a vector w by at most
    /// 2·‖δû‖·‖w‖; `projectedSlack` is that factor, times the largest row or column norm of the tensor.
    func testExportMatchesPythonEditAndTransformers() throws {
        for name in ["llama", "llama_bf16", "qwen2", "qwen3", "gemma2", "qwen"] + Self.postNormModels {
            let fx = try InterventionFixture(name)
            let direction = try Direction.read(from: fx.directionURL)
            let source = try WeightStore(folder: Fixtures.model(name))
            for variant in fx.variants {
                let projected = fx.spec(variant)["projected"] as? Bool ?? false
                let slack = projected ? try projectedSlack(direction) : 0
                let out = scratch.appendingPathComponent("\(name)-\(variant)")
                let report = try WeightOrthogonalizer.export(model: Fixtures.model(name), direction: try direction.requireVector(path: ""),
                                                              to: out, options: try options(fx, variant, direction))
                XCTAssertEqual(report.editedTensors.sorted(), fx.editedTensors(variant), "\(name)/\(variant)")
                let exported = try WeightStore(folder: out)
                var worst: Float = 0
                for t in fx.editedTensors(variant) {
                    let ref = try fx.floats("tensor.\(variant).\(t)"), got = try exported.floats(t)
                    let info = try exported.info(t)
                    XCTAssertEqual(info.dtype, try fx.file.tensorInfo("tensor.\(variant).\(t)").dtype, t)
                    let projection = slack == 0 ? 0 : slack * Self.largestVectorNorm(ref, shape: info.shape)
                    for i in 0..<ref.count {
                        let d = abs(ref[i] - got[i])
                        worst = max(worst, d / max(1, abs(ref[i])))
                        if d > storageULP(max(abs(ref[i]), abs(got[i])), info.dtype) + projection {
                            XCTFail("\(name)/\(variant) \(t)[\(i)]: \(got[i]) vs \(ref[i])"); break
                        }
                    }
                }
                for t in source.names where !report.editedTensors.contains(t) {
                    XCTAssertEqual(Array(try exported.rawBytes(t)), Array(try source.rawBytes(t)), "\(name)/\(variant): \(t) changed")
                }
                let model = try ModelLoader.load(directory: out)
                let diff = maxAbsDiff(try allLogits(model, try fx.ints("input_ids")), try fx.floats("logits.\(variant)"))
                print("export \(name)/\(variant): tensors vs python max rel Δ = \(worst); Steer on export vs transformers on python export: max |Δ| = \(diff)")
                XCTAssertLessThan(diff, Self.tolerance, "\(name)/\(variant)")
            }
        }
    }

    /// 16u·‖r‖/‖r′‖ for the projected variant (see above).
    func projectedSlack(_ direction: Direction) throws -> Float {
        let r = try direction.requireVector(path: "").map(Double.init), h = try direction.harmlessMeanRow(path: "").map(Double.init)
        let hn = h.reduce(0) { $0 + $1 * $1 }.squareRoot(), p = zip(r, h).reduce(0) { $0 + $1.0 * $1.1 } / hn
        let projected = zip(r, h).map { $0 - p * $1 / hn }
        let norm = { (v: [Double]) in v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        return Float(16 * RoundingBound.u * norm(r) / norm(projected))
    }

    /// The largest Euclidean norm of a row or a column of a matrix (of the whole vector for a 1-D tensor).
    static func largestVectorNorm(_ values: [Float], shape: [Int]) -> Float {
        guard shape.count == 2 else { return values.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        var rows = [Float](repeating: 0, count: shape[0]), columns = [Float](repeating: 0, count: shape[1])
        for i in 0..<shape[0] { for j in 0..<shape[1] { let x = values[i * shape[1] + j]; rows[i] += x * x; columns[j] += x * x } }
        return (rows + columns).max().map { $0.squareRoot() } ?? 0
    }

    /// Later families with norms after the sublayers: Gemma-3 (a multimodal folder, whose vision tower the
    /// byte-for-byte check above covers, and a text-only one) and OLMo-2 (post-norms only, `w` not `1 + w`).
    static let postNormModels = ["gemma3", "gemma3_text", "olmo2"]

    /// (b) Steer's export loaded into Steer = hook ablation on the original model (f32 models).
    func testExportEqualsHookAblation() throws {
        for name in ["llama", "qwen2", "qwen3", "gemma2", "qwen"] + Self.postNormModels {
            let fx = try InterventionFixture(name)
            let r = try Direction.read(from: fx.directionURL).requireVector(path: fx.directionURL.path)
            for layers in [nil, [1]] as [[Int]?] {
                let out = scratch.appendingPathComponent("\(name)-\(layers?.description ?? "all")")
                try WeightOrthogonalizer.export(model: Fixtures.model(name), direction: r, to: out, options: AbliterationOptions(layers: layers))
                let original = try ModelLoader.load(directory: Fixtures.model(name))
                let hooks = Hooks(try DirectionalAblation.matchingWeightEdit(direction: r, layers: layers).edits(for: original))
                let ids = try fx.ints("input_ids")
                let exported = try allLogits(try ModelLoader.load(directory: out), ids), hooked = try allLogits(original, ids, hooks: hooks)
                let diff = maxAbsDiff(exported, hooked), bound = exportRoundingBound(original, exported, hooked, tokens: ids.count)
                print("export vs hook ablation \(name) layers \(layers?.description ?? "all"): max |Δ| = \(diff) (bound \(bound))")
                XCTAssertLessThanOrEqual(diff, bound, name)
            }
        }
    }

    /// (e) Same tensor names, dtypes and shards; other files copied; config untied only when needed;
    /// the edit recorded; the source folder untouched.
    func testExportFolderLayoutAndSourceUntouched() throws {
        for name in ["qwen3", "llama"] {
            let src = Fixtures.model(name)
            let before = try snapshot(src)
            let r = try Direction.read(from: try InterventionFixture(name).directionURL).requireVector(path: "")
            let out = scratch.appendingPathComponent(name)
            let report = try WeightOrthogonalizer.export(model: src, direction: r, to: out)
            XCTAssertEqual(try snapshot(src), before, "\(name): source folder changed")
            let a = try WeightStore(folder: src), b = try WeightStore(folder: out)
            XCTAssertEqual(a.layout, b.layout)
            let extra = report.untiedHead ? ["lm_head.weight"] : []
            XCTAssertEqual(b.names, (a.names + extra).sorted())
            for t in a.names {
                XCTAssertEqual(try b.info(t).dtype, try a.info(t).dtype, t)
                XCTAssertEqual(try b.info(t).shape, try a.info(t).shape, t)
                XCTAssertEqual(try b.fileName(containing: t), try a.fileName(containing: t), t)
            }
            if report.untiedHead {
                XCTAssertEqual(Array(try b.rawBytes("lm_head.weight")), Array(try a.rawBytes("model.embed_tokens.weight")))
            }
            for f in try FileManager.default.contentsOfDirectory(atPath: src.path) where !f.hasSuffix(".safetensors") || f == "reference.safetensors" {
                let x = try Data(contentsOf: src.appendingPathComponent(f)), y = try Data(contentsOf: out.appendingPathComponent(f))
                if f == "config.json" && report.untiedHead {
                    var cx = try XCTUnwrap(JSONSerialization.jsonObject(with: x) as? [String: Any])
                    var cy = try XCTUnwrap(JSONSerialization.jsonObject(with: y) as? [String: Any])
                    XCTAssertEqual(cy["tie_word_embeddings"] as? Bool, false)
                    cx["tie_word_embeddings"] = nil; cy["tie_word_embeddings"] = nil
                    XCTAssertEqual(NSDictionary(dictionary: cx), NSDictionary(dictionary: cy))
                } else if f != WeightStore.indexFileName {
                    XCTAssertEqual(x, y, "\(name): \(f) not copied unchanged")
                }
            }
            XCTAssertEqual(report.untiedHead, name == "qwen3")
            let meta = b.files[0].metadata
            XCTAssertEqual(meta["format"], "pt")
            XCTAssertNotNil(meta["steer.edit"])
            XCTAssertEqual(meta["steer.untied_head"], String(report.untiedHead))
            if b.layout == .sharded {
                let index = try ShardIndex.read(out.appendingPathComponent(WeightStore.indexFileName))
                XCTAssertEqual(index.totalSize, b.tensorByteCount)
            }
        }
    }

    /// (f) Bad inputs fail with typed errors and write nothing.
    func testBadInputs() throws {
        let src = Fixtures.model("llama")
        let r = try Direction.read(from: Fixtures.interventions.appendingPathComponent("direction_d64.safetensors")).requireVector(path: "")
        let out = scratch.appendingPathComponent("out")
        XCTAssertThrowsError(try WeightOrthogonalizer.export(model: src, direction: Array(r.prefix(10)), to: out)) {
            XCTAssertEqual($0 as? InterventionError, .dimensionMismatch(what: "the direction", expected: 64, actual: 10))
        }
        XCTAssertThrowsError(try Direction.read(from: scratch.appendingPathComponent("nope.safetensors"))) {
            guard case .missingFile? = $0 as? InterventionError else { return XCTFail("\($0)") }
        }
        let inside = src.appendingPathComponent("abliterated")
        XCTAssertThrowsError(try WeightOrthogonalizer.export(model: src, direction: r, to: inside)) {
            guard case .outputInsideInput? = $0 as? InterventionError else { return XCTFail("\($0)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: inside.path))
        XCTAssertThrowsError(try WeightOrthogonalizer.export(model: src, direction: r, to: src.appendingPathComponent("."))) {
            guard case .outputInsideInput? = $0 as? InterventionError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try WeightOrthogonalizer.export(model: src, direction: r, to: out, options: AbliterationOptions(layers: [5]))) {
            guard case .layerOutOfRange? = $0 as? InterventionError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try WeightOrthogonalizer.export(model: src, direction: [Float](repeating: 0, count: 64), to: out)) {
            guard case .degenerateDirection? = $0 as? InterventionError else { return XCTFail("\($0)") }
        }
        try WeightOrthogonalizer.export(model: src, direction: r, to: out)
        XCTAssertThrowsError(try WeightOrthogonalizer.export(model: src, direction: r, to: out)) {
            XCTAssertEqual($0 as? InterventionError, .outputExists(out.path))
        }
        XCTAssertNoThrow(try WeightOrthogonalizer.export(model: src, direction: r, to: out, options: AbliterationOptions(force: true)))
        // Forcing a single-file export over a sharded one removes the stale shards and index.
        let sharded = scratch.appendingPathComponent("sharded")
        let r48 = try Direction.read(from: try InterventionFixture("qwen3").directionURL).requireVector(path: "")
        try WeightOrthogonalizer.export(model: Fixtures.model("qwen3"), direction: r48, to: sharded)
        try WeightOrthogonalizer.export(model: src, direction: r, to: sharded, options: AbliterationOptions(force: true))
        let left = try FileManager.default.contentsOfDirectory(atPath: sharded.path).filter { $0.hasSuffix(".safetensors") || $0.hasSuffix(".json") }
        XCTAssertEqual(Set(left), ["model.safetensors", "reference.safetensors", "config.json", "generation_config.json", "fixture.json"])
        XCTAssertNoThrow(try ModelLoader.load(directory: sharded))
        // A direction file with the wrong shape or dtype.
        let bad = scratch.appendingPathComponent("bad.safetensors")
        var w = SafeTensorsWriter()
        w.add("direction", floats: [1, 2, 3, 4], shape: [2, 2], as: .f32)
        try w.write(to: bad)
        XCTAssertThrowsError(try Direction.read(from: bad)) {
            guard case .badDirectionFile? = $0 as? InterventionError else { return XCTFail("\($0)") }
        }
        // A direction whose length is not the model's d_model, via the hook path.
        let model = try ModelLoader.load(directory: src)
        XCTAssertThrowsError(Hooks(try DirectionalAblation(direction: [1, 2, 3]).edits(for: model))) {
            XCTAssertEqual($0 as? InterventionError, .dimensionMismatch(what: "the ablation direction", expected: 64, actual: 3))
        }
    }

    func testUntiedConfigText() throws {
        let a = try WeightOrthogonalizer.untiedConfig("{\n  \"a\": 1,\n  \"tie_word_embeddings\": true\n}\n", path: "c")
        XCTAssertEqual(a, "{\n  \"a\": 1,\n  \"tie_word_embeddings\": false\n}\n")
        let b = try WeightOrthogonalizer.untiedConfig("{\n  \"model_type\": \"gemma\"\n}", path: "c")
        XCTAssertEqual(b, "{\n  \"tie_word_embeddings\": false,\n  \"model_type\": \"gemma\"\n}")
    }

    /// Direction files round-trip, with metadata and the optional tensors.
    func testDirectionFileRoundTrip() throws {
        let url = scratch.appendingPathComponent("d.safetensors")
        let d = Direction(vector: [1, 2, 3], candidates: .init(shape: [2, 2, 3], values: (0..<12).map(Float.init)),
                          harmlessMean: .init(shape: [2, 3], values: [1, 0, 0, 0, 1, 0]),
                          metadata: [Direction.Key.layer: "1", Direction.Key.method: "diff-in-means"])
        try d.write(to: url)
        let e = try Direction.read(from: url)
        XCTAssertEqual(e, d)
        XCTAssertEqual(e.layer, 1)
        XCTAssertEqual(try e.candidate(position: 1, layer: 0), [6, 7, 8])
        XCTAssertEqual(try e.harmlessMeanRow(path: ""), [0, 1, 0])
        XCTAssertThrowsError(try e.check(dModel: 4, path: "d"))
    }

    private func snapshot(_ dir: URL) throws -> [String: String] {
        var out: [String: String] = [:]
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let url = dir.appendingPathComponent(f)
            let attrs = try FileManager.default.attributesOfItem(atPath: url.path)
            let data = try Data(contentsOf: url)
            out[f] = "\(data.count) \(data.hashValue) \(String(describing: attrs[.modificationDate]))"
        }
        return out
    }
}
