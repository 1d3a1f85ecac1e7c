import Foundation
import Basics

/// A typed view of one object of a tokenizer file that turns wrong shapes into `TokenizerError`s
/// naming the file and the key path (`model.vocab`, `post_processor.single[0]`).
struct JSONFields {
    /// The object's members, in file order.
    let members: [JSONMember]
    /// File name used in error messages.
    let file: String
    /// Dotted key path of this object inside the file, for error messages.
    let path: String

    init(_ members: [JSONMember], file: String, path: String = "") {
        self.members = members
        self.file = file
        self.path = path
    }

    /// Parses `data` as a JSON object.
    static func parse(_ data: Data, file: String) throws -> JSONFields {
        let value: JSONValue
        do { value = try JSONValue.parse(data) } catch {
            throw TokenizerError.malformedJSON(file: file, reason: "\(error)")
        }
        guard let members = value.members else {
            throw TokenizerError.malformedJSON(file: file, reason: "top level is \(value.kind), not an object")
        }
        return JSONFields(members, file: file)
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The member `key` unless it is absent or null (the last one when the key repeats).
    subscript(key: String) -> JSONValue? {
        guard let v = members.last(where: { $0.key == key })?.value, !v.isNull else { return nil }
        return v
    }

    func has(_ key: String) -> Bool { self[key] != nil }

    /// The member `key` read by `read`; nil when absent or null, an error naming `expected` when `read` fails.
    private func typed<T>(_ key: String, _ expected: String, _ read: (JSONValue) -> T?) throws -> T? {
        guard let v = self[key] else { return nil }
        guard let t = read(v) else { throw invalid(key, "expected \(expected), found \(v.kind)") }
        return t
    }

    func string(_ key: String) throws -> String? { try typed(key, "a string", \.string) }

    func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw TokenizerError.missingKey(file: file, key: keyPath(key)) }
        return s
    }

    func bool(_ key: String) throws -> Bool? { try typed(key, "a boolean", \.bool) }

    func int(_ key: String) throws -> Int? { try typed(key, "an integer", \.wholeNumber) }

    func double(_ key: String) throws -> Double? { try typed(key, "a number", \.double) }

    func object(_ key: String) throws -> JSONFields? {
        try typed(key, "an object", \.members).map { JSONFields($0, file: file, path: keyPath(key)) }
    }

    func requiredObject(_ key: String) throws -> JSONFields {
        guard let o = try object(key) else { throw TokenizerError.missingKey(file: file, key: keyPath(key)) }
        return o
    }

    func array(_ key: String) throws -> [JSONValue]? { try typed(key, "an array", \.array) }

    /// An array of objects, each wrapped with its index in the key path.
    func objects(_ key: String) throws -> [JSONFields]? {
        guard let arr = try array(key) else { return nil }
        return try arr.enumerated().map { i, v in try element(v, of: key, at: i) }
    }

    /// Element `i` of the array `key` as an object.
    func element(_ value: JSONValue, of key: String, at i: Int) throws -> JSONFields {
        guard let m = value.members else { throw invalid("\(key)[\(i)]", "expected an object, found \(value.kind)") }
        return JSONFields(m, file: file, path: keyPath("\(key)[\(i)]"))
    }

    func invalid(_ key: String, _ reason: String) -> TokenizerError {
        .invalidValue(file: file, key: keyPath(key), reason: reason)
    }

    /// The `type` field that tags every tokenizer.json component.
    func type() throws -> String { try requiredString("type") }
}
