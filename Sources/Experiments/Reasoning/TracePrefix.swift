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

/// A forced assistant prefix: ids cut from the rollout's reply, appended to the prompt's ids.
public struct TracePrefix: Sendable, Equatable {
    /// The forced start of the reply, as text (the forced ids decoded; for display and parsing).
    public var text: String
    /// Prompt tokens followed by the forced tokens.
    public var ids: [Int]
    /// How many of `ids` are forced tokens.
    public var prefixTokens: Int
    /// Units of R kept and |R| (tokens or sentences) for truncated prefixes.
    public var kept: Int?
    public var total: Int?
    /// Where the cut fell: tokens of the reply kept, and the characters (Unicode scalars) of the reply they cover.
    public var cutToken: Int?
    public var cutChar: Int?
    /// The character offset the cut was aimed at (a tag or a sentence end; nil for a count of tokens).
    public var targetChar: Int?

    /// The forced tokens (the ids after the prompt).
    public var forcedIds: [Int] { Array(ids.suffix(prefixTokens)) }
}

/// Builds forced prefixes as raw continuation: the chat prompt is rendered once (generation prompt on) and
/// tokenized, and the first k token ids of the rollout's own reply are appended — never text re-tokenized, so
/// the model sees only tokens it produced. The cuts (`RolloutCuts`) fall at token boundaries:
///
/// | condition | reply tokens kept after the prompt |
/// |---|---|
/// | frozen-closed, logit | up to the last boundary at or before the answer value |
/// | frozen-open | up to the last boundary at or before the reasoning's closing tag |
/// | truncated(f), tokens | the opening tag's tokens + the first ⌊f·|R|⌋ of R's tokens (\|R\| = tokens between the two cuts above) |
/// | truncated(f), sentences | up to the last boundary at or before the end of R's ⌊f·S⌋-th sentence (all of R when f = 1) |
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

    /// The prefix for `condition` after the prompt's ids, cut from `rollout`'s reply (for counterfactual prompts P′
    /// too: the forced tokens are the rollout's on P).
    public func build(promptIds: [Int], condition: TraceCondition, rollout: RolloutCuts, fraction: Double? = nil) throws -> TracePrefix {
        var k = 0
        var kept: Int?, total: Int?, target: Int?
        switch condition {
        case .control:
            return TracePrefix(text: "", ids: promptIds, prefixTokens: 0)
        case .frozenClosed, .logit:
            k = rollout.answer; target = rollout.answerTarget
        case .frozenOpen:
            k = rollout.close; target = rollout.closeTarget
        case .truncated:
            let f = fraction ?? 1
            switch cut {
            case .tokens:
                let n = rollout.close - rollout.open
                let m = try Self.kept(fraction: f, of: n)
                k = rollout.open + m
                kept = m; total = n
            case .sentences:
                let ends = rollout.sentenceEnds
                let m = try Self.kept(fraction: f, of: ends.count)
                // No sentence: the opening tag's tokens; every sentence: all of R, as frozen-open.
                target = m == 0 ? rollout.openTarget : m == ends.count ? rollout.closeTarget : ends[m - 1]
                k = m == 0 ? rollout.open : m == ends.count ? rollout.close : rollout.boundary(atOrBefore: ends[m - 1])
                kept = m; total = ends.count
            }
        }
        let forced = Array(rollout.ids.prefix(k))
        return TracePrefix(text: rollout.prefixText(k), ids: promptIds + forced, prefixTokens: forced.count, kept: kept, total: total,
                           cutToken: k, cutChar: rollout.characters(k), targetChar: target.map { rollout.characters(atUTF8: $0) })
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

    /// First token of each allowed answer as it follows the frozen-closed cut, for the logit variant: the token
    /// that begins `gap + answer`, where `gap` is the reply's text between the cut and the answer value (`>` when
    /// the tag shares its token with the answer). An error when two answers share their first token.
    public func answerFirstTokens(gap: String = "") throws -> [(answer: String, token: Int)] {
        var out: [(String, Int)] = []
        for a in format.answers {
            guard let t = tokenizer.encode(gap + a).first else { throw ReasoningError.badFormat("answer '\(a)' encodes to no tokens") }
            if let clash = out.first(where: { $0.1 == t }) {
                throw ReasoningError.badFormat("answers '\(clash.0)' and '\(a)' start with the same token \(t) after '\(gap)'; the logit variant needs distinct first tokens")
            }
            out.append((a, t))
        }
        return out
    }
}
