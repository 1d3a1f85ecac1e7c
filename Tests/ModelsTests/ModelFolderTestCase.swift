import XCTest
import ModelFormats
@testable import Models

/// Tests on edited copies of the fixture model folders, in a temporary folder removed afterwards.
class ModelFolderTestCase: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("steer-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    /// A copy of a fixture model with `config.json` edited by `edit`.
    func copy(_ name: String, edit: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let src = FixtureModel.root.appendingPathComponent(name)
        let dst = temp.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(at: src, to: dst)
        let cfgURL = dst.appendingPathComponent("config.json")
        var cfg = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: cfgURL)) as? [String: Any])
        edit(&cfg)
        try JSONSerialization.data(withJSONObject: cfg).write(to: cfgURL)
        return dst
    }

    func expectError(_ dir: URL, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ModelLoader.load(directory: dir), file: file, line: line) { error in
            let text = "\(error)"
            for p in parts { XCTAssertTrue(text.contains(p), "'\(text)' lacks '\(p)'", file: file, line: line) }
        }
    }
}
