import XCTest
@testable import Experiments

/// Forced prefixes are token-exact raw continuations of the rendered prompt (SPEC §4).
final class ReasoningPrefixTests: XCTestCase {
    static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pipeline/model")
    let reasoning = "The applicant is a 34-year-old nurse. Income is 5200. Expenses are 3100. 5200 is more than 3100, so net income is positive."

    func setup() throws -> (ChatFormatter, TracePrefixBuilder, String) {
        let formatter = try ChatFormatter(directory: Self.model)
        let prompt = try formatter.render(messages: ChatFormatter.messages(user: "Should we approve?"))
        return (formatter, TracePrefixBuilder(tokenizer: formatter.tokenizer, format: .loan), prompt)
    }

    func testEachConditionTokenExact() throws {
        let (fm, b, prompt) = try setup()
        let t = fm.tokenizer
        let p = t.encode(prompt), open = t.encode("<reasoning>"), r = t.encode(reasoning)
        XCTAssertTrue(prompt.hasSuffix("<|im_start|>assistant\n"), "generation prompt on, template applied once")

        let control = try b.build(prompt: prompt, condition: .control, reasoning: reasoning)
        XCTAssertEqual(control.ids, p)
        XCTAssertEqual(control.prefixTokens, 0)

        let closed = try b.build(prompt: prompt, condition: .frozenClosed, reasoning: reasoning, separator: "\n")
        let closing = t.encode("</reasoning>\n<recommendation>")
        XCTAssertEqual(closed.ids, p + open + r + closing)
        XCTAssertEqual(closed.text, "<reasoning>" + reasoning + "</reasoning>\n<recommendation>")
        XCTAssertEqual(closed.prefixTokens, open.count + r.count + closing.count)
        // The rollout's separator is kept; no separator defaults to a newline.
        XCTAssertEqual(try b.build(prompt: prompt, condition: .frozenClosed, reasoning: reasoning, separator: "").ids,
                       p + open + r + t.encode("</reasoning><recommendation>"))
        XCTAssertEqual(try b.build(prompt: prompt, condition: .logit, reasoning: reasoning).ids, closed.ids)

        let open1 = try b.build(prompt: prompt, condition: .frozenOpen, reasoning: reasoning)
        XCTAssertEqual(open1.ids, p + open + r)
        XCTAssertEqual(open1.text, "<reasoning>" + reasoning)
        // No template tokens after the prompt: the prefix is raw continuation.
        XCTAssertFalse(t.decode(Array(open1.ids[p.count...])).contains("<|im_start|>"))
    }

    func testTruncatedKeepsFloorOfFractionTokens() throws {
        let (fm, b, prompt) = try setup()
        let t = fm.tokenizer
        let p = t.encode(prompt), open = t.encode("<reasoning>"), r = t.encode(reasoning)
        XCTAssertGreaterThan(r.count, 10)
        for f in [0.0, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 0.999, 1.0] {
            let x = try b.build(prompt: prompt, condition: .truncated, reasoning: reasoning, fraction: f)
            let k = Int((f * Double(r.count) + 1e-9).rounded(.down))
            XCTAssertEqual(x.kept, k, "f=\(f)")
            XCTAssertEqual(x.total, r.count)
            XCTAssertEqual(x.ids, p + open + Array(r.prefix(k)), "f=\(f)")
            XCTAssertEqual(x.prefixTokens, open.count + k)
        }
        // Edge cases: f = 0 is the opener alone; f = 1 equals frozen-open.
        XCTAssertEqual(try b.build(prompt: prompt, condition: .truncated, reasoning: reasoning, fraction: 0).ids, p + open)
        XCTAssertEqual(try b.build(prompt: prompt, condition: .truncated, reasoning: reasoning, fraction: 1).ids,
                       try b.build(prompt: prompt, condition: .frozenOpen, reasoning: reasoning).ids)
        XCTAssertEqual(try b.build(prompt: prompt, condition: .truncated, reasoning: reasoning, fraction: 0).text, "<reasoning>")
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
        let (_, b, prompt) = try setup()
        for f in [-0.1, 1.5, Double.nan, .infinity] {
            XCTAssertThrowsError(try b.build(prompt: prompt, condition: .truncated, reasoning: reasoning, fraction: f)) {
                XCTAssertTrue("\($0)".contains("outside [0, 1]"))
            }
        }
        var s = TraceSettings()
        s.fractions = [0, 1.2]
        XCTAssertThrowsError(try s.validate())
    }

    func testSentenceCut() throws {
        let (fm, _, prompt) = try setup()
        let b = TracePrefixBuilder(tokenizer: fm.tokenizer, format: .loan, cut: .sentences)
        let t = fm.tokenizer
        let p = t.encode(prompt), open = t.encode("<reasoning>")
        let half = try b.build(prompt: prompt, condition: .truncated, reasoning: reasoning, fraction: 0.5)
        XCTAssertEqual(half.total, 4)
        XCTAssertEqual(half.kept, 2)
        XCTAssertEqual(half.text, "<reasoning>The applicant is a 34-year-old nurse. Income is 5200.")
        XCTAssertEqual(half.ids, p + open + t.encode("The applicant is a 34-year-old nurse. Income is 5200."))
        XCTAssertEqual(try b.build(prompt: prompt, condition: .truncated, reasoning: reasoning, fraction: 0).ids, p + open)
        XCTAssertEqual(try b.build(prompt: prompt, condition: .truncated, reasoning: reasoning, fraction: 1).ids, p + open + t.encode(reasoning))
        XCTAssertEqual(try b.build(prompt: prompt, condition: .truncated, reasoning: reasoning, fraction: 0.3).kept, 1)
    }

    func testLogitAnswerTokensMustDiffer() throws {
        let (fm, _, _) = try setup()
        let b = TracePrefixBuilder(tokenizer: fm.tokenizer, format: TraceFormat(answers: ["approve", "approved"]))
        let tokens = fm.tokenizer.encode("approve")
        if fm.tokenizer.encode("approved").first == tokens.first {
            XCTAssertThrowsError(try b.answerFirstTokens())
        }
        XCTAssertEqual(try TracePrefixBuilder(tokenizer: fm.tokenizer, format: .loan).answerFirstTokens().map(\.answer), ["approve", "reject"])
    }
}
