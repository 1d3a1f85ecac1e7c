import Basics
import Foundation

/// Python-compatible text forms of values: `str()`, `repr()` and `json.dumps()`, so that printing
/// `1.0`, `True`, `None` or a list gives the bytes transformers would produce.
enum PythonFormat {
    /// `str(value)` as Jinja prints it (undefined prints as the empty string); throws `.limit` past `limit` bytes.
    static func str(_ value: TemplateValue, limit: Int) throws -> String {
        switch value {
        case .undefined: return ""
        case .string(let s): return s
        default: return try repr(value, limit: limit)
        }
    }

    /// `repr(value)`; throws `.limit` past `limit` bytes (a list may hold one long string many times).
    static func repr(_ value: TemplateValue, limit: Int) throws -> String {
        var out = ""
        try writeRepr(value, into: &out, limit: limit)
        return out
    }

    /// `str` of a number, bool or None (never long); nil for other values.
    static func scalar(_ value: TemplateValue) -> String? {
        switch value {
        case .string(let s): return s
        case .none, .bool, .int, .double: return try? repr(value, limit: .max)
        default: return nil
        }
    }

    private static func writeRepr(_ value: TemplateValue, into out: inout String, limit: Int) throws {
        switch value {
        case .undefined: break
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let i): out += String(i)
        case .double(let d): out += float(d)
        case .string(let s):
            // Escaping only lengthens the text: refuse before building it when the raw text is already too long.
            let bytes = out.utf8.count &+ s.utf8.count &+ 2
            if bytes > limit { throw TemplateLimits.stringTooLong(bytes, limit) }
            out += reprString(s)
        case .array(let a): try writeItems(a, "[", "]", into: &out, limit: limit)
        case .tuple(let a): try writeItems(a, "(", a.count == 1 ? ",)" : ")", into: &out, limit: limit)
        case .object(let o):
            out += "{"
            for (i, (k, v)) in o.pairs.enumerated() {
                if i > 0 { out += ", " }
                out += reprString(k) + ": "
                try writeRepr(v, into: &out, limit: limit)
                if out.utf8.count > limit { throw TemplateLimits.stringTooLong(out.utf8.count, limit) }
            }
            out += "}"
        case .function(let f): out += "<function \(f.name)>"
        case .namespace(let n):
            out += "<Namespace "
            try writeRepr(.object(n.attributes), into: &out, limit: limit)
            out += ">"
        }
        if out.utf8.count > limit { throw TemplateLimits.stringTooLong(out.utf8.count, limit) }
    }

    private static func writeItems(_ items: [TemplateValue], _ open: String, _ close: String, into out: inout String,
                                   limit: Int) throws {
        out += open
        for (i, item) in items.enumerated() {
            if i > 0 { out += ", " }
            try writeRepr(item, into: &out, limit: limit)
            if out.utf8.count > limit { throw TemplateLimits.stringTooLong(out.utf8.count, limit) }
        }
        out += close
    }

    /// Python's `repr(str)`: single quotes unless the text has a single quote and no double quote.
    static func reprString(_ s: String) -> String {
        let quote: Character = (anyByte(s) { $0 == 0x27 } && !anyByte(s) { $0 == 0x22 }) ? "\"" : "'"
        let quoteByte: UInt8 = quote == "'" ? 0x27 : 0x22
        // Most text needs no escape: copy it whole.
        if !anyByte(s, { $0 < 0x20 || $0 == 0x7F || $0 == 0x5C || $0 == quoteByte }) { return String(quote) + s + String(quote) }
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote { out += "\\" + String(quote) }
                else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + hex(scalar.value, width: 2)
                } else { out.unicodeScalars.append(scalar) }
            }
        }
        out.append(quote)
        return out
    }

    /// Whether any UTF-8 byte of `s` passes `test`, scanning the contiguous bytes when the string has them.
    static func anyByte(_ s: String, _ test: (UInt8) -> Bool) -> Bool {
        s.utf8.withContiguousStorageIfAvailable { $0.contains(where: test) } ?? s.utf8.contains(where: test)
    }

    static func hex(_ v: UInt32, width: Int) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - h.count)) + h
    }

    /// Python's `repr(float)`: shortest round-trip digits, fixed notation for exponents -4..<16.
    static func float(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        // Swift's description already gives the shortest round-trip digits; only the layout differs.
        var text = d.description
        var sign = ""
        if text.hasPrefix("-") { sign = "-"; text.removeFirst() }
        var mantissa = text
        var exp10 = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = String(text[..<e])
            exp10 = Int(text[text.index(after: e)...]) ?? 0
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = String(parts[0])
        let fracPart = parts.count > 1 ? String(parts[1]) : ""
        var digits = intPart + fracPart
        var pointPos = intPart.count + exp10  // digits[0..<pointPos] before the decimal point
        // Normalise: drop leading zeros (moving the point) and trailing zeros.
        while digits.count > 1, digits.first == "0" { digits.removeFirst(); pointPos -= 1 }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        if digits == "0" { return sign + "0.0" }
        let sciExp = pointPos - 1
        if sciExp >= -4 && sciExp < 16 {
            if pointPos <= 0 { return sign + "0." + String(repeating: "0", count: -pointPos) + digits }
            if pointPos >= digits.count { return sign + digits + String(repeating: "0", count: pointPos - digits.count) + ".0" }
            let i = digits.index(digits.startIndex, offsetBy: pointPos)
            return sign + digits[..<i] + "." + digits[i...]
        }
        let head = String(digits.prefix(1))
        let tail = String(digits.dropFirst())
        let expText = (sciExp < 0 ? "-" : "+") + (abs(sciExp) < 10 ? "0" : "") + String(abs(sciExp))
        return sign + head + (tail.isEmpty ? "" : "." + tail) + "e" + expText
    }

    /// `json.dumps(value, ensure_ascii=..., indent=..., separators=..., sort_keys=...)`.
    /// Throws `.limit` once the text passes `limit` bytes.
    static func json(_ value: TemplateValue, indent: String?, itemSeparator: String? = nil, keySeparator: String? = nil,
                     sortKeys: Bool = false, ensureASCII: Bool = false, limit: Int) throws -> String {
        let style = JSONStyle(indent: indent, itemSep: itemSeparator ?? (indent == nil ? ", " : ","),
                              keySep: keySeparator ?? ": ", sortKeys: sortKeys, asciiOnly: ensureASCII, limit: limit)
        var out = ""
        try writeJSON(value, into: &out, level: 0, style)
        if out.utf8.count > limit { throw TemplateLimits.stringTooLong(out.utf8.count, limit) }
        return out
    }

    private struct JSONStyle {
        let indent: String?
        let itemSep: String
        let keySep: String
        let sortKeys: Bool
        /// `ensure_ascii=True`: non-ASCII (and DEL) as `\uXXXX` UTF-16 units.
        let asciiOnly: Bool
        let limit: Int
    }

    private static func writeJSON(_ value: TemplateValue, into out: inout String, level: Int, _ style: JSONStyle) throws {
        if out.utf8.count > style.limit { throw TemplateLimits.stringTooLong(out.utf8.count, style.limit) }
        func newline(_ lvl: Int) throws {
            guard let indent = style.indent else { return }
            let bytes = out.utf8.count &+ 1 &+ Sandbox.product(lvl, indent.utf8.count)
            if bytes > style.limit || bytes < 0 { throw TemplateLimits.stringTooLong(bytes, style.limit) }
            out += "\n" + String(repeating: indent, count: lvl)
        }
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += float(d) }
        case .string(let s):
            let bytes = out.utf8.count &+ s.utf8.count &+ 2
            if bytes > style.limit { throw TemplateLimits.stringTooLong(bytes, style.limit) }
            out += JSONWriter.quote(s, asciiOnly: style.asciiOnly)
        case .array(let a), .tuple(let a):
            if a.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in a.enumerated() {
                if i > 0 { out += style.itemSep }
                try newline(level + 1)
                try writeJSON(item, into: &out, level: level + 1, style)
            }
            try newline(level)
            out += "]"
        case .object(let o):
            if o.count == 0 { out += "{}"; return }
            out += "{"
            let pairs = style.sortKeys ? o.pairs.sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) } : o.pairs
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += style.itemSep }
                try newline(level + 1)
                out += JSONWriter.quote(k, asciiOnly: style.asciiOnly) + style.keySep
                try writeJSON(v, into: &out, level: level + 1, style)
            }
            try newline(level)
            out += "}"
        case .undefined: throw TemplateError(.type, "Object of type Undefined is not JSON serializable")
        case .function: throw TemplateError(.type, "Object of type function is not JSON serializable")
        case .namespace: throw TemplateError(.type, "Object of type Namespace is not JSON serializable")
        }
    }

    /// Jinja's `escape` (markupsafe) in a non-autoescaping environment.
    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
