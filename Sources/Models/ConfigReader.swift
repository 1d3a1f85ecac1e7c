import Foundation

/// Typed access to a JSON object from a Hugging Face config file; every failure names the file and key.
public struct ConfigReader {
    public let path: String
    public let object: [String: Any]

    public init(path: String, object: [String: Any]) {
        self.path = path
        self.object = object
    }

    /// Reads and parses a JSON object from `url`.
    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw ModelError.missingFile(url.path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw ModelError.unreadableFile(path: url.path, reason: "not valid JSON (\(error.localizedDescription))")
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

    public func optionalInt(_ key: String) throws -> Int? {
        guard has(key), let raw = object[key] else { return nil }
        if let n = raw as? NSNumber, !Self.isBool(n), n.doubleValue == n.doubleValue.rounded(),
           abs(n.doubleValue) < 1e15 {
            return n.intValue
        }
        throw fail(key, "expected an integer, found \(raw)")
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
        guard let a = raw as? [NSNumber] else { throw fail(key, "expected a list of numbers") }
        return a.map(\.doubleValue)
    }

    /// An integer or a list of integers (e.g. `eos_token_id`), as a list.
    public func intList(_ key: String) throws -> [Int] {
        guard has(key), let raw = object[key] else { return [] }
        if let a = raw as? [NSNumber] { return a.map(\.intValue) }
        if let n = raw as? NSNumber, !Self.isBool(n) { return [n.intValue] }
        throw fail(key, "expected an integer or a list of integers")
    }
}
