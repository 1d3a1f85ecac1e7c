import Foundation
import XCTest
@testable import Experiments

/// Prompt files a user might be handed: special files, huge lines, invalid UTF-8, deep nesting.
/// Each loads or fails with a PromptSetError naming the file (and line where there is one).
final class PromptFileHostileTests: XCTestCase {
    /// A fresh folder for this test, removed when it ends.
    lazy var temp: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("steer-prompts-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }()

    func write(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = temp.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func testSpecialFilesAreRefusedWithoutBlocking() throws {
        let fifo = temp.appendingPathComponent("prompts.txt")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        guard case .unreadable(_, let reason)? = PromptFixtures.error({ _ = try PromptSet.load(fifo) }) else { return XCTFail() }
        XCTAssertTrue(reason.contains("not a regular file (a FIFO)"), reason)
        let device = temp.appendingPathComponent("zero.jsonl")
        try FileManager.default.createSymbolicLink(at: device, withDestinationURL: URL(fileURLWithPath: "/dev/zero"))
        guard case .unreadable(_, let r2)? = PromptFixtures.error({ _ = try PromptSet.load(device) }) else { return XCTFail() }
        XCTAssertTrue(r2.contains("character device"), r2)
    }

    /// One 8 MB line in every format: read as one prompt (no line length limit, no quadratic work).
    func testHugeLinesInEveryFormat() throws {
        let long = String(repeating: "a", count: 8 << 20)
        let text = try PromptSet.load(try write("p.txt", Array("short\n\(long)\n".utf8)))
        XCTAssertEqual(text.rows.map(\.text.count), [5, 8 << 20])
        let jsonl = try PromptSet.load(try write("p.jsonl", Array("\"x\"\n{\"prompt\": \"\(long)\"}\n".utf8)))
        XCTAssertEqual(jsonl.rows.last?.line, 2)
        XCTAssertEqual(jsonl.rows.last?.text.count, 8 << 20)
        let csv = try PromptSet.load(try write("p.csv", Array("prompt\n\"\(long)\"\nb\n".utf8)))
        XCTAssertEqual(csv.rows.map(\.line), [2, 3])
        let json = try PromptSet.load(try write("p.json", Array("[\"\(long)\",\n \"b\"]".utf8)))
        XCTAssertEqual(json.rows.map(\.line), [1, 2])
    }

    func testInvalidUTF8NamesTheLineInEveryFormat() throws {
        for ext in ["txt", "jsonl", "csv", "json"] {
            let bytes = Array("prompt\n\"ok\"\n".utf8) + [0x22, 0xC3, 0x28, 0x22, 0x0A] + Array("\"z\"\n".utf8)
            let url = try write("bad.\(ext)", bytes)
            XCTAssertEqual(PromptFixtures.error({ _ = try PromptSet.load(url) }), .notUTF8(path: url.path, line: 3), ext)
        }
        // A stray continuation byte in a file without a final newline names the last line.
        let url = try write("tail.txt", Array("a\nb\nc".utf8) + [0x80])
        XCTAssertEqual(PromptFixtures.error({ _ = try PromptSet.load(url) }), .notUTF8(path: url.path, line: 3))
    }

    /// 100,000 nested brackets: a malformed-JSON error from the parser's depth limit, not a stack overflow.
    func testDeepNestingIsAnErrorNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let json = try write("deep.json", Array(deep.utf8))
        guard case .malformedJSON(_, nil, let reason)? = PromptFixtures.error({ _ = try PromptSet.load(json) }) else { return XCTFail() }
        XCTAssertTrue(reason.contains("nested"), reason)
        let objects = String(repeating: "{\"a\":", count: 50_000) + "1" + String(repeating: "}", count: 50_000)
        let jsonl = try write("deep.jsonl", Array("\"ok\"\n\(objects)\n".utf8))
        guard case .malformedJSON(_, 2?, _)? = PromptFixtures.error({ _ = try PromptSet.load(jsonl) }) else { return XCTFail() }
        // Nesting inside an accepted row's messages stays within the parser's limit and loads.
        let nested = "[{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"x\": \(String(repeating: "[", count: 300))\(String(repeating: "]", count: 300))}]}]"
        XCTAssertEqual(try PromptSet.load(try write("ok.json", Array(nested.utf8))).texts, ["hi"])
    }

    /// The parser's own trimming (Foundation's bridges every line through NSString) trims exactly
    /// what Foundation trims, scalar by scalar, so duplicates and blank rows are the same as before.
    func testTrimmingMatchesFoundation() {
        let samples = ["", " ", "  a  ", "\t\n a b \r\n", " \u{301}x", "x \u{301}", "\u{00A0}a\u{2028}", "\u{3000}中\u{3000}",
                       "\u{200B}a\u{200B}", "\u{FEFF}a", "\n\n", "a\u{0}", " 😀 ", "\u{85}a\u{1680}", "e\u{301} "]
        for text in samples {
            for set in [CharacterSet.whitespacesAndNewlines, .whitespaces] {
                XCTAssertEqual(String(PromptFileParser.trimmed(text[...], set)), text.trimmingCharacters(in: set), text.debugDescription)
            }
        }
    }

    func testNulBytesAndLoneCarriageReturns() throws {
        let nul = try PromptSet.load(try write("nul.txt", Array("a\u{0}b\nc\n".utf8)))
        XCTAssertEqual(nul.texts, ["a\u{0}b", "c"])
        let cr = try write("cr.csv", Array("prompt\na\rb\n".utf8))
        guard case .malformedCSV(_, 2, let reason)? = PromptFixtures.error({ _ = try PromptSet.load(cr) }) else { return XCTFail() }
        XCTAssertTrue(reason.contains("carriage return"), reason)
    }
}
