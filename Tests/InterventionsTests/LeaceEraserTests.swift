import XCTest
import ModelFormats
import Compute
@testable import Interventions
@testable import Models

/// Eraser files (`eraser.safetensors`) and `LeaceErasure`, the intervention that applies them (SPEC §7).
final class LeaceEraserTests: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("steer-eraser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    /// Seeded values in [-scale, scale).
    func values(_ count: Int, seed: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { i in Float(((i * 7919 + seed * 104_729) % 2001) - 1000) / 1000 * scale }
    }

    func eraser(d: Int, layers: [Int: Int]) throws -> LeaceEraser {
        var out: [Int: LeaceEraser.Layer] = [:]
        for (l, k) in layers {
            out[l] = k == 0 ? .identity(bias: values(d, seed: l, scale: 3))
                : try LeaceEraser.Layer(projLeft: values(d * k, seed: 10 + l, scale: 0.2), projRight: values(k * d, seed: 20 + l, scale: 0.2),
                                        bias: values(d, seed: l, scale: 3))
        }
        return LeaceEraser(layers: out, metadata: ["shrinkage": "true", "svd_tol": "0.01"])
    }

    func testFileRoundTripAndMalformedFiles() throws {
        let e = try eraser(d: 64, layers: [0: 0, 1: 1, 3: 2])
        let url = temp.appendingPathComponent("eraser.safetensors")
        try e.write(to: url)
        let back = try LeaceEraser.read(from: url)
        XCTAssertEqual(back, e)
        XCTAssertEqual(back.dModel, 64)
        XCTAssertTrue(back.layers[0]?.isIdentity ?? false)
        let file = try SafeTensorsFile(url: url)
        XCTAssertEqual(try file.tensorInfo("layer.3.proj_left").shape, [64, 2])
        XCTAssertEqual(try file.tensorInfo("layer.3.proj_right").shape, [2, 64])
        XCTAssertEqual(try file.tensorInfo("layer.3.bias").shape, [64])
        // leftRows is proj_left transposed.
        let layer = try XCTUnwrap(e.layers[3])
        XCTAssertEqual(layer.leftRows[1 * 64 + 5], layer.projLeft[5 * 2 + 1])

        func write(_ name: String, _ build: (inout SafeTensorsWriter) -> Void) throws -> URL {
            var w = SafeTensorsWriter()
            build(&w)
            let u = temp.appendingPathComponent(name)
            try w.write(to: u)
            return u
        }
        let d = 4
        let good: (inout SafeTensorsWriter) -> Void = { w in
            w.add("layer.0.proj_left", floats: [1, 0, 0, 0], shape: [d, 1], as: .f32)
            w.add("layer.0.proj_right", floats: [1, 0, 0, 0], shape: [1, d], as: .f32)
        }
        let noBias = try LeaceEraser.read(from: try write("nobias.safetensors", good))
        XCTAssertEqual(noBias.layers[0]?.bias, [0, 0, 0, 0], "a missing bias is zero (affine=False)")
        let cases: [(String, String, (inout SafeTensorsWriter) -> Void)] = [
            ("extra", "unexpected tensor 'direction'", { w in good(&w); w.add("direction", floats: [1, 2, 3, 4], shape: [4], as: .f32) }),
            ("shape", "layer.0.proj_right has shape [1, 3]", { w in
                w.add("layer.0.proj_left", floats: [1, 0, 0, 0], shape: [d, 1], as: .f32)
                w.add("layer.0.proj_right", floats: [1, 0, 0], shape: [1, 3], as: .f32)
            }),
            ("nan", "'layer.0.bias' contains NaN", { w in good(&w); w.add("layer.0.bias", floats: [0, .nan, 0, 0], shape: [4], as: .f32) }),
            ("missing", "layer 0 lacks 'layer.0.proj_right'", { w in w.add("layer.0.proj_left", floats: [1, 0, 0, 0], shape: [d, 1], as: .f32) }),
            ("dtype", "'layer.0.proj_left' is I32", { w in
                w.add("layer.0.proj_left", dtype: .i32, shape: [d, 1], bytes: [UInt8](repeating: 0, count: 16))
                w.add("layer.0.proj_right", floats: [1, 0, 0, 0], shape: [1, d], as: .f32)
            }),
            ("widths", "layer 1 has d = 2, other layers 4", { w in
                good(&w)
                w.add("layer.1.proj_left", floats: [1, 0], shape: [2, 1], as: .f32)
                w.add("layer.1.proj_right", floats: [1, 0], shape: [1, 2], as: .f32)
            }),
            ("empty", "no layer.L.proj_left", { _ in }),
        ]
        for (name, message, build) in cases {
            let u = try write("\(name).safetensors", build)
            XCTAssertThrowsError(try LeaceEraser.read(from: u), name) { error in
                guard case .badEraserFile(let path, _)? = error as? InterventionError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(path, u.path)
                XCTAssertTrue("\(error)".contains(message), "\(name): \(error)")
            }
        }
        let garbage = temp.appendingPathComponent("garbage.safetensors")
        try Data("not a safetensors file".utf8).write(to: garbage)
        XCTAssertThrowsError(try LeaceEraser.read(from: garbage)) { XCTAssertTrue("\($0)".contains("not a usable eraser file"), "\($0)") }
        XCTAssertThrowsError(try LeaceEraser.read(from: temp.appendingPathComponent("none.safetensors"))) {
            XCTAssertEqual($0 as? InterventionError, .missingFile(temp.appendingPathComponent("none.safetensors").path))
        }
    }

    /// Inside a forward pass the erase edit changes exactly resid_pre of its layers, every row, as the definition
    /// says: captured before and after it at the same hook point, the rows differ by `proj_left·(proj_right·(x −
    /// bias))` within the Float32 bound of the operation (`ReferenceOps.erase` in ComputeTests derives it:
    /// Σⱼ|leftⱼᵢ|·γ_{d+1}·Σ|rightⱼ·(x − bias)| + γ_{2k}·(|xᵢ| + Σⱼ|cⱼ·leftⱼᵢ|)); identity layers get no edit.
    func testErasureEditsResidPreAsDefined() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("qwen2"))
        let c = model.config, d = c.hiddenSize
        let e = try eraser(d: d, layers: [0: 0, 1: 2])
        let edits = try LeaceErasure(eraser: e).edits(for: model)
        XCTAssertEqual(edits.count, 1, "the identity layer 0 gets no edit")
        let ids = [[3, 14, 15, 92, 6], [5, 35]], rows = ForwardInput.rowRanges(ids).flatMap { Array($0) }
        let before = model.backend.tensor(rows: rows.count, cols: d), after = model.backend.tensor(rows: rows.count, cols: d)
        let capture = { (t: Tensor) in ActivationEdit(point: .residPre, layers: [1], op: .capture(Capture(rows: rows, mode: .copy([1: t])))) }
        _ = try model.prefill(ids, edits: [capture(before)] + edits + [capture(after)], logits: .none)
        let x = model.backend.read(before), y = model.backend.read(after)
        let layer = try XCTUnwrap(e.layers[1]), k = layer.rank
        let u = Double(RoundingBound.u), gamma = { (n: Int) in RoundingBound.gamma(n) }
        for r in 0..<rows.count {
            let row = (0..<d).map { Double(x[r * d + $0]) }
            let want = layer.apply(row)
            let centred = (0..<d).map { row[$0] - Double(layer.bias[$0]) }
            let coefficients = (0..<k).map { j in (0..<d).reduce(0.0) { $0 + Double(layer.projRight[j * d + $1]) * centred[$1] } }
            let magnitude = (0..<k).map { j in (0..<d).reduce(0.0) { $0 + abs(Double(layer.projRight[j * d + $1]) * centred[$1]) } }
            for i in 0..<d {
                let left = (0..<k).map { Double(layer.projLeft[i * k + $0]) }
                let bound = (0..<k).reduce(0.0) { $0 + abs(left[$1]) * gamma(d + 1) * magnitude[$1] * (1 + u) }
                    + gamma(2 * k) * (abs(row[i]) + (0..<k).reduce(0.0) { $0 + abs(coefficients[$1] * left[$1]) })
                XCTAssertLessThanOrEqual(abs(Double(y[r * d + i]) - want[i]), bound, "row \(r), entry \(i)")
            }
            XCTAssertGreaterThan(zip(row, want).map { abs($0 - $1) }.max() ?? 0, 1e-3, "the edit changes row \(r)")
        }
        // An eraser of identity layers only leaves the pass bit for bit unchanged.
        let identity = try LeaceErasure(eraser: eraser(d: d, layers: [0: 0, 1: 0])).edits(for: model)
        XCTAssertTrue(identity.isEmpty)
    }

    /// An eraser that does not fit the model is a clear error naming the file: another d, a layer the model lacks,
    /// or a chosen layer the file lacks.
    func testErasureChecksTheModel() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("qwen2"))
        let d = model.config.hiddenSize, L = model.config.numLayers
        XCTAssertThrowsError(try LeaceErasure(eraser: eraser(d: d + 8, layers: [0: 1]), source: "e.safetensors").edits(for: model)) {
            XCTAssertEqual($0 as? InterventionError,
                           .dimensionMismatch(what: "e.safetensors (proj_left [d, k], d = \(d + 8))", expected: d, actual: d + 8))
            XCTAssertTrue("\($0)".contains("d_model is \(d)"), "\($0)")
        }
        XCTAssertThrowsError(try LeaceErasure(eraser: eraser(d: d, layers: [0: 1, L + 3: 1]), source: "e.safetensors").edits(for: model)) {
            XCTAssertEqual($0 as? InterventionError, .layerOutOfRange(what: "e.safetensors: erased layers", layer: L + 3, layers: L))
        }
        XCTAssertThrowsError(try LeaceErasure(eraser: eraser(d: d, layers: [0: 1]), layers: [1], source: "e.safetensors").edits(for: model)) {
            XCTAssertTrue("\($0)".contains("no eraser for layer 1 (it holds layers 0)"), "\($0)")
        }
    }
}
