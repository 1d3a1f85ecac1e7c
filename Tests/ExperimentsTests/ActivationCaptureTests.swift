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
        // Two points take the general (padded) path; its resid_pre is the reference.
        let padded = try XCTUnwrap(try capture.means(prompts, points: [.residPre, .residMid], positions: .offsets(offsets))[.residPre])
        for budget in [0, 8] {
            var seen: [Int] = []
            let packed = try capture.residPreMeans(prompts, offsets: offsets, tokensPerPass: budget) { seen.append($0) }
            XCTAssertEqual(packed.count, padded.count)
            let worst = zip(packed, padded).map { abs($0 - $1) }.max() ?? .nan
            XCTAssertLessThan(worst, 1e-5, "budget \(budget): differs by \(worst)")
            XCTAssertEqual(seen.last, prompts.count)
        }
        // The one-point call takes the packed path and agrees too.
        let viaMeans = try XCTUnwrap(try capture.means(prompts, points: [.residPre], positions: .offsets(offsets))[.residPre])
        XCTAssertLessThan(zip(viaMeans, padded).map { abs($0 - $1) }.max() ?? .nan, 1e-5)
        XCTAssertThrowsError(try capture.residPreMeans([[1, 2]], offsets: offsets)) { XCTAssertTrue("\($0)".contains("fewer than the 3 positions")) }
        XCTAssertThrowsError(try capture.residPreMeans([[1, 2]], offsets: [0])) { XCTAssertTrue("\($0)".contains("negative")) }
    }
}
