import Foundation
import ModelFormats

/// Typed access to a JSON object from a Hugging Face config file; every failure names the file and key.
public struct ConfigReader {
    public let path: String
    public let object: [String: Any]

    public init(path: String, object: [String: Any]) {
        self.path = path
        self.object = object
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
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            // Foundation's own description is generic; the debug description says where the JSON breaks.
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            throw ModelError.unreadableFile(path: url.path, reason: "not valid JSON (\(detail))")
        }
        guard let obj = parsed as? [String: Any] else {
            throw ModelError.unreadableFile(path: url.path, reason: "top level is not a JSON object")
        }
        self.init(path: url.path, object: obj)
    }

    /// JSON booleans arrive as NSNumber too (and `is Bool` matches any number on Linux).
    static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    public func has(_ key: String) -> Bool {
        if let v = object[key], !(v is NSNull) { return true }
        return false
    }

    func fail(_ key: String, _ reason: String) -> ModelError { .badConfig(path: path, key: key, reason: reason) }

    public func int(_ key: String) throws -> Int {
        guard let v = try optionalInt(key) else { throw fail(key, "missing") }
        return v
    }

    /// An integer; keys listed in `ConfigValidation.maximum` are bounded by it.
    public func optionalInt(_ key: String) throws -> Int? {
        guard has(key), let raw = object[key] else { return nil }
        guard let v = Self.integer(raw) else { throw fail(key, "expected an integer, found \(raw)") }
        if let limit = ConfigValidation.maximum[key], v > limit {
            throw fail(key, "\(v) is above the supported maximum \(limit)")
        }
        return v
    }

    /// A JSON number that is an integer of magnitude below 10^15 (exact in a Double), not a boolean.
    static func integer(_ raw: Any) -> Int? {
        guard let n = raw as? NSNumber, !isBool(n), n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e15 else {
            return nil
        }
        return n.intValue
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

    public func optionalDouble(_ key: String) throws -> Double? {
        guard has(key), let raw = object[key] else { return nil }
        if let n = raw as? NSNumber, !Self.isBool(n) { return n.doubleValue }
        throw fail(key, "expected a number, found \(raw)")
    }

    public func optionalBool(_ key: String) throws -> Bool? {
        guard has(key), let raw = object[key] else { return nil }
        if let n = raw as? NSNumber, Self.isBool(n) { return n.boolValue }
        throw fail(key, "expected true or false, found \(raw)")
    }

    public func optionalString(_ key: String) throws -> String? {
        guard has(key), let raw = object[key] else { return nil }
        if let s = raw as? String { return s }
        throw fail(key, "expected a string, found \(raw)")
    }

    public func optionalObject(_ key: String) throws -> ConfigReader? {
        guard has(key), let raw = object[key] else { return nil }
        guard let o = raw as? [String: Any] else { throw fail(key, "expected an object") }
        return ConfigReader(path: "\(path) (\(key))", object: o)
    }

    public func optionalStringArray(_ key: String) throws -> [String]? {
        guard has(key), let raw = object[key] else { return nil }
        guard let a = raw as? [String] else { throw fail(key, "expected a list of strings") }
        return a
    }

    public func optionalDoubleArray(_ key: String) throws -> [Double]? {
        guard has(key), let raw = object[key] else { return nil }
        guard let a = raw as? [NSNumber], !a.contains(where: Self.isBool) else { throw fail(key, "expected a list of numbers") }
        return a.map(\.doubleValue)
    }

    /// An integer or a list of integers (e.g. `eos_token_id`), as a list.
    public func intList(_ key: String) throws -> [Int] {
        guard has(key), let raw = object[key] else { return [] }
        let items = raw as? [Any] ?? [raw]
        let ints = items.compactMap(Self.integer)
        guard ints.count == items.count else { throw fail(key, "expected an integer or a list of integers, found \(raw)") }
        return ints
    }
}
