import Experiments
import Foundation
import Interventions
import ModelFormats
import Models
import XCTest

/// Latent attributions against the Python computation of the formula (scripts/make_gradient_fixtures.py: torch
/// autograd gradients, SAELens 6.18's encode): a JumpReLU SAE in the SAELens-6 layout, a topk one, and a
/// standard SAE in the pre-6 layout at resid_mid.
final class LatentAttributionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let gradient = root.appendingPathComponent("gradient")

    func check(_ name: String) throws {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.gradient.appendingPathComponent("fixture.json")))
        let ref = try XCTUnwrap(((json as? [String: Any])?["saes"] as? [String: Any])?[name] as? [String: Any])
        let modelName = try XCTUnwrap(ref["model"] as? String), M = try XCTUnwrap(ref["metric_layer"] as? Int)
        let top = try XCTUnwrap(ref["top"] as? Int)
        let model = try ModelLoader.load(directory: Self.root.appendingPathComponent("models/\(modelName)"))
        let sae = try SparseAutoencoder(folder: Self.gradient.appendingPathComponent(name), backend: model.backend)
        let file = try SafeTensorsFile(url: Self.gradient.appendingPathComponent("\(modelName).safetensors"))
        var prompts: [[Int]] = []
        while file.contains("ids.\(prompts.count)") {
            let raw = try file.rawBytes("ids.\(prompts.count)")
            prompts.append((0..<(raw.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) })
        }
        let direction = try file.floats("direction"), norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let analysis = try LatentAnalysis.run(model: model, sae: sae, prompts: prompts, texts: prompts.map { "\($0)" },
                                              unit: direction.map { $0 / norm }, metricLayer: M, top: sae.config.dSae)
        let attribution = try XCTUnwrap(ref["attribution"] as? [Double]), frequency = try XCTUnwrap(ref["frequency"] as? [Double])
        let mean = try XCTUnwrap(ref["mean_activation"] as? [Double]), ranking = try XCTUnwrap(ref["ranking"] as? [Int])
        // 1e-4 of the largest attribution: the comparison bar with the Python stack (gradients agree to ~4e-6).
        let scale = attribution.map(abs).max() ?? 1
        XCTAssertEqual(analysis.latents.count, sae.config.dSae)
        for s in analysis.latents {
            XCTAssertEqual(s.attribution, attribution[s.index], accuracy: 1e-4 * scale, "\(name) latent \(s.index)")
            // Pre-activations are kept 1e-3 from every decision, so the same latents fire at the same positions: the
            // same count over the same total. torch divides a tensor by a scalar as a product with its reciprocal (one
            // more rounding than count / total), so the two quotients may differ in the last bit: 2 ulps of 1 allowed.
            XCTAssertEqual(s.frequency, frequency[s.index], accuracy: 2 * Double.ulpOfOne, "\(name) latent \(s.index)")
            XCTAssertEqual(s.meanActivation, mean[s.index], accuracy: 1e-4 * max(1, abs(mean[s.index])), "\(name) latent \(s.index)")
        }
        XCTAssertEqual(analysis.latents.prefix(top).map(\.index), Array(ranking.prefix(top)), "\(name): the top \(top) in another order")
        XCTAssertEqual(analysis.hook, sae.config.hookName)
        XCTAssertEqual(analysis.prompts.map(\.gradNorm), analysis.prompts.map(\.gradNorm).sorted(by: >))
        // The per-token attributions to all latents add up to each prompt's share of the attributions.
        let total = analysis.tokenAttributions.flatMap { $0 }.reduce(0, +) / Double(prompts.count)
        XCTAssertEqual(total, analysis.latents.reduce(0) { $0 + $1.attribution }, accuracy: 1e-9 * scale * Double(sae.config.dSae))
    }

    func testJumpReLUSAELens6Layout() throws { try check("sae_jumprelu") }

    func testTopKSAELens6Layout() throws { try check("sae_topk") }

    func testStandardPre6LayoutAtResidMid() throws { try check("sae_standard") }
}
