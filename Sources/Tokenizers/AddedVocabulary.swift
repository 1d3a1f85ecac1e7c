import Foundation

/// An entry of tokenizer.json `added_tokens` (or a tokenizer_config.json AddedToken dict).
public struct AddedToken: Equatable, Sendable {
    public var id: Int
    public var content: String
    public var special: Bool
    public var lstrip: Bool
    public var rstrip: Bool
    public var normalized: Bool
    public var singleWord: Bool

    public init(id: Int, content: String, special: Bool = true, lstrip: Bool = false, rstrip: Bool = false,
                normalized: Bool = false, singleWord: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.singleWord = singleWord
    }

    init(json: JSONFields, id: Int) throws {
        self.init(id: id, content: try json.requiredString("content"), special: try json.bool("special") ?? false,
                  lstrip: try json.bool("lstrip") ?? false, rstrip: try json.bool("rstrip") ?? false,
                  normalized: try json.bool("normalized") ?? false, singleWord: try json.bool("single_word") ?? false)
    }
}

/// One stretch of input after added tokens are cut out.
enum Segment {
    case token(Int)
    case text(Piece)
}

/// Finds added tokens in text the way tokenizers' `AddedVocabulary` does: leftmost-longest
/// matching, non-normalized tokens on the raw text first, then normalized tokens on each
/// normalized remaining stretch; `single_word`, `lstrip`, `rstrip` applied per match.
struct AddedVocabulary {
    let tokens: [AddedToken]
    let byContent: [String: Int]
    let byId: [Int: AddedToken]
    /// What decoding shows for each id: the content, normalized for `normalized` tokens (as tokenizers' `simple_id_to_token`).
    let decodeForm: [Int: String]
    private let raw: Matcher
    private let normalized: Matcher

    /// Patterns bucketed by first byte, longest first.
    private struct Matcher {
        var patterns: [(bytes: [UInt8], token: AddedToken)] = []
        var byFirstByte: [[Int]] = Array(repeating: [], count: 256)
        var isEmpty: Bool { patterns.isEmpty }

        init(_ list: [(String, AddedToken)]) {
            for (content, token) in list where !content.isEmpty {
                patterns.append((Array(content.utf8), token))
            }
            for (i, p) in patterns.enumerated() { byFirstByte[Int(p.bytes[0])].append(i) }
            for b in 0..<256 {
                byFirstByte[b].sort { patterns[$0].bytes.count > patterns[$1].bytes.count }
            }
        }

        /// Leftmost-longest non-overlapping matches.
        func find(_ text: [UInt8]) -> [(Range<Int>, AddedToken)] {
            var out: [(Range<Int>, AddedToken)] = []
            var i = 0
            let n = text.count
            while i < n {
                var matched = false
                for pi in byFirstByte[Int(text[i])] {
                    let p = patterns[pi].bytes
                    if i + p.count <= n && text[i..<(i + p.count)].elementsEqual(p) {
                        out.append((i..<(i + p.count), patterns[pi].token))
                        i += p.count
                        matched = true
                        break
                    }
                }
                if !matched { i += 1 }
            }
            return out
        }
    }

    init(tokens: [AddedToken], normalizer: Normalizer?) {
        self.tokens = tokens
        var byContent: [String: Int] = [:]
        var byId: [Int: AddedToken] = [:]
        for t in tokens { byContent[t.content] = t.id; byId[t.id] = t }
        self.byContent = byContent
        self.byId = byId
        var forms: [Int: String] = [:]
        for t in tokens { forms[t.id] = t.normalized ? (normalizer?.normalize(t.content) ?? t.content) : t.content }
        self.decodeForm = forms
        raw = Matcher(tokens.filter { !$0.normalized }.map { ($0.content, $0) })
        normalized = Matcher(tokens.filter { $0.normalized }.map { (normalizer?.normalize($0.content) ?? $0.content, $0) })
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// Splits `text` into added tokens and normalized text stretches.
    func split(_ text: String, normalizer: Normalizer?) -> [Segment] {
        var out: [Segment] = []
        for seg in Self.cut(text, matcher: raw, atStart: true) {
            switch seg {
            case .token:
                out.append(seg)
            case .text(let piece):
                let norm = normalizer?.normalize(piece.text) ?? piece.text
                if normalized.isEmpty {
                    if !norm.isEmpty { out.append(.text(Piece(text: norm, atStart: piece.atStart))) }
                } else {
                    out.append(contentsOf: Self.cut(norm, matcher: normalized, atStart: piece.atStart))
                }
            }
        }
        return out
    }

    private static func isWordChar(_ s: Unicode.Scalar) -> Bool { UnicodeClass.of(s.value) & UnicodeClass.word != 0 }

    private static func cut(_ text: String, matcher: Matcher, atStart: Bool) -> [Segment] {
        if matcher.isEmpty {
            return text.isEmpty ? [] : [.text(Piece(text: text, atStart: atStart))]
        }
        let bytes = Array(text.utf8)
        var out: [Segment] = []
        var startOffset = 0
        func scalarBefore(_ i: Int) -> (Unicode.Scalar, Int)? {
            guard i > 0 else { return nil }
            var j = i - 1
            while j > 0 && bytes[j] & 0xC0 == 0x80 { j -= 1 }
            let v = bytes.withUnsafeBufferPointer { decodeUTF8($0, j).value }
            return Unicode.Scalar(v).map { ($0, j) }
        }
        func scalarAt(_ i: Int) -> (Unicode.Scalar, Int)? {
            guard i < bytes.count else { return nil }
            let (v, len) = bytes.withUnsafeBufferPointer { decodeUTF8($0, i) }
            return Unicode.Scalar(v).map { ($0, len) }
        }
        for (range, token) in matcher.find(bytes) {
            var start = range.lowerBound
            var stop = range.upperBound
            if token.singleWord {
                let startSpace = scalarBefore(start).map { !isWordChar($0.0) } ?? true
                let stopSpace = scalarAt(stop).map { !isWordChar($0.0) } ?? true
                if !startSpace || !stopSpace { continue }
            }
            if token.lstrip {
                var s = start
                while let (sc, j) = scalarBefore(s), UnicodeClass.isWhitespace(sc) { s = j }
                start = max(s, startOffset)
            }
            if token.rstrip {
                while let (sc, len) = scalarAt(stop), UnicodeClass.isWhitespace(sc) { stop += len }
            }
            if startOffset < start {
                out.append(.text(Piece(text: String(decoding: bytes[startOffset..<start], as: UTF8.self),
                                       atStart: atStart && startOffset == 0)))
            }
            out.append(.token(token.id))
            startOffset = stop
        }
        if startOffset < bytes.count {
            out.append(.text(Piece(text: String(decoding: bytes[startOffset...], as: UTF8.self),
                                   atStart: atStart && startOffset == 0)))
        }
        return out
    }
}
