import Foundation
import Basics
import ModelFormats

/// Typed access to a JSON object from a Hugging Face config file; every failure names the file and key.
public struct ConfigReader {
    public let path: String
    /// The object's members in file order; a repeated key reads as its last value, as in Python.
    public let members: [JSONMember]

    public init(path: String, members: [JSONMember]) {
        self.path = path
        self.members = members
    }

    /// Config files larger than this are refused (real ones are a few kilobytes).
    public static let maxFileSize = 16 << 20

    /// Reads and parses a JSON object from `url` (a regular file of at most `maxFileSize` bytes).
    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw ModelError.missingFile(url.path) }
        let data: Data
        do { data = try RegularFile.read(url, limit: Self.maxFileSize) } catch let FormatError.io(_, reason) {
            throw ModelError.unreadableFile(path: url.path, reason: reason)
        }
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(data) } catch {
            throw ModelError.unreadableFile(path: url.path, reason: "not valid JSON (\(error))")
        }
        guard let members = parsed.members else {
            throw ModelError.unreadableFile(path: url.path, reason: "top level is \(parsed.kind), not a JSON object")
        }
        self.init(path: url.path, members: members)
    }

    /// The value of `key` unless it is absent or null.
    func value(_ key: String) -> JSONValue? {
        guard let v = members.last(where: { $0.key == key })?.value, !v.isNull else { return nil }
        return v
    }

    public func has(_ key: String) -> Bool { value(key) != nil }

    func fail(_ key: String, _ reason: String) -> ModelError { .badConfig(path: path, key: key, reason: reason) }

    /// The value of `key` read by `read`; nil when absent or null, an error naming `expected` when `read` fails.
    private func typed<T>(_ key: String, _ expected: String, _ read: (JSONValue) -> T?) throws -> T? {
        guard let raw = value(key) else { return nil }
        guard let v = read(raw) else { throw fail(key, "expected \(expected), found \(raw.errorText)") }
        return v
    }

    public func int(_ key: String) throws -> Int {
        guard let v = try optionalInt(key) else { throw fail(key, "missing") }
        return v
    }

    /// An integer; keys listed in `ConfigValidation.maximum` are bounded by it.
    public func optionalInt(_ key: String) throws -> Int? {
        guard let v = try typed(key, "an integer", Self.integer) else { return nil }
        if let limit = ConfigValidation.maximum[key], v > limit {
            throw fail(key, "\(v) is above the supported maximum \(limit)")
        }
        return v
    }

    /// A whole number (`2` or `2.0`, as Python accepts either for a size) below 10^15 in magnitude.
    static func integer(_ raw: JSONValue) -> Int? {
        guard let v = raw.wholeNumber, abs(v) < 1_000_000_000_000_000 else { return nil }
        return v
    }

    public func positiveInt(_ key: String) throws -> Int {
        let v = try int(key)
        guard v > 0 else { throw fail(key, "must be positive, found \(v)") }
        return v
    }

    public func double(_ key: String) throws -> Double {
        guard let v = try optionalDouble(key) else { throw fail(key, "missing") }
        return v
    }

    public func optionalDouble(_ key: String) throws -> Double? { try typed(key, "a number", \.double) }

    public func optionalBool(_ key: String) throws -> Bool? { try typed(key, "true or false", \.bool) }

    public func optionalString(_ key: String) throws -> String? { try typed(key, "a string", \.string) }

    public func optionalObject(_ key: String) throws -> ConfigReader? {
        try typed(key, "an object", \.members).map { ConfigReader(path: "\(path) (\(key))", members: $0) }
    }

    public func optionalStringArray(_ key: String) throws -> [String]? {
        try typed(key, "a list of strings") { v in v.array.flatMap { items in Self.all(items, \.string) } }
    }

    public func optionalDoubleArray(_ key: String) throws -> [Double]? {
        try typed(key, "a list of numbers") { v in v.array.flatMap { items in Self.all(items, \.double) } }
    }

    /// An integer or a list of integers (e.g. `eos_token_id`), as a list.
    public func intList(_ key: String) throws -> [Int] {
        try typed(key, "an integer or a list of integers") { v in Self.all(v.array ?? [v], Self.integer) } ?? []
    }

    /// `read` of every item, or nil when one fails.
    private static func all<T>(_ items: [JSONValue], _ read: (JSONValue) -> T?) -> [T]? {
        var out: [T] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = read(item) else { return nil }
            out.append(v)
        }
        return out
    }
}
