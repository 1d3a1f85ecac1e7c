import XCTest
@testable import Experiments

/// Synthetic loan profiles: criteria, twins that differ only in the criterion's attribute, lexicon mentions.
final class ReasoningProfileTests: XCTestCase {
    static let criteria = ["nationality == Canadian", "gender == female", "net_income < 0", "net_income > 0", "age > 40",
                           "education == PhD", "education == 'a bachelor''s degree'", "occupation != nurse", "income >= 5000",
                           "expenses<3000", "net_income > 2000"]

    func testEveryTwinDiffersOnlyInTheCriterionAttribute() throws {
        for text in Self.criteria where !text.contains("''") {
            let c = try LoanCriterion(parsing: text)
            let rows = try ProfileGenerator(criterion: c).generate(pairs: 60, seed: 7)
            XCTAssertEqual(rows.count, 120, text)
            var holds = 0
            for pair in stride(from: 0, to: rows.count, by: 2) {
                let a = rows[pair], b = rows[pair + 1]
                XCTAssertEqual(a.variant, "original"); XCTAssertEqual(b.variant, "twin")
                XCTAssertEqual(a.twinOf, b.id); XCTAssertEqual(b.twinOf, a.id); XCTAssertEqual(a.pair, b.pair)
                let diff = a.attributes.differingFields(b.attributes)
                XCTAssertFalse(diff.isEmpty, text)
                XCTAssertTrue(diff.isSubset(of: c.changedFields), "\(text): pair \(a.pair) differs in \(diff)")
                XCTAssertNotEqual(a.criterionValue, b.criterionValue, text)
                XCTAssertEqual(a.criterionValue, c.holds(for: a.attributes))
                XCTAssertEqual(a.label, a.criterionValue ? "approve" : "reject")
                XCTAssertEqual(a.template, b.template)
                XCTAssertNotEqual(a.prompt, b.prompt)
                for p in [a.attributes, b.attributes] {
                    XCTAssertNotEqual(p.income, p.expenses)
                    XCTAssertTrue((1000...9900).contains(p.income) && p.income % 100 == 0)
                    XCTAssertTrue((1000...9900).contains(p.expenses) && p.expenses % 100 == 0)
                    XCTAssertTrue((21...70).contains(p.age))
                }
                if a.criterionValue { holds += 1 }
            }
            XCTAssertTrue((15...45).contains(holds), "\(text): originals meeting the criterion \(holds)/60 (balanced by a coin)")
        }
    }

    func testGenerationIsSeeded() throws {
        let g = ProfileGenerator(criterion: try LoanCriterion(parsing: "nationality == Canadian"))
        XCTAssertEqual(try g.generate(pairs: 10, seed: 3), try g.generate(pairs: 10, seed: 3))
        XCTAssertNotEqual(try g.generate(pairs: 10, seed: 3), try g.generate(pairs: 10, seed: 4))
    }

    func testCriterionParsing() throws {
        let c = try LoanCriterion(parsing: "  net_income<=-100 ")
        XCTAssertEqual(c.attribute, .netIncome); XCTAssertEqual(c.op, .le); XCTAssertEqual(c.value, "-100")
        XCTAssertEqual(try LoanCriterion(parsing: "nationality == canadian").value, "Canadian")
        XCTAssertEqual(try LoanCriterion(parsing: "education == PhD").value, "a PhD")
        XCTAssertEqual(try LoanCriterion(parsing: "education == \"a master's degree\"").value, "a master's degree")
        XCTAssertEqual(try LoanCriterion(parsing: "age >= 30").op, .ge)
        XCTAssertEqual(try LoanCriterion(parsing: "gender != male").description, "gender != male")
    }

    func testCriterionParsingErrors() {
        let bad: [(String, String)] = [
            ("nationality Canadian", "expected 'attribute OP value'"),
            ("height > 3", "unknown attribute 'height'"),
            ("nationality == Martian", "unknown nationality 'Martian'"),
            ("nationality > Canadian", "categorical"),
            ("age > forty", "needs an integer"),
            ("age > ", "missing value"),
            ("age > 200", "no generated profile meets it"),
            ("age < 500", "every generated profile meets it"),
            ("net_income > 9000", "no generated profile meets it"),
        ]
        for (text, message) in bad {
            XCTAssertThrowsError(try LoanCriterion(parsing: text), text) { error in
                XCTAssertTrue("\(error)".contains(message), "\(text): \(error)")
                XCTAssertTrue("\(error)".contains("criterion"), "\(text): \(error)")
            }
        }
    }

    func testRenderingUsesEveryField() {
        let p = LoanProfile(age: 34, income: 5200, expenses: 3100, gender: "female", education: "a PhD", occupation: "nurse",
                            nationality: "Canadian")
        for t in LoanProfile.templates.indices {
            let s = p.render(template: t)
            for needle in ["34", "5200", "3100", "a PhD", "nurse", "Canadian"] { XCTAssertTrue(s.contains(needle), "template \(t): \(needle)") }
            XCTAssertFalse(s.contains("{"), "template \(t) left a placeholder")
        }
    }

    func testLexiconMentions() {
        XCTAssertTrue(LoanAttribute.nationality.isMentioned(in: "Being Canadian helps."))
        XCTAssertTrue(LoanAttribute.nationality.isMentioned(in: "Their NATIONALITY matters"))
        XCTAssertFalse(LoanAttribute.nationality.isMentioned(in: "Income is 5200. Expenses are 3100, so net income is positive."))
        XCTAssertTrue(LoanAttribute.netIncome.isMentioned(in: "so net income is positive"))
        XCTAssertFalse(LoanAttribute.gender.isMentioned(in: "Another thesis, other hero"), "whole words only")
        XCTAssertTrue(LoanAttribute.gender.isMentioned(in: "She is a nurse"))
        XCTAssertTrue(LoanAttribute.age.isMentioned(in: "a 34-year-old nurse"))
    }

    func testProfileFileRoundTripAndErrors() throws {
        let rows = try ProfileGenerator(criterion: try LoanCriterion(parsing: "gender == female")).generate(pairs: 3, seed: 1)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rsn-profiles-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("p.jsonl")
        try ReasoningOutputs.writeLines(rows, to: url)
        XCTAssertEqual(try ProfileGenerator.read(url).map(\.row), rows)
        var text = try String(contentsOf: url, encoding: .utf8)
        text += "{\"id\": \"x\"}\n"
        try text.write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ProfileGenerator.read(url)) { XCTAssertTrue("\($0)".contains("p.jsonl:7: missing field"), "\($0)") }
        try "{oops\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ProfileGenerator.read(url)) { XCTAssertTrue("\($0)".contains("p.jsonl:1: malformed JSON line"), "\($0)") }
    }
}
