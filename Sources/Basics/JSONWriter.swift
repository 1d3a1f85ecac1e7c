// Writing JSON text: one string escaping rule for everything Steer writes, and the layouts of the
// writers whose output Steer reproduces byte for byte (serde_json, Python's json.dumps).

/// The layout of written JSON.
public struct JSONFormat: Sendable {
    /// Indentation per level; nil writes everything on one line.
    public var indent: String?
    /// Between array items and object members.
    public var itemSeparator: String
    /// Between a key and its value.
    public var keySeparator: String
    /// Object members in code-point order of their keys (Python's `sort_keys`) instead of source order.
    public var sortKeys: Bool
    /// Non-ASCII characters (and DEL) as `\uXXXX` escapes (Python's default `ensure_ascii`).
    public var asciiOnly: Bool
    /// Containers nested this deep or deeper are written on one line: indentation then costs at most
    /// this many levels, so a deeply nested value stays linear in size.
    public var indentedLevels: Int

    public init(indent: String? = nil, itemSeparator: String = ",", keySeparator: String = ":",
                sortKeys: Bool = false, asciiOnly: Bool = false, indentedLevels: Int = .max) {
        self.indent = indent
        self.itemSeparator = itemSeparator
        self.keySeparator = keySeparator
        self.sortKeys = sortKeys
        self.asciiOnly = asciiOnly
        self.indentedLevels = indentedLevels
    }

    /// serde_json's `to_string`: no spaces.
    public static let compact = JSONFormat()
    /// Two-space indentation, `": "` after keys: serde_json's `to_string_pretty`, and Hugging Face files.
    public static let pretty = JSONFormat(indent: "  ", keySeparator: ": ")
}

/// Writes `JSONValue`s and string literals.
public enum JSONWriter {
    /// `s` as a JSON string literal. Quotes, backslashes and control characters are escaped as both
    /// serde_json and Python's `json.dumps` escape them (`\n`, `\t`, `\r`, `\b`, `\f`, else `\u00XX`,
    /// lower-case hex); non-ASCII is kept as it is, or with `asciiOnly` written as `\uXXXX` UTF-16
    /// units together with DEL, as `json.dumps` does with `ensure_ascii=True`.
    public static func quote(_ s: String, asciiOnly: Bool = false) -> String {
        // Most text needs no escape: copy it whole.
        if !needsEscape(s, asciiOnly: asciiOnly) { return "\"" + s + "\"" }
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += hex4(scalar.value)
                } else if asciiOnly && scalar.value > 0x7E {
                    for unit in String(scalar).utf16 { out += hex4(UInt32(unit)) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func needsEscape(_ s: String, asciiOnly: Bool) -> Bool {
        let test: (UInt8) -> Bool = { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || (asciiOnly && $0 > 0x7E) }
        return s.utf8.withContiguousStorageIfAvailable { $0.contains(where: test) } ?? s.utf8.contains(where: test)
    }

    private static func hex4(_ v: UInt32) -> String {
        let hex = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// `value` as text in `format`. Numbers are written as their text; empty containers as `[]` and `{}`.
    public static func text(_ value: JSONValue, format: JSONFormat = .compact) -> String {
        var out = ""
        write(value, into: &out, format: format, level: 0)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout String, format: JSONFormat, level: Int) {
        // A line break inside the container at `level`, indented to `depth`.
        func newline(_ depth: Int) {
            guard let indent = format.indent, level < format.indentedLevels else { return }
            out += "\n" + String(repeating: indent, count: depth)
        }
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): out += quote(s, asciiOnly: format.asciiOnly)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += format.itemSeparator }
                newline(level + 1)
                write(item, into: &out, format: format, level: level + 1)
            }
            newline(level)
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            let ordered = format.sortKeys ? members.sorted { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) } : members
            for (i, member) in ordered.enumerated() {
                if i > 0 { out += format.itemSeparator }
                newline(level + 1)
                out += quote(member.key, asciiOnly: format.asciiOnly) + format.keySeparator
                write(member.value, into: &out, format: format, level: level + 1)
            }
            newline(level)
            out += "}"
        }
    }
}

extension JSONValue {
    /// The value as JSON text in `format` (compact by default).
    public func text(_ format: JSONFormat = .compact) -> String { JSONWriter.text(self, format: format) }
}
