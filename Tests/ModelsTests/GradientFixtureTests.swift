import Foundation
import ModelFormats
@testable import Models
import XCTest

/// The refusal-metric gradient against torch autograd (`scripts/make_gradient_fixtures.py`): for each case
/// (point, metric layer) of the Qwen2 and Gemma-2 fixture models, the three prompts in one packed pass.
final class GradientFixtureTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/gradient")

    struct Case {
        var index: Int
        var point: StreamPoint
        var metricLayer: Int
        var metrics: [Double]
    }

    /// The cases of one model from fixture.json.
    static func cases(_ model: String) throws -> [Case] {
        let data = try Data(contentsOf: root.appendingPathComponent("fixture.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let models = try XCTUnwrap(json["models"] as? [String: Any])
        let entry = try XCTUnwrap(models[model] as? [String: Any])
        let list = try XCTUnwrap(entry["cases"] as? [[String: Any]])
        return try list.map { c in
            let point: HookPoint = (c["point"] as? String) == "resid_mid" ? .residMid : .residPre
            return Case(index: try XCTUnwrap(c["case"] as? Int),
                        point: StreamPoint(layer: try XCTUnwrap(c["layer"] as? Int), point: point),
                        metricLayer: try XCTUnwrap(c["metric_layer"] as? Int),
                        metrics: try XCTUnwrap(c["metrics"] as? [Double]))
        }
    }

    /// The fixture's prompts (ids) and direction for `model`.
    static func inputs(_ model: String) throws -> (file: SafeTensorsFile, prompts: [[Int]], unit: [Float]) {
        let file = try SafeTensorsFile(url: root.appendingPathComponent("\(model).safetensors"))
        var prompts: [[Int]] = []
        while file.contains("ids.\(prompts.count)") {
            let raw = try file.rawBytes("ids.\(prompts.count)")
            prompts.append((0..<(raw.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) })
        }
        let direction = try file.floats("direction")
        let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return (file, prompts, direction.map { $0 / norm })
    }

    /// Every gradient entry within 1e-4 of torch relative to the prompt's largest entry; metrics within 1e-4
    /// relative to the largest |metric| (the bar for comparisons with the Python stack).
    func check(_ name: String) throws {
        let model = try FixtureModel(name).load()
        let (file, prompts, unit) = try Self.inputs(name)
        let cases = try Self.cases(name)
        XCTAssertFalse(cases.isEmpty)
        var worst = 0.0
        for c in cases {
            let results = try model.metricGradients(prompts, unit: unit, metricLayer: c.metricLayer, at: c.point)
            let scale = c.metrics.map(abs).max() ?? 1
            for (i, r) in results.enumerated() {
                let want = try file.floats("grad.\(c.index).\(i)")
                let largest = want.map(abs).max() ?? 0
                let what = "\(name) case \(c.index) (\(c.point.point.rawValue)[\(c.point.layer)] → resid_pre[\(c.metricLayer)]) prompt \(i)"
                XCTAssertEqual(r.gradient.count, want.count, what)
                XCTAssertLessThanOrEqual(maxAbsDiff(r.gradient, want), 1e-4 * largest, what)
                worst = max(worst, Double(maxAbsDiff(r.gradient, want) / largest))
                XCTAssertEqual(r.metric, c.metrics[i], accuracy: 1e-4 * scale, what)
                XCTAssertGreaterThan(largest, 1e-3, "\(what): a vanishing reference gradient checks nothing")
            }
        }
        print("\(name): largest gradient difference from torch autograd, relative to the largest entry: \(worst)")
    }

    func testQwen2GradientsMatchTorchAutograd() throws { try check("qwen2") }

    func testGemma2GradientsMatchTorchAutograd() throws { try check("gemma2") }

    /// Each prompt's gradient is the same whether it runs alone or packed with others, up to float32 rounding
    /// (passes of another shape sum in another order): `ModelConfig.roundingBound` of the blocks on the path,
    /// forward and backward, scaled to the gradient.
    func testPackedEqualsAlone() throws {
        let model = try FixtureModel("gemma2").load()
        let (_, prompts, unit) = try Self.inputs("gemma2")
        let point = StreamPoint(layer: 0), M = 3
        let packed = try model.metricGradients(prompts, unit: unit, metricLayer: M, at: point, tokenBudget: 1000)
        let chunked = try model.metricGradients(prompts, unit: unit, metricLayer: M, at: point, tokenBudget: 1)
        for i in prompts.indices {
            let alone = try model.metricGradients([prompts[i]], unit: unit, metricLayer: M, at: point)[0]
            // Forward and backward each run the blocks' reductions once: twice the lengths of one pass.
            let bound = roundingBound(model, alone.gradient, packed[i].gradient, tokens: prompts[i].count, blocks: M, logits: false) * 2
            XCTAssertLessThanOrEqual(maxAbsDiff(alone.gradient, packed[i].gradient), bound, "prompt \(i)")
            XCTAssertEqual(chunked[i].gradient, alone.gradient, "one prompt per pass is the same pass as alone: bit for bit")
            XCTAssertEqual(chunked[i].metric, alone.metric)
        }
    }
}
