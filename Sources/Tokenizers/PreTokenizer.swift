import Foundation

/// A piece of normalized text on its way to the model.
struct Piece {
    var text: String
    /// True when the piece starts at offset 0 of the original input (Metaspace `prepend_scheme: first`).
    var atStart: Bool
}

/// How a split pattern's matches become pieces (`SplitDelimiterBehavior` in tokenizers).
enum SplitBehavior: String {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Pieces of `text` given the sorted, non-overlapping `matches` (byte ranges), as `NormalizedString::split` does.
    func apply(_ text: String, matches: [Range<Int>], invert: Bool = false) -> [Range<Int>] {
        let total = text.utf8.count
        guard total > 0 else { return [] }
        // Tile the text into (range, isMatch) runs.
        var tiles: [(Range<Int>, Bool)] = []
        tiles.reserveCapacity(matches.count * 2 + 1)
        var prev = 0
        for m in matches {
            if prev < m.lowerBound { tiles.append((prev..<m.lowerBound, invert)) }
            tiles.append((m, !invert))
            prev = m.upperBound
        }
        if prev < total { tiles.append((prev..<total, invert)) }

        var out: [Range<Int>] = []
        switch self {
        case .isolated:
            out = tiles.map { $0.0 }
        case .removed:
            out = tiles.filter { !$0.1 }.map { $0.0 }
        case .contiguous:
            var previousMatch = false
            for (r, isMatch) in tiles {
                if isMatch == previousMatch, let last = out.last {
                    out[out.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    out.append(r)
                }
                previousMatch = isMatch
            }
        case .mergedWithPrevious:
            var previousMatch = false
            for (r, isMatch) in tiles {
                if isMatch && !previousMatch, let last = out.last {
                    out[out.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    out.append(r)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (r, isMatch) in tiles.reversed() {
                if isMatch && !previousMatch, let last = out.last {
                    out[out.count - 1] = r.lowerBound..<last.upperBound
                } else {
                    out.append(r)
                }
                previousMatch = isMatch
            }
            out.reverse()
        }
        return out.filter { !$0.isEmpty }
    }
}

/// A tokenizer.json `pre_tokenizer`: cuts normalized text into the pieces the model sees.
indirect enum PreTokenizer {
    case sequence([PreTokenizer])
    case split(RegexPattern, SplitBehavior, invert: Bool)
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case metaspace(replacement: String, prepend: PrependScheme, split: Bool)
    case digits(individual: Bool)
    case punctuation(SplitBehavior)
    case whitespace
    case whitespaceSplit
    case bert

    enum PrependScheme: String { case first, always, never }

    static let gpt2Scanner = RegexPattern(scanner: .gpt2, source: SplitScanner.gpt2Pattern)

    init(json: JSONFields) throws {
        let type = try json.type()
        func behavior(_ key: String, default d: SplitBehavior) throws -> SplitBehavior {
            guard let raw = try json.string(key) else { return d }
            guard let b = SplitBehavior(rawValue: raw) else { throw json.invalid(key, "unknown behavior '\(raw)'") }
            return b
        }
        switch type {
        case "Sequence":
            guard let list = try json.objects("pretokenizers") else {
                throw TokenizerError.missingKey(file: json.file, key: json.keyPath("pretokenizers"))
            }
            self = .sequence(try list.map(PreTokenizer.init(json:)))
        case "Split":
            self = .split(try RegexPattern(json: json, key: "pattern"), try behavior("behavior", default: .isolated),
                          invert: try json.bool("invert") ?? false)
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: try json.bool("add_prefix_space") ?? true,
                              useRegex: try json.bool("use_regex") ?? true)
        case "Metaspace":
            let replacement = try json.string("replacement") ?? "▁"
            guard replacement.unicodeScalars.count == 1 else { throw json.invalid("replacement", "expected one character") }
            var scheme = PrependScheme.always
            if let raw = try json.string("prepend_scheme") {
                guard let s = PrependScheme(rawValue: raw) else { throw json.invalid("prepend_scheme", "unknown '\(raw)'") }
                scheme = s
            } else if let legacy = try json.bool("add_prefix_space") {
                scheme = legacy ? .always : .never
            }
            self = .metaspace(replacement: replacement, prepend: scheme, split: try json.bool("split") ?? true)
        case "Digits":
            self = .digits(individual: try json.bool("individual_digits") ?? false)
        case "Punctuation":
            self = .punctuation(try behavior("behavior", default: .isolated))
        case "Whitespace":
            self = .whitespace
        case "WhitespaceSplit":
            self = .whitespaceSplit
        case "BertPreTokenizer":
            self = .bert
        default:
            throw TokenizerError.unsupportedType(file: json.file, component: "pre_tokenizer", type: type)
        }
    }

    /// Splits every piece; empty pieces are dropped, as tokenizers does.
    func run(_ pieces: [Piece]) -> [Piece] {
        switch self {
        case .sequence(let list):
            return list.reduce(pieces) { $1.run($0) }
        default:
            var out: [Piece] = []
            out.reserveCapacity(pieces.count)
            for p in pieces { splitOne(p, into: &out) }
            return out
        }
    }

    private func emit(_ piece: Piece, _ ranges: [Range<Int>], into out: inout [Piece]) {
        for r in ranges {
            out.append(Piece(text: piece.text.utf8Slice(r), atStart: piece.atStart && r.lowerBound == 0))
        }
    }

    /// Byte ranges of each character for which `pred` holds: the "function pattern" of tokenizers.
    private static func charMatches(_ text: String, _ pred: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var offset = 0
        for s in text.unicodeScalars {
            let len = s.utf8.count
            if pred(s) { out.append(offset..<(offset + len)) }
            offset += len
        }
        return out
    }

    private func splitOne(_ piece: Piece, into out: inout [Piece]) {
        let text = piece.text
        switch self {
        case .sequence:
            out.append(contentsOf: run([piece]))
        case .split(let pattern, let behavior, let invert):
            emit(piece, behavior.apply(text, matches: pattern.matches(in: text), invert: invert), into: &out)
        case .byteLevel(let addPrefixSpace, let useRegex):
            var t = text
            if addPrefixSpace && !t.hasPrefix(" ") { t = " " + t }
            let ranges = useRegex ? SplitBehavior.isolated.apply(t, matches: Self.gpt2Scanner.matches(in: t))
                                  : (t.isEmpty ? [] : [0..<t.utf8.count])
            for r in ranges {
                let slice = t.utf8Slice(r)
                out.append(Piece(text: ByteLevel.encode(slice), atStart: piece.atStart && r.lowerBound == 0))
            }
        case .metaspace(let replacement, let prepend, let split):
            var t = Self.replaceSpaces(text, with: replacement)
            switch prepend {
            case .always: if !t.hasPrefix(replacement) { t = replacement + t }
            case .first: if !t.hasPrefix(replacement) && piece.atStart { t = replacement + t }
            case .never: break
            }
            guard !t.isEmpty else { return }
            let p = Piece(text: t, atStart: piece.atStart)
            if split {
                let rep = replacement.unicodeScalars.first
                let ranges = SplitBehavior.mergedWithNext.apply(t, matches: Self.charMatches(t) { $0 == rep })
                emit(p, ranges, into: &out)
            } else {
                out.append(p)
            }
        case .digits(let individual):
            let m = Self.charMatches(text) { $0.value >= 0x30 && $0.value <= 0x39 }
            emit(piece, (individual ? SplitBehavior.isolated : .contiguous).apply(text, matches: m), into: &out)
        case .punctuation(let behavior):
            let m = Self.charMatches(text) { UnicodeClass.of($0.value) & UnicodeClass.punctuation != 0 }
            emit(piece, behavior.apply(text, matches: m), into: &out)
        case .whitespace:
            // `\w+|[^\w\s]+` kept, the rest removed.
            emit(piece, SplitBehavior.removed.apply(text, matches: Self.wordRuns(text), invert: true), into: &out)
        case .whitespaceSplit:
            let m = Self.charMatches(text) { UnicodeClass.isWhitespace($0) }
            emit(piece, SplitBehavior.removed.apply(text, matches: m), into: &out)
        case .bert:
            let ws = PreTokenizer.whitespaceSplit.run([piece])
            PreTokenizer.punctuation(.isolated).run(ws).forEach { out.append($0) }
        }
    }

    /// `text` with every U+0020 replaced (scalar-wise, never inside a grapheme comparison).
    private static func replaceSpaces(_ text: String, with replacement: String) -> String {
        guard text.utf8.contains(0x20) else { return text }
        var out = String.UnicodeScalarView()
        let rep = replacement.unicodeScalars
        for s in text.unicodeScalars {
            if s == " " { out.append(contentsOf: rep) } else { out.append(s) }
        }
        return String(out)
    }

    /// Matches of `\w+|[^\w\s]+`.
    private static func wordRuns(_ text: String) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var offset = 0
        var start = -1
        var kind = 0  // 1 word, 2 other
        for s in text.unicodeScalars {
            let c = UnicodeClass.of(s.value)
            let k = c & UnicodeClass.word != 0 ? 1 : (c & UnicodeClass.space != 0 ? 0 : 2)
            if k != kind {
                if kind != 0 { out.append(start..<offset) }
                start = offset
                kind = k
            }
            offset += s.utf8.count
        }
        if kind != 0 { out.append(start..<offset) }
        return out
    }
}
