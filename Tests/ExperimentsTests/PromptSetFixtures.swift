// Shared helpers for the Experiments tests: fixture paths and expected.json
// (both written by scripts/make_stats_fixtures.py).
import Foundation
import XCTest
@testable import Experiments

enum PromptFixtures {
    /// Tests/Fixtures/promptsets.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/promptsets")

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static let expected: [String: Any] = {
        guard let data = try? Data(contentsOf: url("expected.json")),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return json
    }()

    static func section<T>(_ key: String, as type: T.Type = T.self) throws -> T {
        try XCTUnwrap(expected[key] as? T, "expected.json lacks '\(key)'; run scripts/make_stats_fixtures.py")
    }

    static func load(_ name: String, field: String? = nil) throws -> PromptSet {
        try PromptSet.load(url(name), field: field)
    }

    /// The PromptSetError thrown by `body`, failing the test when it throws nothing or something else.
    static func error(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> PromptSetError? {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as PromptSetError {
            return error
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return nil
    }
}

extension Array where Element == Any {
    var doubles: [Double] { compactMap { ($0 as? NSNumber)?.doubleValue } }
}
