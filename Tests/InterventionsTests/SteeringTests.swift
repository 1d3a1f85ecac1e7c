import XCTest
import ModelFormats
@testable import Interventions
@testable import Models

/// Activation addition, control vectors (llama.cpp layer convention) and contrastive directions.
final class SteeringTests: XCTestCase {
    /// (d) Addition with scale 0 changes nothing, at prefill and during generation.
    func testAdditionWithScaleZeroChangesNothing() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("llama"))
        let ids = try InterventionFixture("llama").ints("input_ids")
        let r = try Direction.read(from: try InterventionFixture("llama").directionURL).requireVector(path: "")
        let hooks = Hooks(try ActivationAddition(vector: r, layer: 1, scale: 0).edits(for: model))
        XCTAssertEqual(try allLogits(model, ids, hooks: hooks), try allLogits(model, ids))
        let opts = GenerationOptions(maxNewTokens: 8)
        XCTAssertEqual(try model.generate([ids], options: opts, hooks: hooks).tokens, try model.generate([ids], options: opts).tokens)
        // …and a non-zero scale does change the logits.
        let moved = try allLogits(model, ids, hooks: Hooks(try ActivationAddition(vector: r, layer: 1, scale: 1).edits(for: model)))
        XCTAssertGreaterThan(maxAbsDiff(moved, try allLogits(model, ids)), 1e-2)
    }

    /// Addition at `resid_pre[l]` is seen by later hooks at every position, generated tokens included.
    func testAdditionReachesGeneratedTokens() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("llama"))
        let v = (0..<64).map { Float($0 % 7) - 3 }
        var before: [[Float]] = [], after: [[Float]] = []
        // Record resid_post[0] (= resid_pre[1] before the addition) and resid_pre[1] after it.
        let combined = Hooks()
        combined.add(try ActivationAddition(vector: v, layer: 1, scale: 2).edits(for: model))
        combined.add(.residPost, layers: [0]) { act in for t in 0..<act.rows.count { before.append(Array(act.vector(t))) } }
        combined.add(.residPre, layers: [1]) { act in for t in 0..<act.rows.count { after.append(Array(act.vector(t))) } }
        _ = try model.generate([[5, 6, 7]], options: GenerationOptions(maxNewTokens: 4), hooks: combined)
        XCTAssertEqual(before.count, 3 + 3)   // prompt + 3 generation steps (the 4th token needs no forward)
        XCTAssertEqual(after.count, before.count)
        for (b, a) in zip(before, after) {
            // Bit-exact by construction: the hook adds the same rounded 2·v (exact: a power of two) with one rounding.
            for i in 0..<64 { XCTAssertEqual(a[i], b[i] + 2 * v[i]) }
        }
    }

    /// A control vector written as GGUF reads back equal, and applying it = adding `direction.n` at
    /// `resid_post[n]` = adding it at `resid_pre[n + 1]` (pins llama.cpp's layer convention).
    func testControlVectorRoundTripAndLayerConvention() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("gemma2"))   // 3 layers
        let r = try Direction.read(from: try InterventionFixture("gemma2").directionURL).requireVector(path: "")
        let vector = try ContrastiveVectors.controlVector([1: r, 2: r.map { -$0 / 2 }], modelHint: model.config.modelType)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cv-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try vector.write(to: url)
        let back = try ControlVector.read(from: url)
        XCTAssertEqual(back.directions, vector.directions)
        XCTAssertEqual(back.modelHint, "gemma2")
        let ids = [3, 1, 4, 1, 5, 9, 2, 6]
        let steered = try allLogits(model, ids, hooks: Hooks(try ControlVectorSteering(vector: back, scale: 1.5).edits(for: model)))
        // The same by hand: resid_post[1] += 1.5 r, resid_post[2] += 1.5 (-r/2).
        let manual = Hooks()
        manual.add(try ActivationAddition(vector: r, layer: 1, scale: 1.5, point: .residPost).edits(for: model))
        manual.add(try ActivationAddition(vector: r.map { -$0 / 2 }, layer: 2, scale: 1.5, point: .residPost).edits(for: model))
        XCTAssertEqual(steered, try allLogits(model, ids, hooks: manual))
        // direction.1 alone = resid_pre[2] addition (resid_post[n] is resid_pre[n+1]).
        let one = ControlVector(modelHint: "gemma2", directions: [1: r])
        let viaPre = Hooks(try ActivationAddition(vector: r, layer: 2, scale: 0.7).edits(for: model))
        // Bit-exact by construction: both add the same 0.7·r to the same buffer between blocks 1 and 2.
        XCTAssertEqual(try allLogits(model, ids, hooks: Hooks(try ControlVectorSteering(vector: one, scale: 0.7).edits(for: model))),
                       try allLogits(model, ids, hooks: viaPre))
        XCTAssertGreaterThan(maxAbsDiff(steered, try allLogits(model, ids)), 1e-2)
        // Generation with the vector = generation with the resid_post hooks.
        let opts = GenerationOptions(maxNewTokens: 10)
        XCTAssertEqual(try model.generate([ids], options: opts, hooks: Hooks(try ControlVectorSteering(vector: back, scale: 1.5).edits(for: model))).tokens,
                       try model.generate([ids], options: opts, hooks: manual).tokens)
        // Layers the model lacks are refused; so is direction.0 when building one.
        XCTAssertThrowsError(Hooks(try ControlVectorSteering(vector: ControlVector(modelHint: "", directions: [3: r])).edits(for: model)))
        XCTAssertThrowsError(try ContrastiveVectors.controlVector([0: r], modelHint: ""))
    }

    /// Ablation, addition and a control vector together, in registration order.
    func testSeveralInterventionsAtOnce() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("llama"))
        let r = try Direction.read(from: try InterventionFixture("llama").directionURL).requireVector(path: "")
        let v = (0..<64).map { Float($0 % 5) - 2 }
        let set = InterventionSet([try DirectionalAblation(direction: r), ActivationAddition(vector: v, layer: 1, scale: 0.5),
                                   ControlVectorSteering(vector: ControlVector(modelHint: "llama", directions: [1: v]), scale: 2)])
        let ids = [7, 8, 9, 10]
        let together = try allLogits(model, ids, hooks: Hooks(try set.edits(for: model)))
        let separate = Hooks()
        for m in set.members { separate.add(try m.edits(for: model)) }
        XCTAssertEqual(together, try allLogits(model, ids, hooks: separate))
        XCTAssertGreaterThan(maxAbsDiff(together, try allLogits(model, ids, hooks: Hooks(try set.members[0].edits(for: model)))), 1e-3)
    }

    /// Contrastive directions equal numpy's on the same activations: both sides compute in Float64 (no BLAS)
    /// and round to Float32 once, so each entry is the same float or its neighbour (one ulp).
    func testContrastiveDirectionsMatchNumpy() throws {
        let f = try SafeTensorsFile(url: Fixtures.interventions.appendingPathComponent("contrastive.safetensors"))
        let pos = try f.floats("positive"), neg = try f.floats("negative")
        let rows = { (a: [Float]) in (0..<8).map { Array(a[($0 * 64)..<(($0 + 1) * 64)]) } }
        func check(_ got: [Float], _ want: [Float], _ what: String) {
            XCTAssertEqual(got.count, want.count, what)
            for (x, y) in zip(got, want) { XCTAssertEqual(x, y, accuracy: max(x.magnitude, y.magnitude).ulp, what) }
        }
        check(try ContrastiveVectors.direction(positive: rows(pos), negative: rows(neg), method: .mean), try f.floats("mean"), "mean")
        let pca = try ContrastiveVectors.direction(positive: rows(pos), negative: rows(neg), method: .pca)
        print("contrastive pca vs numpy: max |Δ| = \(maxAbsDiff(pca, try f.floats("pca")))")
        check(pca, try f.floats("pca"), "pca")
        XCTAssertThrowsError(try ContrastiveVectors.direction(positive: rows(pos), negative: Array(rows(neg).prefix(3)), method: .pca))
    }

    /// Control-vector directions from a model equal transformers' (forward hooks on the decoder
    /// blocks, each prompt alone), with Steer batching the prompts with left padding; the vector
    /// survives a GGUF and a safetensors round trip.
    func testVectorsFromModelMatchTransformers() throws {
        for name in ["llama", "gemma2"] {
            let f = try SafeTensorsFile(url: Fixtures.interventions.appendingPathComponent("vector_\(name).safetensors"))
            let ids = { (key: String) -> [Int] in
                let raw = try f.rawBytes(key)
                return (0..<(raw.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
            let pos = try (0..<6).map { try ids("positive_\($0)") }, neg = try (0..<6).map { try ids("negative_\($0)") }
            let model = try ModelLoader.load(directory: Fixtures.model(name))
            let layers = Array(1..<model.config.numLayers), d = model.config.hiddenSize
            for method in ContrastiveVectors.Method.allCases {
                let got = try ContrastiveVectors.compute(model: model, positive: pos, negative: neg, layers: layers, method: method, batchSize: 4)
                let ref = try f.floats(method.rawValue)
                for (j, l) in layers.enumerated() {
                    let diff = maxAbsDiff(try XCTUnwrap(got[l]), Array(ref[(j * d)..<((j + 1) * d)]))
                    print("control vector \(name) \(method) direction.\(l) vs transformers: max |Δ| = \(diff)")
                    XCTAssertLessThan(diff, 1e-4, "\(name) \(method) layer \(l)")
                }
                let cv = try ContrastiveVectors.controlVector(got, modelHint: name)
                for ext in ["gguf", "safetensors"] {
                    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cv-\(UUID().uuidString).\(ext)")
                    defer { try? FileManager.default.removeItem(at: url) }
                    try ControlVectorFile.write(cv, to: url)
                    let back = try ControlVectorFile.read(from: url)
                    XCTAssertEqual(back.directions, cv.directions, ext)
                    XCTAssertEqual(back.modelHint, name, ext)
                }
            }
        }
    }

    /// Activations come from the last prompt token of `resid_post[l]`, whatever the batch padding.
    func testLastTokenActivationsIgnorePadding() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("qwen2"))
        let prompts = [[1, 2, 3], [4, 5, 6, 7, 8, 9], [10]]
        let batched = try ContrastiveVectors.lastTokenActivations(model: model, prompts: prompts, layers: [0, 1], batchSize: 3)
        for (i, p) in prompts.enumerated() {
            let alone = try ContrastiveVectors.lastTokenActivations(model: model, prompts: [p], layers: [0, 1], batchSize: 1)
            for l in [0, 1] {
                // Batch shape changes only the rounding: the bound of a pass through blocks 0…l, no unembedding.
                let a = batched[l]![i], b = alone[l]![0]
                XCTAssertLessThanOrEqual(maxAbsDiff(a, b), roundingBound(model, a, b, tokens: 6, blocks: l + 1, logits: false))
            }
        }
    }
}
