// A strict RFC 8259 parser into `JSONValue`: no trailing commas, comments, NaN, leading zeros or
// unescaped control characters; bounded nesting; errors give the line and column.

/// How `JSONValue.parse` treats what JSON leaves open.
public struct JSONParseOptions: Sendable {
    /// Arrays and objects may nest this deep; deeper is an error (the parser, printing and freeing
    /// a value all recurse, so a hostile document could otherwise exhaust the stack).
    public var maxDepth: Int
    /// Refuse an object that names a key twice (safetensors does); otherwise keep both members.
    public var rejectDuplicateKeys: Bool
    /// Refuse `\uD800` without its low half (serde does); otherwise it becomes U+FFFD (Python keeps
    /// lone surrogates, which a Swift string cannot hold).
    public var rejectLoneSurrogates: Bool

    public init(maxDepth: Int = 512, rejectDuplicateKeys: Bool = false, rejectLoneSurrogates: Bool = false) {
        self.maxDepth = maxDepth
        self.rejectDuplicateKeys = rejectDuplicateKeys
        self.rejectLoneSurrogates = rejectLoneSurrogates
    }
}

/// Malformed JSON: what is wrong and where (line and column count from 1; the column in characters).
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public let line: Int
    public let column: Int
    /// Byte offset from the start of the document.
    public let offset: Int

    public var description: String { "\(reason) at line \(line), column \(column)" }
}

extension JSONValue {
    /// Parses one JSON document; white space may surround the value, anything else is an error.
    public static func parse(_ bytes: UnsafeRawBufferPointer, options: JSONParseOptions = .init()) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes, options: options)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.atEnd else { throw parser.failure("unexpected text after the JSON value") }
        return value
    }

    /// Parses one JSON document held in any contiguous bytes (`[UInt8]`, `Data`, …).
    public static func parse<Bytes: Sequence>(_ bytes: Bytes, options: JSONParseOptions = .init()) throws -> JSONValue
    where Bytes.Element == UInt8 {
        if let value = try bytes.withContiguousStorageIfAvailable({ try parse(UnsafeRawBufferPointer($0), options: options) }) {
            return value
        }
        return try Array(bytes).withUnsafeBytes { try parse($0, options: options) }
    }

    /// Parses JSON text.
    public static func parse(_ text: String, options: JSONParseOptions = .init()) throws -> JSONValue {
        try parse(Array(text.utf8), options: options)
    }
}

private struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let options: JSONParseOptions
    var position = 0

    init(bytes: UnsafeRawBufferPointer, options: JSONParseOptions) {
        self.bytes = bytes
        self.options = options
    }

    /// An error at the current position; line and column are counted only now, on failure.
    func failure(_ reason: String) -> JSONError {
        let end = min(position, bytes.count)
        var line = 1, column = 1
        for i in 0..<end {
            let b = bytes[i]
            if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return JSONError(reason: reason, line: line, column: column, offset: end)
    }

    var atEnd: Bool { position >= bytes.count }
    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while position < bytes.count {
            let c = bytes[position]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            position += 1
        }
    }

    mutating func literal(_ word: StaticString, _ value: JSONValue) throws -> JSONValue {
        let start = position
        for byte in UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard current == byte else { position = start; throw failure("invalid literal") }
            position += 1
        }
        return value
    }

    mutating func parseValue(depth: Int) throws -> JSONValue {
        guard let c = current else { throw failure("unexpected end of JSON") }
        switch c {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < options.maxDepth else { throw failure("nested more than \(options.maxDepth) levels deep") }
            return c == UInt8(ascii: "{") ? try parseObject(depth: depth + 1) : try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character \(Self.describe(c))")
        }
    }

    static func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
    }

    mutating func parseObject(depth: Int) throws -> JSONValue {
        position += 1
        var members: [JSONMember] = []
        var seen: Set<String> = []   // only when refusing repeated keys, and only past a few members
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let keyStart = position
            let key = try parseString()
            if options.rejectDuplicateKeys && isRepeated(key, in: members, seen: &seen) {
                position = keyStart
                throw failure("duplicate key \(JSONWriter.quote(key))")
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("expected ':' after the key") }
            position += 1
            skipWhitespace()
            members.append((key, try parseValue(depth: depth)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1; skipWhitespace()
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw failure("expected ',' or '}'")
            }
        }
    }

    /// Whether `key` is already among `members`: a scan for small objects, a set beyond.
    func isRepeated(_ key: String, in members: [JSONMember], seen: inout Set<String>) -> Bool {
        if members.count < 16 { return members.contains { $0.key == key } }
        if seen.isEmpty { seen = Set(members.map(\.key)) }
        return !seen.insert(key).inserted
    }

    mutating func parseArray(depth: Int) throws -> JSONValue {
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1; skipWhitespace()
            case UInt8(ascii: "]"): position += 1; return .array(items)
            default: throw failure("expected ',' or ']'")
            }
        }
    }

    mutating func digits() -> Int {
        let start = position
        while let c = current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { position += 1 }
        return position - start
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        let intStart = position
        guard digits() > 0 else { throw failure("invalid number") }
        if bytes[intStart] == UInt8(ascii: "0"), position - intStart > 1 {
            position = intStart
            throw failure("number with a leading zero")
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw failure("invalid number: no digit after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw failure("invalid number: no digit in the exponent") }
        }
        return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
    }

    /// A string literal at `position` (which holds its opening quote). Text without escapes is
    /// copied in one piece; invalid UTF-8 becomes U+FFFD.
    mutating func parseString() throws -> String {
        position += 1
        let start = position
        while position < bytes.count {
            let c = bytes[position]
            if c == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<(position - 1)]), as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") { break }
            guard c >= 0x20 else { throw failure("control character \(Self.describe(c)) in a string") }
            position += 1
        }
        var out = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while true {
            guard let c = current else { throw failure("unterminated string") }
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &out)
            default:
                guard c >= 0x20 else { position -= 1; throw failure("control character \(Self.describe(c)) in a string") }
                out.append(c)
            }
        }
    }

    /// The escape after a backslash, appended to `out` as UTF-8.
    mutating func parseEscape(into out: inout [UInt8]) throws {
        guard let e = current else { throw failure("unterminated string") }
        position += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var code = try hex4()
            if (0xD800..<0xDC00).contains(code), current == UInt8(ascii: "\\"), position + 1 < bytes.count,
               bytes[position + 1] == UInt8(ascii: "u") {
                let highEnd = position
                position += 2
                let low = try hex4()
                if (0xDC00..<0xE000).contains(low) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    position = highEnd   // the next escape stands on its own
                }
            }
            if (0xD800..<0xE000).contains(code) {
                guard !options.rejectLoneSurrogates else { throw failure("lone surrogate in a \\u escape") }
                code = 0xFFFD
            }
            out.append(contentsOf: Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8))
        default:
            position -= 1
            throw failure("invalid escape \\\(Self.describe(e))")
        }
    }

    mutating func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let c = current else { throw failure("truncated \\u escape") }
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            position += 1
        }
        return v
    }
}
