import Foundation

/// A thin typed view over a `JSONSerialization` dictionary that turns wrong shapes into
/// `TokenizerError`s naming the file and the key path.
struct JSONObject {
    let dict: [String: Any]
    /// File name used in error messages.
    let file: String
    /// Dotted key path of this object inside the file, for error messages.
    let path: String

    init(_ dict: [String: Any], file: String, path: String = "") {
        self.dict = dict
        self.file = file
        self.path = path
    }

    /// Parses `data` as a JSON object.
    static func parse(_ data: Data, file: String) throws -> JSONObject {
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw TokenizerError.malformedJSON(file: file, reason: error.localizedDescription)
        }
        guard let dict = any as? [String: Any] else {
            throw TokenizerError.malformedJSON(file: file, reason: "top level is not an object")
        }
        return JSONObject(dict, file: file)
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func has(_ key: String) -> Bool {
        if let v = dict[key], !(v is NSNull) { return true }
        return false
    }

    func string(_ key: String) throws -> String? {
        guard let v = dict[key], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw invalid(key, "expected a string") }
        return s
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw TokenizerError.missingKey(file: file, key: keyPath(key)) }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = dict[key], !(v is NSNull) else { return nil }
        if let b = v as? Bool { return b }
        if let n = v as? NSNumber { return n.boolValue }
        throw invalid(key, "expected a boolean")
    }

    func int(_ key: String) throws -> Int? {
        guard let v = dict[key], !(v is NSNull) else { return nil }
        if let i = v as? Int { return i }
        if let d = v as? Double, d.isFinite, d.rounded() == d, abs(d) < 9e18 { return Int(d) }
        if let n = v as? NSNumber { return n.intValue }
        throw invalid(key, "expected an integer")
    }

    func double(_ key: String) throws -> Double? {
        guard let v = dict[key], !(v is NSNull) else { return nil }
        if let d = v as? Double { return d }
        if let i = v as? Int { return Double(i) }
        if let n = v as? NSNumber { return n.doubleValue }
        throw invalid(key, "expected a number")
    }

    func object(_ key: String) throws -> JSONObject? {
        guard let v = dict[key], !(v is NSNull) else { return nil }
        guard let d = v as? [String: Any] else { throw invalid(key, "expected an object") }
        return JSONObject(d, file: file, path: keyPath(key))
    }

    func requiredObject(_ key: String) throws -> JSONObject {
        guard let o = try object(key) else { throw TokenizerError.missingKey(file: file, key: keyPath(key)) }
        return o
    }

    func array(_ key: String) throws -> [Any]? {
        guard let v = dict[key], !(v is NSNull) else { return nil }
        guard let a = v as? [Any] else { throw invalid(key, "expected an array") }
        return a
    }

    /// An array of objects, each wrapped with its index in the key path.
    func objects(_ key: String) throws -> [JSONObject]? {
        guard let arr = try array(key) else { return nil }
        return try arr.enumerated().map { i, v in
            guard let d = v as? [String: Any] else { throw invalid("\(key)[\(i)]", "expected an object") }
            return JSONObject(d, file: file, path: keyPath("\(key)[\(i)]"))
        }
    }

    func invalid(_ key: String, _ reason: String) -> TokenizerError {
        .invalidValue(file: file, key: keyPath(key), reason: reason)
    }

    /// The `type` field that tags every tokenizer.json component.
    func type() throws -> String { try requiredString("type") }
}
