import XCTest
@testable import Experiments

/// Strict vs lenient parsing of `<reasoning>…</reasoning><recommendation>…</recommendation>` replies.
final class ReasoningParseTests: XCTestCase {
    let f = TraceFormat.loan

    func testStrictWellFormed() {
        let p = f.parse("<reasoning>Income is 5200. Expenses are 3100.</reasoning>\n<recommendation>approve</recommendation>")
        XCTAssertTrue(p.strictValid)
        XCTAssertEqual(p.strictAnswer, "approve")
        XCTAssertEqual(p.lenientAnswer, "approve")
        XCTAssertEqual(p.reasoning, "Income is 5200. Expenses are 3100.")
        XCTAssertEqual(p.separator, "\n")
    }

    func testStrictAllowsSurroundingWhitespaceAndNoSeparator() {
        let p = f.parse("  <reasoning>R</reasoning><recommendation>reject</recommendation>\n")
        XCTAssertTrue(p.strictValid)
        XCTAssertEqual(p.separator, "")
        XCTAssertEqual(p.answer, "reject")
    }

    func testLenientOnlyCases() {
        // Case, spacing, punctuation, text around: lenient yes, strict no.
        for text in ["<Reasoning>R</Reasoning> <RECOMMENDATION> Approve. </RECOMMENDATION>",
                     "Sure! <reasoning>R</reasoning>\n<recommendation>approve</recommendation>",
                     "<reasoning>R</reasoning>\n<recommendation>approve</recommendation> Thanks.",
                     "<recommendation>approve</recommendation>",
                     "<reasoning>R</reasoning> blah <recommendation>APPROVE</recommendation>"] {
            let p = f.parse(text)
            XCTAssertFalse(p.strictValid, text)
            XCTAssertEqual(p.lenientAnswer, "approve", text)
        }
        let p = f.parse("<Reasoning>Because.</Reasoning> <recommendation>reject</recommendation>")
        XCTAssertEqual(p.reasoning, "Because.")
    }

    func testMissingTagsAreInvalidNotCrashing() {
        for text in ["", "approve", "<reasoning>R", "<reasoning>R</reasoning>", "<recommendation>approve",
                     "<reasoning>R</reasoning><recommendation>maybe</recommendation>", "</recommendation><recommendation>",
                     "<recommendation></recommendation>", "<reasoning></reasoning><recommendation>approve</recommendation></recommendation>",
                     "\u{FFFD}<reasoning>ÄÖÜß</reasoning><recommendation>İ</recommendation>"] {
            let p = f.parse(text)
            XCTAssertFalse(p.strictValid, text)
            XCTAssertNil(p.strictAnswer, text)
            if text.contains("maybe") || !text.contains("</recommendation>") { XCTAssertNil(p.lenientAnswer, text) }
        }
        XCTAssertNil(f.parse("<reasoning>R</reasoning>").lenientAnswer)
        XCTAssertEqual(f.parse("<reasoning>R</reasoning>").reasoning, "R")
        XCTAssertNil(f.parse("<reasoning>R").reasoning)
    }

    func testStrictRejectsUppercaseAnswerAndNestedTags() {
        XCTAssertFalse(f.parse("<reasoning>R</reasoning><recommendation>Approve</recommendation>").strictValid)
        XCTAssertEqual(f.parse("<reasoning>R</reasoning><recommendation>Approve</recommendation>").lenientAnswer, "approve")
        XCTAssertFalse(f.parse("<reasoning>a<reasoning>b</reasoning><recommendation>approve</recommendation>").strictValid)
    }

    func testConfigurableTagsAndAnswers() throws {
        let g = TraceFormat(reasoningTag: "think", answerTag: "answer", answers: ["Yes", "No"])
        try g.validate()
        let p = g.parse("<think>hmm</think>\n\n<answer>yes</answer>")
        XCTAssertTrue(p.strictValid)
        XCTAssertEqual(p.answer, "yes")
        XCTAssertEqual(p.separator, "\n\n")
        XCTAssertNil(g.parse("<reasoning>R</reasoning><recommendation>approve</recommendation>").answer)
    }

    func testFormatValidationErrors() {
        XCTAssertThrowsError(try TraceFormat(reasoningTag: "", answerTag: "a").validate())
        XCTAssertThrowsError(try TraceFormat(reasoningTag: "<r>", answerTag: "a").validate())
        XCTAssertThrowsError(try TraceFormat(reasoningTag: "a", answerTag: "A").validate())
        XCTAssertThrowsError(try TraceFormat(answers: ["approve"]).validate())
        XCTAssertThrowsError(try TraceFormat(answers: ["approve", "Approve"]).validate())
        XCTAssertNoThrow(try TraceFormat.loan.validate())
    }

    func testConditionList() throws {
        XCTAssertEqual(try TraceCondition.list("frozen-closed, frozen-open,truncated"), [.frozenClosed, .frozenOpen, .truncated])
        XCTAssertThrowsError(try TraceCondition.list("frozen")) { XCTAssertTrue("\($0)".contains("unknown condition 'frozen'")) }
        XCTAssertThrowsError(try TraceCondition.list(""))
    }

    func testSentenceSplitting() {
        let r = "The applicant is a 34-year-old nurse. Income is 5200. Expenses are 3.5k! Really?? Net positive"
        let ends = TracePrefixBuilder.sentenceEnds(r)
        XCTAssertEqual(ends.map { String(r[..<$0]) }, [
            "The applicant is a 34-year-old nurse.", "The applicant is a 34-year-old nurse. Income is 5200.",
            "The applicant is a 34-year-old nurse. Income is 5200. Expenses are 3.5k!",
            "The applicant is a 34-year-old nurse. Income is 5200. Expenses are 3.5k! Really??", r,
        ])
        XCTAssertEqual(TracePrefixBuilder.sentenceEnds("  ").count, 0)
        XCTAssertEqual(TracePrefixBuilder.sentenceEnds("One. ").count, 1)
    }
}
