import Foundation
import Tokenizers

/// A forcing condition of the trace-mediation experiment (SPEC §4).
public enum TraceCondition: String, Sendable, Codable, CaseIterable {
    /// The prompt alone, no forced prefix: does the rollout's answer reproduce?
    case control
    /// `<r>R</r>` + separator + `<a>`: the model writes the answer only.
    case frozenClosed = "frozen-closed"
    /// `<r>R`: the model may reason more, then answers.
    case frozenOpen = "frozen-open"
    /// `<r>` + the first ⌊f·|R|⌋ units of R, for each fraction f.
    case truncated
    /// frozen-closed without sampling: the answer whose first token is more probable after `<a>`.
    case logit

    /// Parses a comma-separated list such as `frozen-closed,frozen-open,truncated`.
    public static func list(_ text: String) throws -> [TraceCondition] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw ReasoningError.badCondition("no conditions given") }
        return try names.map { n in
            guard let c = TraceCondition(rawValue: n) else {
                throw ReasoningError.badCondition("unknown condition '\(n)' (use \(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return c
        }
    }
}

/// The unit a truncated prefix keeps a fraction of.
public enum TraceCut: String, Sendable, Codable {
    case tokens, sentences
}

/// A forced assistant prefix: its text, and the full model input (chat prompt + prefix).
public struct TracePrefix: Sendable, Equatable {
    /// The forced start of the reply, as text (for display; `ids` is what the model sees).
    public var text: String
    /// Prompt tokens followed by prefix tokens.
    public var ids: [Int]
    /// How many of `ids` are prefix tokens.
    public var prefixTokens: Int
    /// Units of R kept and |R| (tokens or sentences) for truncated prefixes.
    public var kept: Int?
    public var total: Int?
}

/// Builds forced prefixes as raw continuation: the chat prompt is rendered once (generation prompt
/// on) and tokenized, and the prefix segments are tokenized separately and appended — the template
/// is not re-applied, and R's tokens are exactly `encode(R)`, so a cut after k tokens keeps exactly those.
///
/// | condition | ids after the prompt |
/// |---|---|
/// | frozen-closed, logit | `encode(<r>) + encode(R) + encode(</r> + sep + <a>)` |
/// | frozen-open | `encode(<r>) + encode(R)` |
/// | truncated(f), tokens | `encode(<r>) + encode(R)[0 ..< ⌊f·|encode(R)|⌋]` |
/// | truncated(f), sentences | `encode(<r>) + encode(first ⌊f·S⌋ sentences of R)` (all of R when f = 1) |
/// | control | nothing |
public struct TracePrefixBuilder {
    public let tokenizer: Tokenizer
    public let format: TraceFormat
    public let cut: TraceCut

    public init(tokenizer: Tokenizer, format: TraceFormat, cut: TraceCut = .tokens) {
        self.tokenizer = tokenizer; self.format = format; self.cut = cut
    }

    /// ⌊f·n⌋, robust to binary rounding (0.29 · 100 counts as 29).
    public static func kept(fraction: Double, of n: Int) throws -> Int {
        guard fraction.isFinite, fraction >= 0, fraction <= 1 else { throw ReasoningError.badFraction(fraction) }
        return min(n, Int((fraction * Double(n) + 1e-9).rounded(.down)))
    }

    /// The prefix for `condition` after `prompt` (rendered chat prompt text), for reasoning `reasoning`.
    /// `separator` is what the rollout wrote between `</r>` and `<a>` (default a newline).
    public func build(prompt: String, condition: TraceCondition, reasoning: String, separator: String? = nil,
                      fraction: Double? = nil) throws -> TracePrefix {
        let promptIds = tokenizer.encode(prompt)
        let open = tokenizer.encode(format.reasoningOpen)
        let r = tokenizer.encode(reasoning)
        var text = format.reasoningOpen
        var suffix: [Int] = []
        var kept: Int?, total: Int?
        switch condition {
        case .control:
            return TracePrefix(text: "", ids: promptIds, prefixTokens: 0, kept: nil, total: nil)
        case .frozenClosed, .logit:
            let closing = format.reasoningClose + (separator ?? "\n") + format.answerOpen
            suffix = open + r + tokenizer.encode(closing)
            text += reasoning + closing
        case .frozenOpen:
            suffix = open + r
            text += reasoning
        case .truncated:
            let f = fraction ?? 1
            switch cut {
            case .tokens:
                let k = try Self.kept(fraction: f, of: r.count)
                suffix = open + Array(r.prefix(k))
                text += tokenizer.decode(Array(r.prefix(k)))
                kept = k; total = r.count
            case .sentences:
                let ends = Self.sentenceEnds(reasoning)
                let k = try Self.kept(fraction: f, of: ends.count)
                let part = k == ends.count ? reasoning : String(reasoning[..<(k == 0 ? reasoning.startIndex : ends[k - 1])])
                suffix = open + (part.isEmpty ? [] : tokenizer.encode(part))
                text += part
                kept = k; total = ends.count
            }
        }
        return TracePrefix(text: text, ids: promptIds + suffix, prefixTokens: suffix.count, kept: kept, total: total)
    }

    /// End indices (just after the closing punctuation) of R's sentences. A sentence ends at a run of
    /// `.`, `!` or `?` followed by whitespace or the end of the text; trailing text without one is a
    /// last sentence. Whitespace-only text has no sentences.
    public static func sentenceEnds(_ text: String) -> [String.Index] {
        var ends: [String.Index] = []
        var i = text.startIndex
        var sawContent = false
        while i < text.endIndex {
            let c = text[i]
            if !c.isWhitespace { sawContent = true }
            if c == "." || c == "!" || c == "?" {
                var j = text.index(after: i)
                while j < text.endIndex, ".!?".contains(text[j]) { j = text.index(after: j) }
                if j == text.endIndex || text[j].isWhitespace {
                    if sawContent { ends.append(j) }
                    sawContent = false
                    i = j
                    continue
                }
            }
            i = text.index(after: i)
        }
        if sawContent {
            // Trailing text after the last sentence end (not just whitespace) is a sentence too.
            var end = text.endIndex
            while end > text.startIndex, text[text.index(before: end)].isWhitespace { end = text.index(before: end) }
            ends.append(end)
        }
        return ends
    }

    /// First token of each allowed answer as it follows `<a>`, for the logit variant; an error when two
    /// answers share their first token (the variant cannot tell them apart).
    public func answerFirstTokens() throws -> [(answer: String, token: Int)] {
        var out: [(String, Int)] = []
        for a in format.answers {
            guard let t = tokenizer.encode(a).first else { throw ReasoningError.badFormat("answer '\(a)' encodes to no tokens") }
            if let clash = out.first(where: { $0.1 == t }) {
                throw ReasoningError.badFormat("answers '\(clash.0)' and '\(a)' start with the same token \(t); the logit variant needs distinct first tokens")
            }
            out.append((a, t))
        }
        return out
    }
}
