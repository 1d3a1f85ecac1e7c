import Foundation
import XCTest
@testable import Experiments

final class PromptSetTests: XCTestCase {
    func testJSONStrings() throws {
        let set = try PromptFixtures.load("strings.json")
        XCTAssertEqual(set.format, .json)
        XCTAssertEqual(set.texts, ["How do I bake bread?", "Write a poem about the sea.",
                                   "Explain \"quotes\", commas, and [brackets]", "Café ☕ — ünïcödé"])
        XCTAssertEqual(set.rows.map(\.line), [2, 3, 5, 6])
        XCTAssertEqual(set.duplicateLines, [4], "the padded copy of line 2 is a duplicate after trimming")
        XCTAssertEqual(set.duplicatesDropped, 1)
    }

    func testJSONObjectsFieldRules() throws {
        let set = try PromptFixtures.load("objects.json")
        XCTAssertEqual(set.texts, ["Summarise this article.", "Translate to French: hello", "List three colours.",
                                   "Primary wins", "Follow-up question", "A bare string row"])
        XCTAssertEqual(set.rows[1].system, "You are a translator.")
        XCTAssertNil(set.rows[0].system)
        XCTAssertNil(set.rows[0].messagesJSON)
        let messages = try XCTUnwrap(set.rows[4].messagesJSON)
        let decoded = try XCTUnwrap(JSONSerialization.jsonObject(with: messages) as? [[String: String]])
        XCTAssertEqual(decoded.map { $0["role"] }, ["system", "user", "assistant", "user"])
        XCTAssertEqual(decoded.first?["content"], "Be brief.")
        XCTAssertEqual(set.rows.first?.line, 2)
        XCTAssertTrue(set.rows.map(\.line) == set.rows.map(\.line).sorted())
    }

    func testCallerField() throws {
        let set = try PromptFixtures.load("custom_field.json", field: "question")
        XCTAssertEqual(set.texts, ["What is 2+2?", "Name a planet."])
        let csv = try PromptFixtures.load("custom_column.csv", field: "question")
        XCTAssertEqual(csv.texts, ["Why is the sky blue?", "Why, though?"], "CSV header matched case-insensitively")
    }

    func testJSONL() throws {
        let set = try PromptFixtures.load("rows.jsonl")
        XCTAssertEqual(set.format, .jsonl)
        XCTAssertEqual(set.texts, ["Line one prompt", "A plain string line", "Goal line", "Explicit text"])
        XCTAssertEqual(set.rows.map(\.line), [1, 2, 4, 6])
        XCTAssertEqual(set.rows[2].system, "sys prompt")
        XCTAssertNotNil(set.rows[3].messagesJSON, "messages kept alongside an explicit instruction")
        XCTAssertEqual(set.duplicateLines, [5])
    }

    func testCSV() throws {
        let set = try PromptFixtures.load("prompts.csv")
        XCTAssertEqual(set.texts, ["Plain goal", "Goal, with comma", "Goal with \"doubled\" quotes",
                                   "Goal spanning\r\ntwo lines", "Last goal"])
        XCTAssertEqual(set.rows.map(\.line), [2, 3, 4, 5, 9])
        XCTAssertEqual(set.rows[2].system, "Be nice")
        XCTAssertNil(set.rows[0].system, "empty system cell is no system prompt")
        XCTAssertEqual(set.duplicateLines, [7])
    }

    func testCSVReaderRecords() throws {
        let records = try CSVReader.records("a,\"b\nc\",d\r\n\"\"\"\",,\n", path: "x.csv")
        XCTAssertEqual(records, [CSVReader.Record(fields: ["a", "b\nc", "d"], line: 1),
                                 CSVReader.Record(fields: ["\"", "", ""], line: 3)])
    }

    func testPlainText() throws {
        let set = try PromptFixtures.load("prompts.txt")
        XCTAssertEqual(set.format, .text)
        XCTAssertEqual(set.texts, ["First prompt", "Second prompt", "Third prompt with trailing space "])
        XCTAssertEqual(set.rows.map(\.line), [1, 2, 6])
        XCTAssertEqual(set.duplicateLines, [5])
    }

    func testFileHashesMatchHashlib() throws {
        let hashes: [String: String] = try PromptFixtures.section("file_sha256")
        XCTAssertFalse(hashes.isEmpty)
        for name in ["strings.json", "objects.json", "rows.jsonl", "prompts.csv", "prompts.txt", "twenty.txt"] {
            XCTAssertEqual(try PromptFixtures.load(name).sha256, hashes[name], name)
        }
    }

    // MARK: Errors

    func testMissingFileAndUnknownExtension() {
        let missing = PromptFixtures.error { _ = try PromptFixtures.load("nope.json") }
        XCTAssertEqual(missing, .missingFile(path: PromptFixtures.url("nope.json").path))
        XCTAssertTrue(missing?.description.contains("nope.json") ?? false)
        let yaml = PromptFixtures.error { _ = try PromptFixtures.load("prompts.yaml") }
        XCTAssertEqual(yaml, .unknownExtension(path: PromptFixtures.url("prompts.yaml").path, ext: "yaml"))
        XCTAssertTrue(yaml?.description.contains(".yaml") ?? false)
    }

    func testEmptySets() {
        for name in ["empty.txt", "empty.json"] {
            XCTAssertEqual(PromptFixtures.error { _ = try PromptFixtures.load(name) },
                           .empty(path: PromptFixtures.url(name).path))
        }
    }

    func testNotUTF8NamesLine() {
        let error = PromptFixtures.error { _ = try PromptFixtures.load("bad_utf8.txt") }
        XCTAssertEqual(error, .notUTF8(path: PromptFixtures.url("bad_utf8.txt").path, line: 3))
        XCTAssertTrue(error?.description.hasSuffix("bad_utf8.txt:3: line is not valid UTF-8") ?? false)
    }

    func testMalformedJSON() {
        guard case .malformedJSON(let path, let line, _)? = PromptFixtures.error({ _ = try PromptFixtures.load("malformed.json") })
        else { return XCTFail("expected malformedJSON") }
        XCTAssertTrue(path.hasSuffix("malformed.json"))
        XCTAssertNil(line)
        guard case .malformedJSON(_, let line2, let reason)? = PromptFixtures.error({ _ = try PromptFixtures.load("not_a_list.json") })
        else { return XCTFail("expected malformedJSON") }
        XCTAssertNil(line2)
        XCTAssertTrue(reason.contains("found an object"), reason)
    }

    func testMalformedJSONLNamesLine() {
        let error = PromptFixtures.error { _ = try PromptFixtures.load("malformed.jsonl") }
        guard case .malformedJSON(let path, let line, _)? = error else { return XCTFail("expected malformedJSON") }
        XCTAssertTrue(path.hasSuffix("malformed.jsonl"))
        XCTAssertEqual(line, 3)
        XCTAssertTrue(error?.description.contains("malformed.jsonl:3: malformed JSON") ?? false)
    }

    func testMissingFieldNamesLineAndFields() {
        let json = PromptFixtures.error { _ = try PromptFixtures.load("missing_field.json") }
        XCTAssertEqual(json, .missingField(path: PromptFixtures.url("missing_field.json").path, line: 5,
                                           wanted: ["instruction", "prompt", "goal", "messages"], available: ["id", "text"]))
        XCTAssertTrue(json?.description.contains("missing_field.json:5: row has none of the fields 'instruction'") ?? false)
        XCTAssertTrue(json?.description.contains("(it has fields: id, text)") ?? false, json?.description ?? "")
        let jsonl = PromptFixtures.error { _ = try PromptFixtures.load("missing_field.jsonl") }
        XCTAssertEqual(jsonl, .missingField(path: PromptFixtures.url("missing_field.jsonl").path, line: 4,
                                            wanted: ["instruction", "prompt", "goal", "messages"],
                                            available: ["answer", "question"]))
        XCTAssertNoThrow(try PromptFixtures.load("strings.json", field: "question"), "plain strings need no field")
        let explicit = PromptFixtures.error { _ = try PromptFixtures.load("objects.json", field: "question") }
        XCTAssertEqual(explicit, .missingField(path: PromptFixtures.url("objects.json").path, line: 2,
                                               wanted: ["question"], available: ["category", "instruction"]))
    }

    func testCSVFieldErrors() {
        let column = PromptFixtures.error { _ = try PromptFixtures.load("missing_column.csv") }
        XCTAssertEqual(column, .missingField(path: PromptFixtures.url("missing_column.csv").path, line: 1,
                                             wanted: ["instruction", "prompt", "goal"], available: ["id", "text"]))
        let short = PromptFixtures.error { _ = try PromptFixtures.load("short_row.csv") }
        XCTAssertEqual(short, .missingField(path: PromptFixtures.url("short_row.csv").path, line: 3,
                                            wanted: ["prompt"], available: ["id", "note"]))
        let blank = PromptFixtures.error { _ = try PromptFixtures.load("blank_prompt.csv") }
        XCTAssertEqual(blank, .badRow(path: PromptFixtures.url("blank_prompt.csv").path, line: 3, field: "prompt",
                                      reason: "prompt is empty"))
    }

    func testMalformedCSV() {
        let open = PromptFixtures.error { _ = try PromptFixtures.load("unterminated.csv") }
        XCTAssertEqual(open, .malformedCSV(path: PromptFixtures.url("unterminated.csv").path, line: 3,
                                           reason: "quoted field never closed"))
        guard case .malformedCSV(_, let line, let reason)? = PromptFixtures.error({ _ = try PromptFixtures.load("stray_quote.csv") })
        else { return XCTFail("expected malformedCSV") }
        XCTAssertEqual(line, 3)
        XCTAssertTrue(reason.contains("after the closing quote"), reason)
    }

    func testWrongTypes() {
        let wrong = PromptFixtures.error { _ = try PromptFixtures.load("wrong_type.json") }
        XCTAssertEqual(wrong, .badRow(path: PromptFixtures.url("wrong_type.json").path, line: 3, field: "instruction",
                                      reason: "expected a string, found a number or boolean"))
        guard case .badRow(_, let line, _, _)? = PromptFixtures.error({ _ = try PromptFixtures.load("number_row.jsonl") })
        else { return XCTFail("expected badRow") }
        XCTAssertEqual(line, 2)
        guard case .badRow(_, 1, "messages", let reason)? = PromptFixtures.error({ _ = try PromptFixtures.load("bad_messages.jsonl") })
        else { return XCTFail("expected badRow on messages") }
        XCTAssertTrue(reason.contains("role"), reason)
    }

    func testParseInMemory() throws {
        let set = try PromptSet.parse(Data("a\nb\na\n".utf8), format: .text, path: "mem.txt")
        XCTAssertEqual(set.texts, ["a", "b"])
        XCTAssertEqual(set.sha256, SHA256.hex(of: Array("a\nb\na\n".utf8)))
        XCTAssertEqual(try PromptSet.parse(Data("\u{FEFF}x\n".utf8), format: .text, path: "bom.txt").texts, ["x"])
    }
}
