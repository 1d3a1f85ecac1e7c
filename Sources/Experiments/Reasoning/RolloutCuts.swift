import Foundation
import Tokenizers

/// Where forced prefixes may be cut in a rollout's reply: token boundaries of the ids the model generated,
/// located by the text they decode to (SPEC §4).
///
/// A boundary is the point after the first k generated tokens; its offset is where the text of those k tokens
/// ends in the decoded reply. A cut aimed at a character offset (a tag, a sentence end) falls at the last
/// boundary at or before it, so it never splits a token: where a tag shares a token with what follows it
/// (`<recommendation` + `>approve`, `<reasoning` + `>\n`), the cut falls before that token, and the model
/// regenerates it. Offsets are UTF-8 bytes inside, Unicode scalars (Python string indices) in outputs.
public struct RolloutCuts: Sendable {
    /// The reply's token ids (as generated, or re-tokenized from the text when `retokenized`).
    public let ids: [Int]
    /// The ids decoded with special tokens skipped: the text every offset refers to.
    public let text: String
    /// True when the rollout carried no token ids and `ids` is the tokenization of its completion text.
    public let retokenized: Bool
    /// Tokens kept by the cut at R's first character (the reasoning's opening tag and nothing of R that shares its token).
    public let open: Int
    /// Tokens kept by the cut at R's end, before the closing tag: the frozen-open prefix.
    public let close: Int
    /// Tokens kept by the cut at the answer value's first character: the frozen-closed prefix.
    public let answer: Int
    /// UTF-8 offsets in `text` of R's first character, R's end and the answer value's first character.
    public let openTarget: Int, closeTarget: Int, answerTarget: Int
    /// UTF-8 offsets in `text` of R's sentence ends (`TracePrefixBuilder.sentenceEnds`).
    public let sentenceEnds: [Int]
    let tokenizer: Tokenizer

    /// The cuts of `record`'s reply, or nil when its text has no reasoning span or no allowed answer in `format`.
    /// Rollouts without token ids are re-tokenized whole (`retokenized`); ids that do not decode to the
    /// recorded completion are an error.
    public init?(record: RolloutRecord, format: TraceFormat, tokenizer: Tokenizer) throws {
        if let tokens = record.tokens {
            ids = tokens
            text = tokenizer.decode(tokens, skipSpecialTokens: true)
            guard text == record.completion else {
                throw ReasoningError.badFormat("rollout '\(record.prompt.id)' (sample \(record.sample)): its tokens decode to "
                                               + "text that differs from its completion; was it written with another tokenizer?")
            }
            retokenized = false
        } else {
            ids = tokenizer.encode(record.completion)
            text = tokenizer.decode(ids, skipSpecialTokens: true)
            retokenized = true
        }
        self.tokenizer = tokenizer
        let parsed = format.parse(text)
        guard let r = parsed.reasoningRange, let a = parsed.answerRange else { return nil }
        openTarget = r.lowerBound; closeTarget = r.upperBound; answerTarget = a.lowerBound
        let reasoning = String(decoding: Array(text.utf8)[r], as: UTF8.self)
        sentenceEnds = TracePrefixBuilder.sentenceEnds(reasoning).map { r.lowerBound + reasoning.utf8.distance(from: reasoning.startIndex, to: $0) }
        var cuts = [0, 0, 0]
        for (i, target) in [openTarget, closeTarget, answerTarget].enumerated() { cuts[i] = Self.boundary(ids, text, tokenizer, atOrBefore: target) }
        open = cuts[0]; close = cuts[1]; answer = cuts[2]
    }

    /// Tokens kept by the cut at the last token boundary at or before UTF-8 offset `offset` of `text`.
    public func boundary(atOrBefore offset: Int) -> Int { Self.boundary(ids, text, tokenizer, atOrBefore: offset) }

    /// The reply's text between the frozen-closed cut and the answer value (`>` when the answer's tag shares its
    /// token with the answer, else empty).
    public var answerGap: String {
        let start = min(prefixText(answer).utf8.count, answerTarget)
        return String(decoding: Array(text.utf8)[start..<answerTarget], as: UTF8.self)
    }

    /// The text of the first `k` tokens.
    public func prefixText(_ k: Int) -> String { tokenizer.decode(Array(ids.prefix(k)), skipSpecialTokens: true) }

    /// Unicode scalars of `text` that the first `k` tokens cover completely (a token holding part of a
    /// character does not count it).
    public func characters(_ k: Int) -> Int {
        var n = 0
        for (a, b) in zip(prefixText(k).unicodeScalars, text.unicodeScalars) {
            guard a == b else { break }
            n += 1
        }
        return n
    }

    /// Unicode scalars of `text` before UTF-8 offset `offset`.
    public func characters(atUTF8 offset: Int) -> Int {
        var bytes = 0, n = 0
        for s in text.unicodeScalars {
            bytes += s.utf8.count
            guard bytes <= offset else { break }
            n += 1
        }
        return n
    }

    /// The largest k whose tokens decode to a prefix of `text` no longer than `offset` bytes. Decoded lengths grow
    /// with k, so a binary search finds the candidate in O(log n) decodes; a prefix that ends inside a character
    /// (its text is not a prefix of `text`) is not a boundary, and the search steps back over it.
    static func boundary(_ ids: [Int], _ text: String, _ tokenizer: Tokenizer, atOrBefore offset: Int) -> Int {
        let full = Array(text.utf8)
        func decoded(_ k: Int) -> [UInt8] { Array(tokenizer.decode(Array(ids.prefix(k)), skipSpecialTokens: true).utf8) }
        var lo = 0, hi = ids.count
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if decoded(mid).count <= offset { lo = mid } else { hi = mid - 1 }
        }
        var k = lo
        while k > 0 {
            let d = decoded(k)
            if d.count <= full.count, full.starts(with: d) { break }
            k -= 1
        }
        return k
    }
}
