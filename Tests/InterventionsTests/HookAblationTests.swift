import XCTest
import ModelFormats
import Compute
@testable import Interventions
@testable import Models

/// Hook interventions against transformers on the weight-edited models (scripts/make_intervention_fixtures.py).
final class HookAblationTests: XCTestCase {
    /// The fidelity bar against transformers (see FidelityTests.tolerance).
    static let tolerance: Float = 1e-4

    /// (a) Steer's hook ablation on the original model = transformers on the exported model.
    /// (Not for llama_bf16: its export rounds the edited weights to bf16, which moves logits by ~1e-2;
    /// `AbliterationExportTests` checks that export bit for bit instead.)
    func testHookAblationMatchesTransformersOnExport() throws {
        for name in ["llama", "qwen2", "qwen3", "gemma2", "qwen"] {
            let fx = try InterventionFixture(name)
            let model = try ModelLoader.load(directory: Fixtures.model(name))
            let direction = try Direction.read(from: fx.directionURL).requireVector(path: fx.directionURL.path)
            let ids = try fx.ints("input_ids")
            let ablation = try DirectionalAblation.matchingWeightEdit(direction: direction)
            let got = try allLogits(model, ids, hooks: Hooks(try ablation.edits(for: model)))
            let diff = maxAbsDiff(got, try fx.floats("logits.plain"))
            print("hook ablation vs transformers on export, \(name): max |Δ| = \(diff)")
            XCTAssertLessThan(diff, Self.tolerance, name)
            // The edit matters: the unablated logits are far away.
            XCTAssertGreaterThan(maxAbsDiff(try allLogits(model, ids), try fx.floats("logits.plain")), 0.1, name)
        }
    }

    /// The published placement (resid_pre, attn_out, mlp_out) equals the export on models without post norms.
    func testResidualPlacementEqualsExportWithoutSandwichNorms() throws {
        for name in ["llama", "qwen2"] {
            let fx = try InterventionFixture(name)
            let model = try ModelLoader.load(directory: Fixtures.model(name))
            let direction = try Direction.read(from: fx.directionURL).requireVector(path: fx.directionURL.path)
            let ablation = try DirectionalAblation(direction: direction)
            let got = try allLogits(model, try fx.ints("input_ids"), hooks: Hooks(try ablation.edits(for: model)))
            let diff = maxAbsDiff(got, try fx.floats("logits.plain"))
            print("residual-placement hook ablation vs transformers on export, \(name): max |Δ| = \(diff)")
            XCTAssertLessThan(diff, Self.tolerance, name)
        }
    }

    /// A layer-restricted export (layers 1-1: no embedding edit) equals writes-only hooks on those layers.
    func testLayerRestrictedHookAblation() throws {
        let fx = try InterventionFixture("llama")
        let model = try ModelLoader.load(directory: Fixtures.model("llama"))
        let direction = try Direction.read(from: fx.directionURL).requireVector(path: fx.directionURL.path)
        let ablation = try DirectionalAblation.matchingWeightEdit(direction: direction, layers: [1])
        XCTAssertFalse(ablation.ablatesResidPre)
        let got = try allLogits(model, try fx.ints("input_ids"), hooks: Hooks(try ablation.edits(for: model)))
        let diff = maxAbsDiff(got, try fx.floats("logits.layers_1_1"))
        print("layers 1-1 hook ablation vs transformers on export: max |Δ| = \(diff)")
        XCTAssertLessThan(diff, Self.tolerance)
    }

    /// (c) With the direction ablated, the residual stream has no component along r̂ at any layer,
    /// prompt or generated position — up to rounding: `x − (x·r̂)r̂` in float32 keeps at most (2γ_d + 4u)·‖x‖
    /// along r̂ (the dot product within γ_d, ‖r̂‖² within γ_d + 2u of 1, two roundings per entry). A measured
    /// point holds at most three such residues (resid_pre, attention and MLP writes), each of a vector of norm
    /// ≤ 2S (S the largest stream norm), a post-norm after an ablation scales its residue by at most
    /// κ = ‖(o + w) ⊙ r̂‖ / min|o + w|, and four more roundings of such vectors (the norm's, the stream's
    /// additions) and the test's own dot product (γ_d·S) add to it.
    func testAblatedResidualHasNoComponentAlongDirection() throws {
        for name in ["llama", "gemma2"] {
            let fx = try InterventionFixture(name)
            let model = try ModelLoader.load(directory: Fixtures.model(name))
            let direction = try Direction.read(from: fx.directionURL).requireVector(path: fx.directionURL.path)
            let unit = try VectorMath.unit(direction, what: "r")
            for placement in [DirectionalAblation.Placement.residual, .beforePostNorms] {
                let hooks = Hooks(try DirectionalAblation(direction: direction, placement: placement).edits(for: model))
                var worst: Float = 0, scale: Float = 0, seen = 0
                for point in [HookPoint.residMid, .residPost] {
                    hooks.add(point) { act in
                        do {
                            for t in 0..<act.rows.count {
                                let v = act.vector(t)
                                var dot: Float = 0, n: Float = 0
                                for i in 0..<v.count { dot += v[i] * unit[i]; n += v[i] * v[i] }
                                worst = max(worst, abs(dot)); scale = max(scale, n.squareRoot()); seen += 1
                            }
                        }
                    }
                }
                _ = try model.generate([Array(try fx.ints("input_ids").prefix(6))], options: GenerationOptions(maxNewTokens: 4), hooks: hooks)
                XCTAssertGreaterThan(seen, 0)
                var kappa: Float = 1
                if placement == .beforePostNorms {
                    let offset = model.config.normWeightOffset
                    let norms: [[Float]] = model.blocks.flatMap { [$0.postAttentionNormValues, $0.postMLPNormValues] }.compactMap { $0 }
                    for w in norms {
                        var sq: Float = 0
                        for (x, y) in zip(unit, w) { let t = x * (offset + y); sq += t * t }
                        let scaled = sq.squareRoot()
                        kappa = max(kappa, scaled / (w.map { abs(offset + $0) }.min() ?? 1))
                    }
                }
                let d = model.config.hiddenSize, u = Float(RoundingBound.u), gamma = Float(RoundingBound.gamma(d))
                let bound = (6 * kappa * (2 * gamma + 4 * u) + 8 * u + gamma) * scale
                XCTAssertLessThanOrEqual(worst, bound, "\(name) \(placement): |x·r̂| up to \(worst), ‖x‖ up to \(scale)")
                print("ablation \(name) \(placement): max |resid·r̂| = \(worst) (max ‖resid‖ \(scale))")
            }
        }
    }
}
