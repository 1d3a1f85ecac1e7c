import XCTest
@testable import Models

/// How prompts are cut into generation batches.
final class GenerationBatchTests: XCTestCase {
    func testEvenSplitKeepsOrderAndSizesWithinOne() {
        let prompts = (0..<100).map { [$0] }
        let opts = GenerationOptions(maxNewTokens: 1)
        XCTAssertEqual(GenerationBatch.split(prompts, size: 48, options: opts).map(\.prompts.count), [48, 48, 4])
        XCTAssertEqual(GenerationBatch.split(prompts, size: 48, options: opts, even: true).map(\.prompts.count), [33, 33, 34])
        XCTAssertEqual(GenerationBatch.split(prompts, size: 25, options: opts, even: true).map(\.prompts.count), [25, 25, 25, 25])
        XCTAssertEqual(GenerationBatch.split(prompts, size: 500, options: opts, even: true).map(\.prompts.count), [100])
        XCTAssertEqual(GenerationBatch.split(prompts, size: 0, options: opts, even: true).count, 100)
        XCTAssertEqual(GenerationBatch.split(prompts, size: 7, options: opts, even: true).flatMap(\.prompts), prompts)
        XCTAssertTrue(GenerationBatch.split([], size: 4, options: opts, even: true).isEmpty)
    }
}
