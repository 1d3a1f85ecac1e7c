import Foundation
import XCTest
@testable import ChatTemplates

/// The sandbox's answers to hostile templates: Python's result or error where a 64-bit integer can hold it, a clear
/// `.overflow` where Python would compute a big integer, and a `.limit` error (never a trap, a stack overflow or an
/// exhausted machine) where Python would run out of memory, stack or time. The jinja2 behaviour of the same
/// expressions is compared in `snippets.json` (the `sandbox_*` entries); these tests pin Steer's own messages.
final class SandboxTests: XCTestCase {
    /// Renders `source` and returns the error it must raise.
    private func error(_ source: String, _ context: [String: TemplateValue] = [:], limits: TemplateLimits = .default,
                       file: StaticString = #filePath, line: UInt = #line) -> TemplateError? {
        do {
            let out = try ChatTemplate(source, limits: limits).render(context)
            XCTFail("\(source.prefix(80)) rendered \(out.prefix(80).debugDescription) instead of raising", file: file, line: line)
        } catch let e as TemplateError {
            return e
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return nil
    }

    private func expect(_ source: String, _ kind: TemplateError.Kind, _ message: String,
                        _ context: [String: TemplateValue] = [:], file: StaticString = #filePath, line: UInt = #line) {
        let e = error(source, context, file: file, line: line)
        let shown = source.prefix(80)
        XCTAssertEqual(e?.kind, kind, "\(shown): \(e.map { "\($0)" } ?? "")", file: file, line: line)
        XCTAssert(e?.message.contains(message) == true, "\(shown): \(e.map { "\($0)" } ?? "") lacks \(message)",
                  file: file, line: line)
        XCTAssertGreaterThan(e?.line ?? 0, 0, "\(shown): the error has no position", file: file, line: line)
    }

    func testIntegerOverflowIsAnErrorNotATrap() {
        let bits = "integer result exceeds 64 bits"
        expect("{{ (-2**63)//-1 }}", .overflow, bits)
        expect("{{ (-2**63)|abs }}", .overflow, bits)
        expect("{{ -x }}", .overflow, bits, ["x": .int(Int.min)])
        expect("{{ 2**63 }}", .overflow, bits)
        expect("{{ 9223372036854775807 + 1 }}", .overflow, bits)
        expect("{{ x * 2 }}", .overflow, bits, ["x": .int(1 << 62)])
        expect("{{ x|int }}", .overflow, bits, ["x": 1e300])
        expect("{{ '99999999999999999999'|int }}", .overflow, bits)
        // Spelled with 2**63 the argument itself does not fit.
        expect("{{ 'a'|indent(2**63-1) }}", .overflow, bits)
        expect("{{ range(2**63-1)|length }}", .overflow, bits)
        expect("{{ 99999999999999999999 }}", .overflow, "integer literal 99999999999999999999 exceeds 64 bits")
    }

    func testFloatToIntegerConversions() {
        expect("{{ '%d'|format(1e400) }}", .overflow, "cannot convert float infinity to integer")
        expect("{{ '%d' % x }}", .type, "cannot convert float NaN to integer", ["x": .double(.nan)])
        expect("{{ x|int }}", .overflow, "cannot convert float infinity to integer", ["x": .double(.infinity)])
        expect("{{ 2.0 ** 10000 }}", .overflow, "Numerical result out of range")
        expect("{{ 0 ** -1 }}", .type, "0.0 cannot be raised to a negative power")
    }

    func testRangeBeyondTheSandboxIsRefusedAtOnce() {
        // jinja2: OverflowError, before any item is made.
        expect("{{ range(9223372036854775807)|length }}", .overflow, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).")
        expect("{{ range(-9223372036854775807, 9223372036854775807)|length }}", .overflow, "Python int too large to convert to C ssize_t")
        expect("{{ range(1, 9223372036854775807, 3)|length }}", .overflow, "Range too big")
    }

    func testAllocationsAreBoundedBeforeTheyHappen() {
        let string = "exceeds the sandbox limit of \(TemplateLimits.default.maxStringBytes) bytes"
        let list = "exceeds the sandbox limit of \(TemplateLimits.default.maxListCount) elements"
        expect("{{ 'x' * 10**12 }}", .limit, string)
        expect("{{ 10**12 * 'x' }}", .limit, string)
        expect("{{ [1] * 10**10 }}", .limit, list)
        expect("{{ (1,) * 10**10 }}", .limit, list)
        expect("{{ 'x'|center(10**12) }}", .limit, string)
        expect("{{ 'x'.center(10**12) }}", .limit, string)
        expect("{{ 'x'.ljust(9223372036854775807) }}", .limit, string)
        expect("{{ 'x'.zfill(9223372036854775807) }}", .limit, string)
        expect("{{ 'a\nb'|indent(9223372036854775807) }}", .limit, string)
        expect("{{ [1]|tojson(indent=10**12) }}", .limit, string)
        expect("{{ '%10000000000d' % 1 }}", .limit, string)
        expect("{{ '%.1000000000f' % 1.5 }}", .limit, string)
        expect("{{ [1, 2]|batch(10**12, 0)|list }}", .limit, list)
        // A list holding one long string many times: its text is bounded while it is written, not after.
        expect("{{ [s] * 1000 }}", .limit, string, ["s": .string(String(repeating: "y", count: 1 << 20))])
        expect("{{ ([s] * 1000)|join }}", .limit, string, ["s": .string(String(repeating: "y", count: 1 << 20))])
        expect("{{ ([s] * 1000)|tojson }}", .limit, string, ["s": .string(String(repeating: "y", count: 1 << 20))])
        expect("{{ s.replace('y', s) }}", .limit, string, ["s": .string(String(repeating: "y", count: 1 << 14))])
    }

    func testStringDoublingInANamespaceStops() {
        expect("{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
               .limit, "exceeds the sandbox limit of \(TemplateLimits.default.maxStringBytes) bytes")
        expect("{% set ns = namespace(s=[1]) %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
               .limit, "exceeds the sandbox limit of \(TemplateLimits.default.maxListCount) elements")
    }

    func testNestedLoopsRunOutOfSteps() {
        expect("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
               .limit, "more than \(TemplateLimits.default.maxSteps) evaluation steps")
        expect("{% for a in range(100000) %}{{ s.find('z') }}{% endfor %}", .limit, "evaluation steps",
               ["s": .string(String(repeating: "y", count: 1 << 20))])
        expect("{{ range(100000)|list|unique|list|length }}{{ (range(100000)|list + range(100000)|list)|unique|list|length }}",
               .limit, "evaluation steps")
        // A long strftime format costs a step per byte (the fuzzer's case: 1,003 messages each formatting 100,000 '%'
        // took 11 s of CPU within the old count).
        expect("{% for m in range(1003) %}{{ strftime_now('%' * 100000)|length }}{% endfor %}", .limit, "evaluation steps")
    }

    func testDeepSyntaxIsRefusedWhileParsing() {
        let depth = "template nesting exceeds the sandbox limit of \(TemplateLimits.default.maxNesting) levels"
        for source in [
            "{{ " + String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000) + " }}",
            String(repeating: "{% if true %}", count: 20_000) + "x" + String(repeating: "{% endif %}", count: 20_000),
            "{{ " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + " }}",
            "{{ " + String(repeating: "-", count: 10_000) + "1 }}",
            "{{ " + String(repeating: "not ", count: 10_000) + "1 }}",
            "{{ 1" + String(repeating: " + 1", count: 100_000) + " }}",
            "{{ x" + String(repeating: "|trim", count: 100_000) + " }}",
            "{{ x" + String(repeating: ".a", count: 100_000) + " }}",
            "{{ 1 if x else" + String(repeating: " 1 if x else", count: 10_000) + " 2 }}",
            "{% for " + String(repeating: "(", count: 10_000) + "a" + String(repeating: ")", count: 10_000) + " in x %}{% endfor %}",
        ] {
            XCTAssertThrowsError(try ChatTemplate(source)) { e in
                let e = e as? TemplateError
                XCTAssertEqual(e?.kind, .limit, String(source.prefix(40)))
                XCTAssertEqual(e?.message, depth)
                XCTAssertEqual(e?.line, 1)
            }
        }
        // The limit itself still parses and renders.
        let n = TemplateLimits.default.maxNesting - 1
        XCTAssertEqual(try ChatTemplate(String(repeating: "{% if true %}", count: n) + "x" + String(repeating: "{% endif %}", count: n)).render([:]), "x")
    }

    func testRunawayRecursionStops() {
        let depth = "maximum recursion depth exceeded (sandbox limit of \(TemplateLimits.default.maxCallDepth) nested evaluations)"
        expect("{% macro f(n) %}{{ f(n - 1) }}{% endmacro %}{{ f(10**6) }}", .limit, depth)
        expect("{% for n in t recursive %}{{ loop([n]) }}{% endfor %}", .limit, depth, ["t": [1]])
        // Jinja manages about 200 nested calls of a small macro; so does the sandbox.
        XCTAssertEqual(try ChatTemplate("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% else %}done{% endif %}{% endmacro %}{{ f(150) }}")
            .render([:]), "done")
    }

    func testDeepValuesAreRefused() {
        let depth = "values nested more than \(TemplateLimits.default.maxValueNesting) levels deep"
        // Printing or freeing a list 100,000 levels deep would overflow the stack.
        expect("{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}", .limit, depth)
        expect("{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = {'a': ns.x} %}{% endfor %}", .limit, depth)
        expect("{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = namespace(y=ns.x) %}{% endfor %}", .limit, depth)
        expect("{% set ns = namespace(x=1) %}{% set ns.x = ns %}{{ ns }}", .limit, depth)
        expect("{% set a = namespace(x=1) %}{% set b = namespace(x=a) %}{% set a.x = b %}{{ a }}", .limit, depth)
        // A namespace deepened after it was nested counts where it sits.
        expect("{% set ns = namespace(x=1) %}{% set outer = namespace(x=[ns]) %}{% for i in range(150) %}{% set outer.x = [outer.x] %}{% endfor %}"
               + "{% for i in range(150) %}{% set ns.x = [ns.x] %}{% endfor %}", .limit, depth)
        XCTAssertThrowsError(try TemplateValue(json: String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000))) { e in
            XCTAssertEqual((e as? TemplateError)?.kind, .json)
            XCTAssert((e as? TemplateError)?.message.contains("nested more than") == true)
        }
    }

    func testLimitsAreConfigurable() {
        let small = TemplateLimits(maxNesting: 5, maxValueNesting: 3, maxCallDepth: 50, maxStringBytes: 10, maxListCount: 4, maxSteps: 1_000)
        XCTAssertEqual(error("{{ ((((((1)))))) }}", limits: small)?.kind, .limit)
        XCTAssertEqual(error("{{ 'x' * 11 }}", limits: small)?.kind, .limit)
        XCTAssertEqual(error("{{ 'x' ~ 'yyyyyyyyyy' }}", limits: small)?.kind, .limit)
        XCTAssertEqual(error("{{ [1] * 5 }}", limits: small)?.kind, .limit)
        XCTAssertEqual(error("{{ [[[[1]]]] }}", limits: small)?.kind, .limit)
        XCTAssertEqual(error("{% for i in range(2000) %}{% endfor %}", limits: small)?.kind, .limit)
        XCTAssertEqual(error("abcdefghijk", limits: small)?.message, "string of 11 bytes exceeds the sandbox limit of 10 bytes")
        XCTAssertEqual(try ChatTemplate("{{ 'x' * 10 }}", limits: small).render([:]), "xxxxxxxxxx")
    }

    func testExplicitToolsInExtraReachTheTemplate() throws {
        let template = try ChatTemplate("{{ tools|tojson }}|{{ documents }}")
        let tools: TemplateValue = [["type": "function"]]
        let out = try template.renderChat(messages: [], addGenerationPrompt: false, bosToken: nil, eosToken: nil,
                                          extra: ["tools": tools, "documents": "d"])
        XCTAssertEqual(out, #"[{"type": "function"}]|d"#)
        let none = try template.renderChat(messages: [], addGenerationPrompt: false, bosToken: nil, eosToken: nil)
        XCTAssertEqual(none, "null|None")
    }
}
