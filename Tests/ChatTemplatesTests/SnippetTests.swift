import Foundation
import XCTest
@testable import ChatTemplates

/// Small interpreter cases (whitespace control, loops, macros, filters, undefined, errors) whose expected
/// outputs were produced by real jinja2 in transformers' environment.
final class SnippetTests: XCTestCase {
    /// The kind Steer raises for each Python exception jinja2 raises. Python's MemoryError and RecursionError are
    /// the sandbox's limits; NameError only comes from jinja2's compiler emitting `inf` for a folded float literal.
    static let kinds: [String: Set<TemplateError.Kind>] = [
        "TemplateSyntaxError": [.syntax], "TemplateError": [.raised], "UndefinedError": [.undefined],
        "SecurityError": [.security], "TypeError": [.type], "ValueError": [.type], "ZeroDivisionError": [.type],
        "OverflowError": [.overflow], "MemoryError": [.limit], "RecursionError": [.limit],
        "NameError": [.overflow, .type], "SyntaxError": [.syntax],
    ]

    func testSnippetsMatchJinja() throws {
        let snippets = try Fixtures.load("snippets.json").arrayValue
        XCTAssertGreaterThan(snippets.count, 50)
        var failures: [String] = []
        for s in snippets {
            let name = s["name"]?.stringValue ?? "?"
            var context: [String: TemplateValue] = [:]
            for (k, v) in s["context"]?.objectValue?.pairs ?? [] { context[k] = v }
            let bigInt: Bool = { if case .bool(true) = s["big_int"] ?? TemplateValue.none { return true }; return false }()
            do {
                let out = try ChatTemplate(s["template"]?.stringValue ?? "").render(context, now: Fixtures.now)
                if bigInt {
                    failures.append("\(name): rendered \(out.debugDescription), but Python's integer is beyond 64 bits")
                } else if let expected = s["expected"]?.stringValue {
                    if out != expected { failures.append("\(name): \(firstDifference(out, expected))") }
                } else {
                    failures.append("\(name): rendered \(out.debugDescription) but jinja raised \(s["error"].map { "\($0)" } ?? "")")
                }
            } catch let error as TemplateError {
                if bigInt {
                    // Python computes a big integer; Steer's 64-bit integers say so.
                    if error.kind != .overflow || error.message != "integer result exceeds 64 bits" {
                        failures.append("\(name): \(error), expected the 64-bit overflow error")
                    }
                    continue
                }
                guard let expected = s["error"] else { failures.append("\(name): threw \(error)"); continue }
                let type = expected["type"]?.stringValue ?? ""
                let message = expected["message"]?.stringValue ?? ""
                guard let kinds = Self.kinds[type] else { failures.append("\(name): no kind for Python's \(type)"); continue }
                // Where an intermediate integer is beyond 64 bits Steer stops there; Python fails later (e.g. MemoryError).
                let stoppedEarlier = error.kind == .overflow && error.message == "integer result exceeds 64 bits"
                if !kinds.contains(error.kind) && !stoppedEarlier { failures.append("\(name): \(error), jinja raised \(type): \(message)") }
                if type == "TemplateError" && error.message != message {
                    failures.append("\(name): \(error) vs raise_exception \(message)")
                }
                // Overflow messages are Python's own, except where a 64-bit integer cannot hold the argument.
                if type == "OverflowError" && error.message != message && error.message != "integer result exceeds 64 bits" {
                    failures.append("\(name): \(error.message) vs \(message)")
                }
                if type == "TemplateSyntaxError", case .int(let line) = expected["line"] ?? TemplateValue.none, line != error.line {
                    failures.append("\(name): syntax error on line \(error.line), jinja says \(line)")
                }
            }
        }
        XCTAssert(failures.isEmpty, "\(failures.count) snippet failures:\n" + failures.joined(separator: "\n"))
    }

    func testErrorCarriesLineAndColumn() {
        XCTAssertThrowsError(try ChatTemplate("a\n  {{ 1 + }}")) { error in
            let e = error as? TemplateError
            XCTAssertEqual(e?.kind, .syntax)
            XCTAssertEqual(e?.line, 2)
            XCTAssertEqual(e?.column, 10)
        }
        XCTAssertThrowsError(try ChatTemplate("x\n\n   {{ raise_exception('boom') }}").render([:])) { error in
            let e = error as? TemplateError
            XCTAssertEqual(e?.kind, .raised)
            XCTAssertEqual(e?.message, "boom")
            XCTAssertEqual(e?.line, 3)
            XCTAssertEqual(e?.column, 7)
        }
    }

    func testOrderPreservingJSON() throws {
        let v = try TemplateValue(json: #"{"z": 1, "a": [1.0, 2, true, null, "é\n"], "m": {}}"#)
        let out = try ChatTemplate("{{ v | tojson }}|{% for k in v %}{{ k }}{% endfor %}").render(["v": v])
        XCTAssertEqual(out, #"{"z": 1, "a": [1.0, 2, true, null, "é\n"], "m": {}}|zam"#)
    }

    /// As Python's `json.loads` then `json.dumps` (outputs taken from Python 3): a repeated key keeps its
    /// first place and last value; `ensure_ascii` escapes non-ASCII and DEL in UTF-16 units.
    func testJSONAsPythonReadsAndWritesIt() throws {
        let dict = try TemplateValue(json: #"{"a": 1, "b": 2, "a": 3}"#)
        XCTAssertEqual(try ChatTemplate("{{ v | tojson }}").render(["v": dict]), #"{"a": 3, "b": 2}"#)
        let ascii = try ChatTemplate("{{ v | tojson(ensure_ascii=true) }}").render(["v": .string("é\u{7F}~")])
        XCTAssertEqual(ascii, #""\u00e9\u007f~""#)
        XCTAssertThrowsError(try TemplateValue(json: "[1,]")) { e in
            XCTAssertEqual((e as? TemplateError)?.kind, .json)
            XCTAssertEqual((e as? TemplateError)?.message.contains("line 1, column 4"), true)
        }
    }
}
