import Foundation
import XCTest
@testable import ChatTemplates

/// Small interpreter cases (whitespace control, loops, macros, filters, undefined, errors) whose expected
/// outputs were produced by real jinja2 in transformers' environment.
final class SnippetTests: XCTestCase {
    func testSnippetsMatchJinja() throws {
        let snippets = try Fixtures.load("snippets.json").arrayValue
        XCTAssertGreaterThan(snippets.count, 50)
        var failures: [String] = []
        for s in snippets {
            let name = s["name"]?.stringValue ?? "?"
            var context: [String: TemplateValue] = [:]
            for (k, v) in s["context"]?.objectValue?.pairs ?? [] { context[k] = v }
            do {
                let out = try ChatTemplate(s["template"]?.stringValue ?? "").render(context, now: Fixtures.now)
                if let expected = s["expected"]?.stringValue {
                    if out != expected { failures.append("\(name): \(firstDifference(out, expected))") }
                } else {
                    failures.append("\(name): rendered \(out.debugDescription) but jinja raised \(s["error"].map { "\($0)" } ?? "")")
                }
            } catch let error as TemplateError {
                guard let expected = s["error"] else { failures.append("\(name): threw \(error)"); continue }
                let type = expected["type"]?.stringValue
                if type == "TemplateError" && (error.kind != .raised || error.message != expected["message"]?.stringValue) {
                    failures.append("\(name): \(error) vs raise_exception \(expected["message"]?.stringValue ?? "")")
                }
                if type == "TemplateSyntaxError" {
                    if error.kind != .syntax { failures.append("\(name): expected a syntax error, got \(error)") }
                    if case .int(let line) = expected["line"] ?? TemplateValue.none, line != error.line {
                        failures.append("\(name): syntax error on line \(error.line), jinja says \(line)")
                    }
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

    func testRunawayRecursionThrows() {
        XCTAssertThrowsError(try ChatTemplate("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").render([:]))
    }

    func testOrderPreservingJSON() throws {
        let v = try TemplateValue(json: #"{"z": 1, "a": [1.0, 2, true, null, "é\n"], "m": {}}"#)
        let out = try ChatTemplate("{{ v | tojson }}|{% for k in v %}{{ k }}{% endfor %}").render(["v": v])
        XCTAssertEqual(out, #"{"z": 1, "a": [1.0, 2, true, null, "é\n"], "m": {}}|zam"#)
    }
}
