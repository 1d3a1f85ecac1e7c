import XCTest
@testable import SteerCLI

final class SteerCLISmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
