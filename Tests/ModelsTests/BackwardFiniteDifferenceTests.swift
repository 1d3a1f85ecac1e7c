import Compute
import Foundation
@testable import Models
import XCTest

/// The gradient of every block kind against finite differences of Steer's own forward pass: the metric is
/// recomputed with the stream at the gradient's point moved by ±t·v (and ±2t·v) for a few directions v,
/// and the directional derivative `Σ g·Δx / 2t` (Δx: the shift the float32 stream really took) must match
/// `(m(+t) − m(−t)) / 2t`.
///
/// Tolerance, from the arithmetic: truncation of the central difference, `c·t² + O(t⁴)`, is bounded by
/// `|D(2t) − D(t)| ≈ 3c·t²`; each metric carries float32 rounding ≤ δ = ½·`roundingBound` of resid_pre[M]
/// times Σ|r̂| (one pass against exact arithmetic), which the difference divides by t; the gradient's own
/// rounding (the same bound of its magnitude, over the blocks it runs through) times Σ|Δx|/2t.
final class BackwardFiniteDifferenceTests: XCTestCase {
    let prompts = [[3, 17, 5, 44, 9, 21, 30, 2, 11], [7, 7, 40, 12, 1, 38]]
    let rope = RoPE(headDim: 8, base: 10_000)

    func attention(window: Int? = nil, softcap: Float? = nil, rope: Int? = 0, qkNorm: QKNorm = .none) -> AttentionBlock {
        AttentionBlock(heads: 4, kvHeads: 2, headDim: 8, scale: 1 / Float(8).squareRoot(), softcap: softcap, window: window, rope: rope,
                       qkNorm: qkNorm)
    }

    func unit(_ d: Int) -> [Float] {
        let raw = (0..<d).map { Float(sin(Double($0) * 1.7 + 0.3)) }
        let n = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return raw.map { $0 / n }
    }

    /// The metric with `t·v` added to the stream at `point` (per position), and the shift the stream really took.
    func metric(_ model: LanguageModel, _ prompt: [Int], unit: [Float], M: Int, point: StreamPoint, v: [Float], t: Double)
        throws -> (metric: Double, shift: [Double], final: [Float]) {
        final class Shift { var values: [Double] = [] }
        let c = model.config, d = c.hiddenSize, L = c.numLayers, shift = Shift()
        shift.values = [Double](repeating: 0, count: v.count)
        let move = ActivationEdit(point: point.point, layers: [point.layer], op: .callback { act in
            for r in 0..<act.rows.count {
                let p = act.rows[r].position, row = act.vector(r)
                for j in 0..<d {
                    let before = row[j]
                    row[j] = Float(Double(before) + t * Double(v[p * d + j]))
                    shift.values[p * d + j] = Double(row[j]) - Double(before)
                }
            }
        })
        var input = ForwardInput.prompts([prompt])
        input.logitRows = []
        let final = model.backend.tensor(rows: 1, cols: d), last = M < L ? M : L - 1
        let capture = ActivationEdit(point: M < L ? .residPre : .residPost, layers: [last],
                                     op: .capture(Capture(rows: [prompt.count - 1], mode: .copy([last: final]))))
        let kv = model.backend.kvStore(layers: L, slots: prompt.count, kvDim: c.blocks.map(\.attention.kvDim).max() ?? 0)
        _ = try model.forward(input, kv: kv, edits: model.prepare([move, capture]), stopAtLayer: M < L ? M : nil)
        let y = model.backend.read(final)
        return ((0..<d).reduce(0.0) { $0 + Double(y[$1]) * Double(unit[$1]) }, shift.values, y)
    }

    func check(_ what: String, _ model: LanguageModel, point: StreamPoint, M: Int) throws {
        let d = model.config.hiddenSize, r = unit(d)
        let grads = try model.metricGradients(prompts, unit: r, metricLayer: M, at: point)
        for (i, prompt) in prompts.enumerated() {
            let g = grads[i].gradient, n = g.count, largest = g.map(abs).max() ?? 0
            XCTAssertGreaterThan(largest, 1e-4, "\(what): prompt \(i) has no gradient to check")
            var row0 = [Float](repeating: 0, count: n)
            for j in 0..<d { row0[j] = Float(sin(Double(j) * 0.9)) }
            let directions: [(String, [Float])] = [
                ("along the gradient", g.map { $0 / largest }),
                ("random", (0..<n).map { Float(cos(Double($0) * 2.3 + Double(i))) }),
                ("first position only", row0),
            ]
            for (name, v) in directions {
                // Small enough that truncation stays well below the along-the-gradient derivative, large enough
                // that the metrics' rounding divided by t does too.
                let t = 0.005
                let plus = try metric(model, prompt, unit: r, M: M, point: point, v: v, t: t)
                let minus = try metric(model, prompt, unit: r, M: M, point: point, v: v, t: -t)
                let plus2 = try metric(model, prompt, unit: r, M: M, point: point, v: v, t: 2 * t)
                let minus2 = try metric(model, prompt, unit: r, M: M, point: point, v: v, t: -2 * t)
                let difference = (plus.metric - minus.metric) / (2 * t), wide = (plus2.metric - minus2.metric) / (4 * t)
                let moved = (0..<n).map { plus.shift[$0] - minus.shift[$0] }
                let analytic = (0..<n).reduce(0.0) { $0 + Double(g[$1]) * moved[$1] } / (2 * t)
                let y = plus.final.map(abs).max() ?? 0
                let delta = model.config.roundingBound(magnitude: Double(y), tokens: prompt.count, blocks: M, logits: false) / 2
                    * Double(r.reduce(0) { $0 + abs($1) })
                let gradientError = model.config.roundingBound(magnitude: Double(largest), tokens: prompt.count, blocks: M, logits: false)
                    * moved.reduce(0) { $0 + abs($1) } / (2 * t)
                let tolerance = abs(wide - difference) + delta / t + gradientError
                let label = "\(what), prompt \(i), \(name)"
                XCTAssertLessThanOrEqual(abs(analytic - difference), tolerance, "\(label): gradient \(analytic), finite difference \(difference)")
                if name == "along the gradient" {
                    XCTAssertGreaterThan(abs(analytic), 10 * tolerance, "\(label): too small a derivative to check anything")
                }
            }
        }
    }

    /// Every case at `resid_pre[0]` through all blocks (M = layers) and at `resid_mid[1]` to M = 2.
    func checkBoth(_ what: String, _ model: LanguageModel) throws {
        try check("\(what), resid_pre[0] → M = \(model.config.numLayers)", model, point: StreamPoint(layer: 0), M: model.config.numLayers)
        try check("\(what), resid_mid[1] → M = 2", model, point: StreamPoint(layer: 1, point: .residMid), M: 2)
    }

    func testLlamaStyleBlocks() throws {
        let blocks = (0..<3).map { _ in BlockSpec(attention: attention(), mlp: .gated(width: 48, activation: .silu)) }
        try checkBoth("pre-norms, SiLU, GQA, RoPE, biases", try .synthetic(blocks: blocks, ropes: [rope], bias: true))
    }

    func testGemma2StyleBlocks() throws {
        let blocks = (0..<3).map { l in
            BlockSpec(attention: attention(window: l % 2 == 0 ? 4 : nil, softcap: 1.5), mlp: .gated(width: 48, activation: .geluTanh),
                      postAttentionNorm: true, postMLPNorm: true)
        }
        try checkBoth("sandwich norms, 1 + w, GELU-tanh, soft-capping, window 4", try .synthetic(blocks: blocks, ropes: [rope], normOffset: 1))
    }

    func testPerHeadQKNorms() throws {
        let blocks = (0..<3).map { _ in BlockSpec(attention: attention(qkNorm: .perHead), mlp: .gated(width: 48, activation: .silu)) }
        try checkBoth("q/k norms per head", try .synthetic(blocks: blocks, ropes: [rope]))
    }

    func testPostOnlyNormsAndWholeQKNorms() throws {
        let blocks = (0..<3).map { _ in
            BlockSpec(attention: attention(qkNorm: .whole), mlp: .gated(width: 48, activation: .silu), preNorms: false,
                      postAttentionNorm: true, postMLPNorm: true)
        }
        try checkBoth("post-only norms, q/k norms over all heads", try .synthetic(blocks: blocks, ropes: [rope]))
    }

    func testResidualMultiplierNoRoPELayerAndTwoTables() throws {
        let partial = RoPE(headDim: 8, partialRotaryFactor: 0.5, base: 500, scaling: .linear(factor: 2))
        let blocks = [attention(rope: 1), attention(rope: nil), attention(window: 3, rope: 0)].map {
            BlockSpec(attention: $0, mlp: .gated(width: 40, activation: .silu), residualMultiplier: 0.6)
        }
        try checkBoth("residual multiplier, a layer without RoPE, partial rotary, two tables",
                      try .synthetic(blocks: blocks, ropes: [rope, partial], modelType: "phi3"))
    }

    /// With a window of 3 and one block, the last token cannot see positions before T − 3: their gradient is
    /// exactly zero (masked keys get no gradient at all, not a small one).
    func testWindowMasksGradientExactly() throws {
        let model = try LanguageModel.synthetic(blocks: [BlockSpec(attention: attention(window: 3), mlp: .gated(width: 48, activation: .silu))],
                                                ropes: [rope])
        let d = model.config.hiddenSize
        let g = try model.metricGradients([prompts[0]], unit: unit(d), metricLayer: 1, at: StreamPoint(layer: 0))[0].gradient
        let T = prompts[0].count
        XCTAssertTrue(g[0..<((T - 3) * d)].allSatisfy { $0 == 0 }, "positions outside the window carry gradient")
        XCTAssertTrue(g[((T - 3) * d)..<((T - 1) * d)].contains { $0 != 0 }, "positions inside the window carry none")
    }

    func testBadArguments() throws {
        let model = try LanguageModel.synthetic(blocks: [BlockSpec(attention: attention(), mlp: .gated(width: 48, activation: .silu))],
                                                ropes: [rope])
        let r = unit(32)
        XCTAssertThrowsError(try model.metricGradients(prompts, unit: r, metricLayer: 1, at: StreamPoint(layer: 1)))
        XCTAssertThrowsError(try model.metricGradients(prompts, unit: r, metricLayer: 2, at: StreamPoint(layer: 0)))
        XCTAssertThrowsError(try model.metricGradients(prompts, unit: [1, 0], metricLayer: 1, at: StreamPoint(layer: 0)))
        XCTAssertThrowsError(try model.metricGradients([[]], unit: r, metricLayer: 1, at: StreamPoint(layer: 0)))
        XCTAssertThrowsError(try model.metricGradients(prompts, unit: r, metricLayer: 1, at: StreamPoint(layer: 0, point: .attnOut)))
    }
}
