import Foundation

/// The answer format of a reasoning task: `<reasoning>…</reasoning>` then `<answer-tag>…</answer-tag>`
/// with one of a fixed set of answers (SPEC §4). Tag names and answers are configurable
/// (e.g. `think` / `answer`).
public struct TraceFormat: Sendable, Equatable, Codable {
    /// Name of the reasoning tag, without brackets (default `reasoning`).
    public var reasoningTag: String
    /// Name of the answer tag, without brackets (default `recommendation`).
    public var answerTag: String
    /// Allowed answers, lower case (default `approve`, `reject`).
    public var answers: [String]

    public init(reasoningTag: String = "reasoning", answerTag: String = "recommendation",
                answers: [String] = ["approve", "reject"]) {
        self.reasoningTag = reasoningTag
        self.answerTag = answerTag
        self.answers = answers.map { $0.lowercased() }
    }

    /// The loan task's format.
    public static let loan = TraceFormat()

    /// Checks tag names and answers; the error names the offending field.
    public func validate() throws {
        for (field, tag) in [("reasoning tag", reasoningTag), ("answer tag", answerTag)] {
            guard !tag.isEmpty, !tag.contains(where: { $0 == "<" || $0 == ">" || $0 == "/" || $0.isWhitespace }) else {
                throw ReasoningError.badFormat("\(field) '\(tag)' must be a non-empty name without <, >, / or spaces")
            }
        }
        guard reasoningTag.lowercased() != answerTag.lowercased() else {
            throw ReasoningError.badFormat("the reasoning and answer tags must differ (both '\(reasoningTag)')")
        }
        guard answers.count >= 2, Set(answers).count == answers.count, answers.allSatisfy({ !normalize($0).isEmpty }) else {
            throw ReasoningError.badFormat("give at least two distinct, non-empty answers (got \(answers))")
        }
    }

    public var reasoningOpen: String { "<\(reasoningTag)>" }
    public var reasoningClose: String { "</\(reasoningTag)>" }
    public var answerOpen: String { "<\(answerTag)>" }
    public var answerClose: String { "</\(answerTag)>" }

    /// An answer reduced for comparison: trimmed, lower case, surrounding punctuation and quotes removed.
    public func normalize(_ s: String) -> String {
        let junk = CharacterSet.whitespacesAndNewlines.union(.punctuationCharacters).union(CharacterSet(charactersIn: "\"'`*"))
        return s.lowercased().trimmingCharacters(in: junk)
    }

    /// The allowed answer `s` normalises to, or nil.
    public func allowedAnswer(_ s: String) -> String? {
        let n = normalize(s)
        return answers.first { normalize($0) == n }
    }

    /// Parses an assistant reply both strictly and leniently (see `ParsedTrace`).
    public func parse(_ text: String) -> ParsedTrace {
        var out = ParsedTrace()
        // Strict: optional leading whitespace, <r>R</r>, whitespace only, <a>y</a>, then only whitespace.
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // UTF-8 length of the leading whitespace `trimmed` lost, to report offsets in `text`.
        let lead = text.unicodeScalars.prefix { CharacterSet.whitespacesAndNewlines.contains($0) }.reduce(0) { $0 + $1.utf8.count }
        if trimmed.hasPrefix(reasoningOpen),
           let close = trimmed.range(of: reasoningClose),
           trimmed.range(of: reasoningOpen, range: trimmed.index(trimmed.startIndex, offsetBy: reasoningOpen.count)..<close.lowerBound) == nil {
            let reasoning = String(trimmed[trimmed.index(trimmed.startIndex, offsetBy: reasoningOpen.count)..<close.lowerBound])
            let rest = trimmed[close.upperBound...]
            let sepEnd = rest.firstIndex { !$0.isWhitespace } ?? rest.endIndex
            let separator = String(rest[..<sepEnd])
            let tail = rest[sepEnd...]
            if tail.hasPrefix(answerOpen), tail.hasSuffix(answerClose), tail.count >= answerOpen.count + answerClose.count {
                let inner = tail.dropFirst(answerOpen.count).dropLast(answerClose.count)
                if !inner.contains("<"), answers.contains(String(inner)) {
                    out.strictValid = true
                    out.strictAnswer = String(inner)
                    out.separator = separator
                    out.reasoning = reasoning
                    let start = lead + reasoningOpen.utf8.count
                    out.reasoningRange = start..<(start + reasoning.utf8.count)
                }
            }
        }
        // Lenient: tags anywhere, any case; the first reasoning span and the last answer span.
        let lower = text.lowercased()
        if out.reasoning == nil, let span = Self.span(in: text, lower: lower, open: reasoningOpen.lowercased(),
                                                      close: reasoningClose.lowercased(), last: false) {
            out.reasoning = String(text[span.inner])
            out.reasoningRange = Self.offsets(span.inner, in: text)
            let after = text[span.outer.upperBound...]
            if let a = after.range(of: answerOpen, options: .caseInsensitive) {
                let sep = after[..<a.lowerBound]
                if sep.allSatisfy(\.isWhitespace) { out.separator = String(sep) }
            }
        }
        if let span = Self.span(in: text, lower: lower, open: answerOpen.lowercased(), close: answerClose.lowercased(), last: true) {
            out.lenientAnswer = allowedAnswer(String(text[span.inner]))
            if out.lenientAnswer != nil { out.answerRange = Self.offsets(span.inner, in: text) }
        }
        return out
    }

    /// A range of `text` as UTF-8 offsets.
    static func offsets(_ r: Range<String.Index>, in text: String) -> Range<Int> {
        text.utf8.distance(from: text.startIndex, to: r.lowerBound)..<text.utf8.distance(from: text.startIndex, to: r.upperBound)
    }

    /// The inner and outer ranges of an `open…close` span (first or last occurrence of `open`).
    /// `lower` is `text.lowercased()` and must have the same indices (ASCII tags; checked).
    private static func span(in text: String, lower: String, open: String, close: String, last: Bool)
        -> (inner: Range<String.Index>, outer: Range<String.Index>)? {
        guard lower.utf8.count == text.utf8.count else {
            // Case mapping changed lengths: fall back to a case-sensitive search on the text.
            return caseSensitiveSpan(text, open: open, close: close, last: last)
        }
        guard let o = lower.range(of: open, options: last ? .backwards : []),
              let c = lower.range(of: close, range: o.upperBound..<lower.endIndex) else { return nil }
        func map(_ i: String.Index) -> String.Index {
            text.utf8.index(text.utf8.startIndex, offsetBy: lower.utf8.distance(from: lower.utf8.startIndex, to: i))
        }
        return (map(o.upperBound)..<map(c.lowerBound), map(o.lowerBound)..<map(c.upperBound))
    }

    private static func caseSensitiveSpan(_ text: String, open: String, close: String, last: Bool)
        -> (inner: Range<String.Index>, outer: Range<String.Index>)? {
        guard let o = text.range(of: open, options: last ? [.backwards, .caseInsensitive] : .caseInsensitive),
              let c = text.range(of: close, options: .caseInsensitive, range: o.upperBound..<text.endIndex) else { return nil }
        return (o.upperBound..<c.lowerBound, o.lowerBound..<c.upperBound)
    }
}

/// A reply parsed two ways. **Strict**: the whole reply (surrounding whitespace aside) is exactly
/// `<r>R</r>`, whitespace, `<a>y</a>` with `y` one of the allowed answers as written (lower case).
/// **Lenient**: tags anywhere and in any case; the answer is the last answer span, normalised
/// (case, whitespace, punctuation) and mapped to an allowed answer. Missing tags leave fields nil.
public struct ParsedTrace: Sendable, Equatable, Codable {
    /// The reasoning text R between the tags (strict when strictly valid, else the first lenient span).
    public var reasoning: String?
    /// The text between the reasoning's closing tag and the answer's opening tag (whitespace only), if seen.
    public var separator: String?
    public var strictValid = false
    public var strictAnswer: String?
    public var lenientAnswer: String?
    /// Where R lies in the parsed text (UTF-8 offsets, between the reasoning tags); nil without R.
    public var reasoningRange: Range<Int>?
    /// Where the answer value lies in the parsed text (UTF-8 offsets, inside the last answer span); nil without an answer.
    public var answerRange: Range<Int>?

    public init() {}

    /// The answer used for metrics: the lenient one (which equals the strict one when both exist).
    public var answer: String? { lenientAnswer }
}

/// Errors of the reasoning experiments; each names the file, line and field involved where there is one.
public enum ReasoningError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case badFormat(String)
    case badCondition(String)
    case malformedLine(path: String, line: Int, reason: String)
    case missingField(path: String, line: Int, field: String)
    case badField(path: String, line: Int, field: String, reason: String)
    case badCriterion(String, reason: String)
    case badFraction(Double)
    case noUsableRollouts(path: String, detail: String)
    case counterfactualMismatch(String)
    case empty(path: String)

    public var description: String {
        switch self {
        case .badFormat(let m): return "trace format: \(m)"
        case .badCondition(let m): return m
        case .malformedLine(let p, let l, let r): return "\(p):\(l): malformed JSON line (\(r))"
        case .missingField(let p, let l, let f): return "\(p):\(l): missing field '\(f)'"
        case .badField(let p, let l, let f, let r): return "\(p):\(l): field '\(f)': \(r)"
        case .badCriterion(let c, let r): return "criterion '\(c)': \(r)"
        case .badFraction(let f): return "fraction \(f) is outside [0, 1]"
        case .noUsableRollouts(let p, let d): return "\(p): no usable rollouts (\(d))"
        case .counterfactualMismatch(let m): return "counterfactual prompts: \(m)"
        case .empty(let p): return "\(p): no rows"
        }
    }

    public var errorDescription: String? { description }
}
