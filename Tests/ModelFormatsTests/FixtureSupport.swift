// Shared helpers: fixture paths, expected values from the Python script, temporary folders.
import Foundation
import XCTest
@testable import ModelFormats

enum Fixtures {
    /// Tests/Fixtures/formats (written by scripts/make_format_fixtures.py).
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/formats")

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    /// expected.json as written by the fixture script.
    static let expected: [String: Any] = {
        guard let data = try? Data(contentsOf: url("expected.json")),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return json
    }()

    static func section(_ key: String) throws -> [String: Any] {
        try XCTUnwrap(expected[key] as? [String: Any], "expected.json lacks '\(key)'; run scripts/make_format_fixtures.py")
    }

    /// A JSON float list from the script ("nan"/"inf" as strings) as Floats.
    static func floats(_ value: Any?) throws -> [Float] {
        let items = try XCTUnwrap(value as? [Any])
        return try items.map { item in
            if let s = item as? String {
                switch s {
                case "nan": return .nan
                case "inf": return .infinity
                case "-inf": return -.infinity
                default: throw XCTSkip("bad float \(s)")
                }
            }
            return Float(try XCTUnwrap(item as? NSNumber).doubleValue)
        }
    }
}

/// A temporary folder removed when the test ends.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("steer-formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A safetensors file split into header text and data, for building malformed variants.
struct SafeTensorsBytes {
    var header: String
    var data: [UInt8]

    init(contentsOf url: URL) throws {
        let bytes = [UInt8](try Data(contentsOf: url))
        let n = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        data = Array(bytes[(8 + n)...])
    }

    /// Replaces `old` (which must occur) by `new` in the header.
    mutating func replace(_ old: String, with new: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(header.contains(old), "header lacks \(old)", file: file, line: line)
        header = header.replacingOccurrences(of: old, with: new)
    }

    /// The file's bytes with a correct length prefix.
    var bytes: [UInt8] {
        let h = Array(header.utf8)
        return withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + data
    }

    func write(to url: URL) throws { try Data(bytes).write(to: url) }
}
