import XCTest
import Models
@testable import Experiments

/// The packed `resid_pre` means (shared prefixes, several passes, threads) against the padded capture.
final class ActivationCaptureTests: XCTestCase {
    func testPackedResidPreMeansEqualPaddedCapture() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models/qwen3")
        let model = try ModelLoader.load(directory: dir)
        // Prompts sharing long prefixes, one that is a prefix of another, and one exactly as long as the offsets reach.
        let prompts = [[5, 6, 7, 8, 9, 10], [5, 6, 7, 8, 9, 10, 11], [5, 6, 7, 8, 12], [5, 6, 7], [3, 6, 7, 8, 9, 10, 11, 12, 13]]
        let offsets = [-3, -2, -1]
        let capture = ActivationCapture(model: model, batchSize: 2)
        // Two points take the general (batched prefill) path; its resid_pre is the reference.
        let padded = try XCTUnwrap(try capture.means(prompts, points: [.residPre, .residMid], positions: .offsets(offsets))[.residPre])
        // Packed and batched passes differ only in rounding: at layer l the bound of a pass through l blocks
        // (0 at the embedding, which is looked up, not computed), with M the largest |resid_pre[l]| of any token,
        // plus the Float64 sums over the prompts, added in another order.
        let c = model.config, d = c.hiddenSize, L = c.numLayers
        var largest = [Float](repeating: 0, count: L)
        let hooks = Hooks()
        hooks.add(.residPre) { act in
            for i in 0..<(act.rows.count * act.width) { largest[act.layer] = max(largest[act.layer], abs(act.data[i])) }
        }
        for p in prompts { _ = try model.prefill([p], hooks: hooks, logits: .none) }
        let longest = prompts.map(\.count).max() ?? 1
        let tolerance = (0..<(offsets.count * L * d)).map { i -> Double in
            let l = (i / d) % L, m = Double(largest[l])
            return c.roundingBound(magnitude: m, tokens: longest, blocks: l, logits: false)
                + float64Agreement(operations: prompts.count, scale: m)
        }
        func check(_ got: [Double], _ what: String) {
            XCTAssertEqual(got.count, padded.count, what)
            for i in got.indices where abs(got[i] - padded[i]) > tolerance[i] {
                XCTFail("\(what): entry \(i) (layer \((i / d) % L)) differs by \(abs(got[i] - padded[i])) > \(tolerance[i])"); return
            }
        }
        for budget in [0, 8] {
            var seen: [Int] = []
            let packed = try capture.residPreMeans(prompts, offsets: offsets, tokensPerPass: budget) { seen.append($0) }
            check(packed, "budget \(budget)")
            XCTAssertEqual(seen.last, prompts.count)
        }
        // The one-point call takes the packed path and agrees too.
        check(try XCTUnwrap(try capture.means(prompts, points: [.residPre], positions: .offsets(offsets))[.residPre]), "means")
        XCTAssertThrowsError(try capture.residPreMeans([[1, 2]], offsets: offsets)) { XCTAssertTrue("\($0)".contains("fewer than the 3 positions")) }
        XCTAssertThrowsError(try capture.residPreMeans([[1, 2]], offsets: [0])) { XCTAssertTrue("\($0)".contains("negative")) }
    }
}
