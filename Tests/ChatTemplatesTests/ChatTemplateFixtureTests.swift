import Foundation
import XCTest
@testable import ChatTemplates

/// Renders every real chat template over the recorded conversations and compares with transformers byte for byte.
final class ChatTemplateFixtureTests: XCTestCase {
    func testRealTemplatesMatchTransformers() throws {
        let casesDir = Fixtures.root.appendingPathComponent("cases")
        let files = try FileManager.default.contentsOfDirectory(atPath: casesDir.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertFalse(files.isEmpty)
        var totalPass = 0, total = 0, toolCases = 0
        var report: [String] = []
        for file in files {
            let fixture = try Fixtures.load("cases/" + file)
            let templateFile = fixture["template"]?.stringValue ?? ""
            let source = try String(contentsOf: Fixtures.root.appendingPathComponent("templates/" + templateFile), encoding: .utf8)
            let cases = fixture["cases"]?.arrayValue ?? []
            var pass = 0
            var failures: [String] = []
            let template: ChatTemplate
            do { template = try ChatTemplate(source) } catch {
                report.append("\(file): 0/\(cases.count) (parse error: \(error))")
                total += cases.count
                continue
            }
            for c in cases {
                let name = c["name"]?.stringValue ?? "?"
                var extra: [String: TemplateValue] = [:]
                for (k, v) in c["extra"]?.objectValue?.pairs ?? [] { extra[k] = v }
                func opt(_ key: String) -> TemplateValue? {
                    if let v = c[key], case .none = v { return nil }
                    return c[key]
                }
                let agp: Bool = { if case .bool(let b) = c["add_generation_prompt"] ?? TemplateValue.none { return b }; return false }()
                do {
                    let out = try template.renderChat(messages: c["messages"] ?? .array([]), addGenerationPrompt: agp,
                                                      bosToken: c["bos_token"]?.stringValue, eosToken: c["eos_token"]?.stringValue,
                                                      tools: opt("tools"), documents: opt("documents"), extra: extra, now: Fixtures.now)
                    if let tools = opt("tools") {
                        // `steer template --set tools=[…]` hands the tools over as an extra variable: same rendering.
                        var viaExtra = extra
                        viaExtra["tools"] = tools
                        let second = try? template.renderChat(messages: c["messages"] ?? .array([]), addGenerationPrompt: agp,
                                                              bosToken: c["bos_token"]?.stringValue, eosToken: c["eos_token"]?.stringValue,
                                                              documents: opt("documents"), extra: viaExtra, now: Fixtures.now)
                        toolCases += 1
                        XCTAssertEqual(second, out, "\(file) \(name): tools given as an extra variable render differently")
                    }
                    if let expected = c["expected"]?.stringValue {
                        if out == expected && out.unicodeScalars.elementsEqual(expected.unicodeScalars) { pass += 1 }
                        else { failures.append("\(name): \(firstDifference(out, expected))") }
                    } else {
                        failures.append("\(name): rendered but transformers raised \(c["error"].map { "\($0)" } ?? "")")
                    }
                } catch let error as TemplateError {
                    guard let expectedError = c["error"] else { failures.append("\(name): threw \(error)"); continue }
                    if expectedError["type"]?.stringValue == "TemplateError" {
                        // raise_exception: the message must reach the caller verbatim.
                        if error.kind == .raised && error.message == expectedError["message"]?.stringValue { pass += 1 }
                        else { failures.append("\(name): threw \(error), expected raise_exception \(expectedError["message"]?.stringValue ?? "")") }
                    } else if error.kind != .raised {
                        pass += 1
                    } else {
                        failures.append("\(name): raise_exception(\(error.message)) but transformers raised \(expectedError["type"]?.stringValue ?? "")")
                    }
                }
            }
            totalPass += pass
            total += cases.count
            report.append("\(file.replacingOccurrences(of: ".json", with: "")): \(pass)/\(cases.count)")
            for f in failures.prefix(3) { report.append("    FAIL \(f)") }
        }
        print("Chat template fixtures: \(totalPass)/\(total) (\(toolCases) with tools, also rendered with tools as an extra variable)\n"
              + report.joined(separator: "\n"))
        XCTAssertGreaterThan(toolCases, 0)
        XCTAssertEqual(totalPass, total, "see the per-template report above")
    }
}
