import Foundation

/// A split/replace pattern from tokenizer.json: either a literal string or a regex.
/// Known model split regexes run through `SplitScanner`; others through Steer's linear-time regex engine
/// (`RegexParser` → `RegexProgram` → `RegexMatcher`), which reads Oniguruma's syntax as `tokenizers` does and
/// cannot be driven into exponential time by a hostile pattern.
final class RegexPattern: @unchecked Sendable {
    enum Kind {
        case literal([UInt8])
        case scanner(SplitScanner)
        case regex(FlatRegex)
    }

    let kind: Kind
    let source: String

    /// Reads `{"String": "..."}` or `{"Regex": "..."}` from `json[key]`.
    init(json: JSONFields, key: String) throws {
        let obj = try json.requiredObject(key)
        if let s = try obj.string("String") {
            source = s
            kind = .literal(Array(s.utf8))
        } else if let r = try obj.string("Regex") {
            source = r
            if let scanner = SplitScanner(pattern: r) {
                kind = .scanner(scanner)
            } else {
                kind = .regex(try Self.compile(r, file: json.file))
            }
        } else {
            throw json.invalid(key, "expected {\"String\": ...} or {\"Regex\": ...}")
        }
    }

    init(scanner: SplitScanner, source: String) {
        self.kind = .scanner(scanner)
        self.source = source
    }

    /// The general engine for `pattern`, even where a scanner exists (the tests compare the two).
    init(generalRegex pattern: String) throws {
        kind = .regex(try Self.compile(pattern, file: "pattern"))
        source = pattern
    }

    static func compile(_ pattern: String, file: String) throws -> FlatRegex {
        do {
            return FlatRegex(try RegexProgram(try RegexParser.parse(pattern)))
        } catch let e as RegexSyntaxError {
            throw TokenizerError.invalidRegex(file: file, pattern: pattern, reason: "\(e.message) (at character \(e.offset))")
        }
    }

    /// Non-overlapping matches in `text` as UTF-8 byte ranges, left to right.
    func matches(in text: String) -> [Range<Int>] {
        switch kind {
        case .scanner(let s):
            var copy = text
            return copy.withUTF8 { s.matches($0) }
        case .literal(let needle):
            guard !needle.isEmpty else { return [] }
            var out: [Range<Int>] = []
            var copy = text
            copy.withUTF8 { hay in
                var i = 0
                let n = hay.count, m = needle.count
                while i + m <= n {
                    var ok = true
                    for k in 0..<m where hay[i + k] != needle[k] { ok = false; break }
                    if ok { out.append(i..<(i + m)); i += m } else { i += 1 }
                }
            }
            return out
        case .regex(let program):
            var copy = text
            return copy.withUTF8 { RegexMatcher(program, $0).allMatches() }
        }
    }

    /// Replaces every match with `content` (literally).
    func replace(in text: String, with content: String) -> String {
        let ranges = matches(in: text)
        guard !ranges.isEmpty else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var last = 0
        for r in ranges {
            out.append(contentsOf: bytes[last..<r.lowerBound])
            out.append(contentsOf: content.utf8)
            last = r.upperBound
        }
        out.append(contentsOf: bytes[last...])
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    /// The substring at UTF-8 byte range `r` (range ends always fall on scalar boundaries here).
    func utf8Slice(_ r: Range<Int>) -> String {
        let u = self.utf8
        let a = u.index(u.startIndex, offsetBy: r.lowerBound)
        let b = u.index(a, offsetBy: r.count)
        return String(self[a..<b])
    }
}
