import XCTest
import Tokenizers
@testable import Experiments

/// Forced prefixes are the prompt's ids followed by the first k ids of the rollout's own reply, cut at the last
/// token boundary at or before a tag (SPEC §4).
final class ReasoningPrefixTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    /// A tokenizer that glues tags to what follows (`<recommendation` + `>approve`, `<reasoning` + `>\n`).
    static let glued = fixtures.appendingPathComponent("trace/model")
    /// A tokenizer whose tokens never cross a tag (the pipeline model's small vocabulary).
    static let plain = fixtures.appendingPathComponent("pipeline/model")
    let reply = "<reasoning>\nThe applicant is a 34-year-old nurse. Income is 5200. Expenses are 3100. 5200 is more than 3100, "
        + "so net income is positive.\n</reasoning>\n<recommendation>approve</recommendation>"

    func setup(_ dir: URL, reply: String? = nil) throws -> (Tokenizer, [Int], RolloutCuts) {
        let formatter = try ChatFormatter(directory: dir)
        let t = formatter.tokenizer
        let text = reply ?? self.reply
        let record = RolloutRecord(prompt: ReasoningPrompt(id: "a", text: "Should we approve?", line: 1), sample: 0, completion: text,
                                   completionTokens: 0, tokens: t.encode(text), finish: .stop, parsed: TraceFormat.loan.parse(text), seed: nil)
        let prompt = t.encode(try formatter.render(messages: ChatFormatter.messages(user: "Should we approve?")))
        return (t, prompt, try XCTUnwrap(try RolloutCuts(record: record, format: .loan, tokenizer: t)))
    }

    func utf8(_ s: String) -> Int { s.utf8.count }

    func testCutsOnGluedTagsFallBeforeTheSharedToken() throws {
        let (t, prompt, cuts) = try setup(Self.glued)
        let b = TracePrefixBuilder(tokenizer: t, format: .loan)
        let tokens = cuts.ids.map { t.token(forId: $0) ?? "?" }
        XCTAssertEqual(Array(tokens.prefix(2)), ["<reasoning", ">Ċ"], "the fixture's tokenizer glues the tags")
        let value = try XCTUnwrap(reply.range(of: "approve")).lowerBound
        XCTAssertEqual(cuts.answerTarget, reply.utf8.distance(from: reply.startIndex, to: value))

        let closed = try b.build(promptIds: prompt, condition: .frozenClosed, rollout: cuts)
        XCTAssertEqual(closed.ids, prompt + Array(cuts.ids.prefix(cuts.answer)))
        XCTAssertEqual(tokens[cuts.answer], ">approve", "the answer's token is left to the model")
        XCTAssertTrue(closed.text.hasSuffix("</reasoning>\n<recommendation"), closed.text)
        XCTAssertEqual(closed.cutToken, cuts.answer)
        XCTAssertEqual(closed.targetChar, (closed.cutChar ?? 0) + 1, "the cut fell one character (the '>') before the value")
        XCTAssertEqual(cuts.answerGap, ">")
        XCTAssertEqual(try b.build(promptIds: prompt, condition: .logit, rollout: cuts).ids, closed.ids)
        // The logit variant scores the tokens that would follow the cut: '>approve' and '>reject'.
        XCTAssertEqual(try b.answerFirstTokens(gap: ">").map { t.token(forId: $0.token) }, [">approve", ">reject"])

        let open = try b.build(promptIds: prompt, condition: .frozenOpen, rollout: cuts)
        XCTAssertTrue(open.text.hasSuffix("positive.\n") || open.text.hasSuffix("positive"), open.text)
        XCTAssertFalse(open.text.contains("</"))
        // f = 0 keeps '<reasoning' only: '>\n' holds R's first character.
        let f0 = try b.build(promptIds: prompt, condition: .truncated, rollout: cuts, fraction: 0)
        XCTAssertEqual(f0.forcedIds.map { t.token(forId: $0) }, ["<reasoning"])
        XCTAssertEqual(f0.text, "<reasoning")
    }

    func testEveryCutIsAPrefixOfTheReplyAtATokenBoundary() throws {
        for dir in [Self.glued, Self.plain] {
            let (t, prompt, cuts) = try setup(dir)
            for cut in [TraceCut.tokens, .sentences] {
                let b = TracePrefixBuilder(tokenizer: t, format: .loan, cut: cut)
                var prefixes = [try b.build(promptIds: prompt, condition: .frozenClosed, rollout: cuts),
                                try b.build(promptIds: prompt, condition: .frozenOpen, rollout: cuts)]
                for f in [0, 0.1, 0.25, 0.5, 0.9, 1] { prefixes.append(try b.build(promptIds: prompt, condition: .truncated, rollout: cuts, fraction: f)) }
                for p in prefixes {
                    let k = try XCTUnwrap(p.cutToken)
                    XCTAssertEqual(p.ids, prompt + Array(cuts.ids.prefix(k)), "\(dir.lastPathComponent) \(cut)")
                    XCTAssertTrue(reply.hasPrefix(p.text), p.text)
                    XCTAssertEqual(p.cutChar, p.text.unicodeScalars.count)
                    if let target = p.targetChar {
                        // At or before the target, and the next token would cross it.
                        XCTAssertLessThanOrEqual(p.cutChar ?? .max, target)
                        XCTAssertGreaterThan(cuts.prefixText(k + 1).unicodeScalars.count, target)
                    }
                }
            }
        }
        // Where no token crosses a tag, the cuts fall exactly on the tags.
        let (_, _, plain) = try setup(Self.plain)
        XCTAssertEqual(plain.prefixText(plain.answer), String(reply[..<(try XCTUnwrap(reply.range(of: "approve"))).lowerBound]))
        XCTAssertEqual(plain.prefixText(plain.close), String(reply[..<(try XCTUnwrap(reply.range(of: "</reasoning>"))).lowerBound]))
        XCTAssertEqual(plain.prefixText(plain.open), "<reasoning>")
    }

    func testTruncatedKeepsFloorOfFractionTokens() throws {
        let (t, prompt, cuts) = try setup(Self.glued)
        let b = TracePrefixBuilder(tokenizer: t, format: .loan)
        let n = cuts.close - cuts.open
        XCTAssertGreaterThan(n, 10)
        for f in [0.0, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 0.999, 1.0] {
            let x = try b.build(promptIds: prompt, condition: .truncated, rollout: cuts, fraction: f)
            let k = Int((f * Double(n) + 1e-9).rounded(.down))
            XCTAssertEqual(x.kept, k, "f=\(f)")
            XCTAssertEqual(x.total, n)
            XCTAssertEqual(x.forcedIds, Array(cuts.ids.prefix(cuts.open + k)), "f=\(f)")
            XCTAssertNil(x.targetChar)
        }
        XCTAssertEqual(try b.build(promptIds: prompt, condition: .truncated, rollout: cuts, fraction: 1).ids,
                       try b.build(promptIds: prompt, condition: .frozenOpen, rollout: cuts).ids, "f = 1 is frozen-open")
        XCTAssertEqual(try b.build(promptIds: prompt, condition: .control, rollout: cuts).ids, prompt)
    }

    func testSentenceCut() throws {
        let (t, prompt, cuts) = try setup(Self.plain)
        let b = TracePrefixBuilder(tokenizer: t, format: .loan, cut: .sentences)
        let half = try b.build(promptIds: prompt, condition: .truncated, rollout: cuts, fraction: 0.5)
        XCTAssertEqual(half.total, 4)
        XCTAssertEqual(half.kept, 2)
        XCTAssertEqual(half.text, "<reasoning>\nThe applicant is a 34-year-old nurse. Income is 5200.")
        XCTAssertEqual(try b.build(promptIds: prompt, condition: .truncated, rollout: cuts, fraction: 0).text, "<reasoning>")
        XCTAssertEqual(try b.build(promptIds: prompt, condition: .truncated, rollout: cuts, fraction: 1).ids,
                       try b.build(promptIds: prompt, condition: .frozenOpen, rollout: cuts).ids)
        XCTAssertEqual(try b.build(promptIds: prompt, condition: .truncated, rollout: cuts, fraction: 0.3).kept, 1)
    }

    func testFloorIsRobustToBinaryRounding() throws {
        XCTAssertEqual(try TracePrefixBuilder.kept(fraction: 0.29, of: 100), 29)
        XCTAssertEqual(try TracePrefixBuilder.kept(fraction: 0.3, of: 10), 3)
        XCTAssertEqual(try TracePrefixBuilder.kept(fraction: 0.7, of: 10), 7)
        XCTAssertEqual(try TracePrefixBuilder.kept(fraction: 0.5, of: 7), 3)
        XCTAssertEqual(try TracePrefixBuilder.kept(fraction: 1, of: 0), 0)
        XCTAssertEqual(try TracePrefixBuilder.kept(fraction: 0.99, of: 10), 9)
    }

    func testFractionsOutsideUnitIntervalAreErrors() throws {
        let (t, prompt, cuts) = try setup(Self.plain)
        let b = TracePrefixBuilder(tokenizer: t, format: .loan)
        for f in [-0.1, 1.5, Double.nan, .infinity] {
            XCTAssertThrowsError(try b.build(promptIds: prompt, condition: .truncated, rollout: cuts, fraction: f)) {
                XCTAssertTrue("\($0)".contains("outside [0, 1]"))
            }
        }
        var s = TraceSettings()
        s.fractions = [0, 1.2]
        XCTAssertThrowsError(try s.validate())
    }

    func testRolloutsWithoutIdsOrWithForeignIds() throws {
        let formatter = try ChatFormatter(directory: Self.glued)
        let t = formatter.tokenizer
        var record = RolloutRecord(prompt: ReasoningPrompt(id: "old", text: "x", line: 3), sample: 0, completion: reply, completionTokens: 0,
                                   finish: .stop, parsed: TraceFormat.loan.parse(reply), seed: nil)
        // An older file: the completion is re-tokenized whole, and says so.
        let old = try XCTUnwrap(try RolloutCuts(record: record, format: .loan, tokenizer: t))
        XCTAssertTrue(old.retokenized)
        XCTAssertEqual(old.ids, t.encode(reply))
        // Ids that do not decode to the completion are an error naming the rollout.
        record.tokens = t.encode("something else")
        XCTAssertThrowsError(try RolloutCuts(record: record, format: .loan, tokenizer: t)) { XCTAssertTrue("\($0)".contains("'old'"), "\($0)") }
        // No reasoning span or answer: no cuts.
        record.tokens = t.encode("no tags")
        record.completion = "no tags"
        XCTAssertNil(try RolloutCuts(record: record, format: .loan, tokenizer: t))
    }

    func testCutsNeverSplitACharacter() throws {
        // Byte-level tokens can hold part of a character; a cut aimed inside one steps back to a whole character.
        let reply = "<reasoning>\nÉtude 日本 ok.\n</reasoning>\n<recommendation>reject</recommendation>"
        let (_, _, cuts) = try setup(Self.plain, reply: reply)
        for offset in 0...reply.utf8.count {
            let k = cuts.boundary(atOrBefore: offset)
            let text = cuts.prefixText(k)
            XCTAssertTrue(reply.hasPrefix(text), "offset \(offset)")
            XCTAssertLessThanOrEqual(text.utf8.count, offset)
        }
    }

    func testLogitAnswerTokensMustDiffer() throws {
        let t = try ChatFormatter(directory: Self.plain).tokenizer
        let b = TracePrefixBuilder(tokenizer: t, format: TraceFormat(answers: ["approve", "approved"]))
        if t.encode("approved").first == t.encode("approve").first { XCTAssertThrowsError(try b.answerFirstTokens()) }
        XCTAssertEqual(try TracePrefixBuilder(tokenizer: t, format: .loan).answerFirstTokens().map(\.answer), ["approve", "reject"])
    }
}
