import XCTest
@testable import Tokenizers

final class TokenizersSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
