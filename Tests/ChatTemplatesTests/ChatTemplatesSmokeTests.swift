import XCTest
@testable import ChatTemplates

final class ChatTemplatesSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
