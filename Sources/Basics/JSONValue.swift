// The one JSON value type of Steer: every file it reads (safetensors headers, config.json,
// tokenizer.json, chat-template messages, fuzz seeds) and every JSON it writes by hand goes through it.

/// An object member: key and value, in the order the source wrote them.
public typealias JSONMember = (key: String, value: JSONValue)

/// A JSON value as the source wrote it.
///
/// - Numbers keep their text, so an integer is read exactly (`Int64` and beyond), a double as a
///   double, and text no parser represents (`1e400`, a 30-digit integer) survives a round trip.
/// - Objects keep their members in source order (Python dicts and the chat templates need
///   insertion order) and may hold a key twice when the parser was asked to keep repeats; a lookup
///   by key sees the last one, as Python's `json` and serde's maps do.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// The number's text; the writer emits it verbatim.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// A number holding an integer.
    public static func int<T: BinaryInteger>(_ value: T) -> JSONValue { .number(String(value)) }

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var bool: Bool? { if case let .bool(b) = self { return b } else { return nil } }

    public var string: String? { if case let .string(s) = self { return s } else { return nil } }

    public var array: [JSONValue]? { if case let .array(a) = self { return a } else { return nil } }

    /// The members of an object, in source order.
    public var members: [JSONMember]? { if case let .object(m) = self { return m } else { return nil } }

    /// The number's text as written.
    public var numberText: String? { if case let .number(n) = self { return n } else { return nil } }

    /// Whether this is a number written without fraction or exponent (`7`, `-0`, a 30-digit integer).
    public var isIntegerLiteral: Bool {
        guard case let .number(text) = self else { return false }
        return !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// The exact integer of a number written without fraction or exponent, when it fits an `Int`.
    public var integer: Int? {
        guard case let .number(text) = self, isIntegerLiteral else { return nil }
        return Int(text)
    }

    /// A number whose value is a whole number that an `Int` holds exactly: an integer literal, or a
    /// literal such as `2.0` or `1e3` whose value is integral and below 2^53 in magnitude.
    public var wholeNumber: Int? {
        if let i = integer { return i }
        guard let d = double, d.rounded() == d, abs(d) < 0x1p53 else { return nil }
        return Int(d)
    }

    /// Any number as a `Double` (nearest; beyond the range, infinite).
    public var double: Double? {
        guard case let .number(text) = self else { return nil }
        return Double(text)
    }

    /// The member `key` of an object (the last one if the key repeats); nil for other values.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// The value for an error message: a scalar as the file writes it (a long string cut to its first
    /// 60 characters), a container by its kind.
    public var errorText: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return String(b)
        case let .number(n): return n.count > 60 ? String(n.prefix(60)) + "…" : n
        case let .string(s): return s.count > 60 ? JSONWriter.quote(String(s.prefix(60))) + "…" : JSONWriter.quote(s)
        case .array, .object: return kind
        }
    }

    /// A short name of the value's kind, for error messages ("a string", "an object", …).
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSONValue: Equatable {
    /// Structural equality: same kind, same number text, same members in the same order.
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)), let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
}
