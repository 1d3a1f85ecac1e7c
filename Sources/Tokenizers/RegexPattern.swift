import Foundation

/// A split/replace pattern from tokenizer.json: either a literal string or a regex.
/// Known model split regexes run through `SplitScanner`; others through `NSRegularExpression`
/// (ICU), whose UTF-16 ranges are converted back to UTF-8 byte offsets.
final class RegexPattern: @unchecked Sendable {
    enum Kind {
        case literal([UInt8])
        case scanner(SplitScanner)
        case regex(NSRegularExpression)
    }

    let kind: Kind
    let source: String

    /// Reads `{"String": "..."}` or `{"Regex": "..."}` from `json[key]`.
    init(json: JSONObject, key: String) throws {
        let obj = try json.requiredObject(key)
        if let s = try obj.string("String") {
            source = s
            kind = .literal(Array(s.utf8))
        } else if let r = try obj.string("Regex") {
            source = r
            if let scanner = SplitScanner(pattern: r) {
                kind = .scanner(scanner)
            } else {
                do {
                    kind = .regex(try NSRegularExpression(pattern: r, options: []))
                } catch {
                    throw TokenizerError.invalidRegex(file: json.file, pattern: r, reason: "\(error)")
                }
            }
        } else {
            throw json.invalid(key, "expected {\"String\": ...} or {\"Regex\": ...}")
        }
    }

    init(scanner: SplitScanner, source: String) {
        self.kind = .scanner(scanner)
        self.source = source
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
        case .regex(let re):
            let ns = text as NSString
            let results = re.matches(in: text, options: [], range: NSRange(location: 0, length: ns.length))
            guard !results.isEmpty else { return [] }
            // Map UTF-16 offsets to UTF-8 offsets in one pass.
            var utf16ToUTF8 = [Int](repeating: 0, count: ns.length + 1)
            var u16 = 0, u8 = 0
            for scalar in text.unicodeScalars {
                utf16ToUTF8[u16] = u8
                let w = scalar.utf16.count
                if w == 2 { utf16ToUTF8[u16 + 1] = u8 }
                u16 += w
                u8 += scalar.utf8.count
            }
            utf16ToUTF8[u16] = u8
            return results.compactMap { r in
                guard r.range.location != NSNotFound else { return nil }
                return utf16ToUTF8[r.range.location]..<utf16ToUTF8[r.range.location + r.range.length]
            }
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
