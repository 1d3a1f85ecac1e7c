import XCTest
import ModelFormats
import Compute
@testable import Interventions
@testable import Models

/// Per-layer edit strengths (heretic's peak and falloff): the shape, the weight edit, and its hook equivalent.
final class LayerWeightingTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("steer-lw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func testStrengthsPeakAndFallLinearly() throws {
        let w = try LayerWeighting(peak: 2, width: 2, max: 1, min: 0.5)
        XCTAssertEqual(w.strengths(layers: 6), [0.5, 0.75, 1, 0.75, 0.5, 0])
        let between = try LayerWeighting(peak: 1.5, width: 1, max: 0.8, min: 0)
        XCTAssertEqual(between.strengths(layers: 4).map { ($0 * 1000).rounded() / 1000 }, [0, 0.4, 0.4, 0])
        for (peak, width, mx, mn) in [(Double.nan, 1.0, 1.0, 0.0), (1, 0, 1, 0), (1, -2, 1, 0), (1, .infinity, 1, 0), (1, 1, 3, 0), (1, 1, 1, -0.1)] {
            XCTAssertThrowsError(try LayerWeighting(peak: peak, width: width, max: mx, min: mn)) {
                XCTAssertTrue("\($0)".contains("layer weighting"), "\($0)")
            }
        }
    }

    /// A weighted export loaded back equals weighted hook ablation on the original model, and differs from
    /// the unweighted export (so the weights matter), on a tied, an untied and a Gemma-2 model.
    func testWeightedExportEqualsWeightedHookAblation() throws {
        for name in ["llama", "qwen2", "gemma2"] {
            let fx = try InterventionFixture(name)
            let r = try Direction.read(from: fx.directionURL).requireVector(path: fx.directionURL.path)
            let original = try ModelLoader.load(directory: Fixtures.model(name))
            let L = original.config.numLayers
            let weighting = try LayerWeighting(peak: Double(L - 1) / 2, width: Double(L) / 2, max: 1, min: 0.3)
            var options = AbliterationOptions()
            options.weighting = weighting
            let out = scratch.appendingPathComponent(name)
            let report = try WeightOrthogonalizer.export(model: Fixtures.model(name), direction: r, to: out, options: options)
            XCTAssertFalse(report.untiedHead, "\(name): a weighted edit leaves the embedding, so the head stays tied")
            XCTAssertFalse(report.editedTensors.contains { $0.contains("embed") })
            let ids = try fx.ints("input_ids")
            let hooks = Hooks(try DirectionalAblation.matchingWeightEdit(direction: r, weighting: weighting).edits(for: original))
            let exported = try allLogits(try ModelLoader.load(directory: out), ids)
            let hooked = try allLogits(original, ids, hooks: hooks)
            let diff = maxAbsDiff(exported, hooked)
            XCTAssertLessThanOrEqual(diff, exportRoundingBound(original, exported, hooked, tokens: ids.count),
                                     "\(name): weighted export vs weighted hooks differ by \(diff)")
            let full = try allLogits(original, ids, hooks: Hooks(try DirectionalAblation.matchingWeightEdit(direction: r).edits(for: original)))
            XCTAssertGreaterThan(maxAbsDiff(exported, full), 1e-3, "\(name): the weighting changed nothing")
            let meta = try WeightStore(folder: out).files[0].metadata
            XCTAssertEqual(meta["steer.layer_weighting"], weighting.description)
            XCTAssertNotNil(meta["steer.layer_strengths"])
        }
    }

    /// Strength s removes the fraction s of each column's component; norm-preserving keeps each column's norm.
    /// The edit accumulates in Float64 and rounds each entry once to Float32 (relative error ≤ u), so a
    /// component Σ u_i w_i moves by at most u·Σ|u_i w_i| and a squared norm by (2u + u²)·‖w‖²; the Float64
    /// arithmetic adds 16·2⁻⁵³ of the same sums, far more than its few roundings need.
    func testOrthogonalizeStrength() {
        let rows = 4, cols = 3
        let u: [Double] = [0.5, 0.5, 0.5, 0.5]
        let w0: [Float] = (0..<(rows * cols)).map { Float(($0 * 5) % 7) - 2 }
        func column(_ w: [Float], _ j: Int) -> [Double] { (0..<rows).map { Double(w[$0 * cols + j]) } }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        func absDot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + abs($1.0 * $1.1) } }
        let unit = RoundingBound.u, slack = 16 * 0x1p-53
        var w = w0
        Orthogonalize.columns(&w, rows: rows, cols: cols, unit: u, preserveNorms: false, strength: 0.25)
        for j in 0..<cols {
            XCTAssertEqual(dot(column(w, j), u), 0.75 * dot(column(w0, j), u),
                           accuracy: (unit + slack) * absDot(column(w, j), u) + slack * absDot(column(w0, j), u))
        }
        w = w0
        Orthogonalize.columns(&w, rows: rows, cols: cols, unit: u, preserveNorms: true, strength: 0.6)
        for j in 0..<cols {
            let norm = dot(column(w0, j), column(w0, j))
            XCTAssertEqual(dot(column(w, j), column(w, j)), norm, accuracy: (2 * unit + unit * unit + slack) * norm)
        }
        var e = w0
        Orthogonalize.rows(&e, rows: 3, d: 4, unit: u, preserveNorms: false, strength: 0.5)
        for r in 0..<3 {
            let old = (0..<4).map { Double(w0[r * 4 + $0]) }, new = (0..<4).map { Double(e[r * 4 + $0]) }
            XCTAssertEqual(dot(new, u), 0.5 * dot(old, u), accuracy: (unit + slack) * absDot(new, u) + slack * absDot(old, u))
        }
    }
}
