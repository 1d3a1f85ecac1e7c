import ChatTemplates
import Foundation
import XCTest
@testable import SteerCLI

/// `steer template` with tools, given as `--set tools=[…]` or inside the messages file, renders exactly what
/// transformers' `apply_chat_template(..., tools=...)` does (the expected text is from the chat-template fixtures).
final class TemplateCommandTests: XCTestCase {
    static let fixtures = CommandTests.fixtures

    func testToolsReachTheTemplate() throws {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("steer-template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }

        // A model folder: a Qwen2-layout tokenizer and Qwen2.5's chat template, which lists the tools.
        let chat = Self.fixtures.appendingPathComponent("chat-templates")
        let source = try String(contentsOf: chat.appendingPathComponent("templates/Qwen-Qwen2.5-7B-Instruct.jinja"), encoding: .utf8)
        // Key order matters to the rendering (tojson): read and write the cases with order-preserving JSON.
        let fixture = try TemplateValue(json: Data(contentsOf: chat.appendingPathComponent("cases/Qwen-Qwen2.5-7B-Instruct.json")))
        guard case .object(let file) = fixture, case .array(let cases)? = file["cases"] else { return XCTFail("no cases") }
        let json = try ChatTemplate("{{ v|tojson }}")
        func write(_ value: TemplateValue, _ url: URL) throws { try Data(try json.render(["v": value]).utf8).write(to: url) }
        let model = temp.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("tokenizers/qwen2/tokenizer.json"),
                                         to: model.appendingPathComponent("tokenizer.json"))

        var checked = 0
        for case .object(let c) in cases {
            guard let tools = c["tools"], case .array = tools, case .none? = c["documents"], case .object(let extra)? = c["extra"],
                  extra.count == 0, case .string(let expected)? = c["expected"], let messages = c["messages"] else { continue }
            let config: TemplateValue = ["chat_template": .string(source), "bos_token": c["bos_token"] ?? .none,
                                         "eos_token": c["eos_token"] ?? .none]
            try write(config, model.appendingPathComponent("tokenizer_config.json"))
            let name = "\(c["name"].map { "\($0)" } ?? "")"
            let flags: [String] = { if case .bool(false)? = c["add_generation_prompt"] { return ["--no-generation-prompt"] }; return [] }()

            let list = temp.appendingPathComponent("messages.json")
            try write(messages, list)
            let toolsJSON = try json.render(["v": tools])
            let (s1, viaSet, err1) = steer(["template", model.path, "--messages", list.path, "--set", "tools=" + toolsJSON] + flags)
            XCTAssertEqual(s1, 0, err1)
            XCTAssertEqual(viaSet, expected, "--set tools= for \(name)")

            let object = temp.appendingPathComponent("conversation.json")
            try write(["messages": messages, "tools": tools], object)
            let (s2, viaFile, err2) = steer(["template", model.path, "--messages", object.path] + flags)
            XCTAssertEqual(s2, 0, err2)
            XCTAssertEqual(viaFile, expected, "\"tools\" in the messages file for \(name)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 3)
    }

    func testHostileTemplateIsAClearError() throws {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("steer-template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("tokenizers/qwen2/tokenizer.json"),
                                         to: temp.appendingPathComponent("tokenizer.json"))
        let messages = temp.appendingPathComponent("m.json")
        try Data(#"[{"role": "user", "content": "Hi"}]"#.utf8).write(to: messages)
        for template in ["{{ 'x' * 10**12 }}", "{{ (-2**63)//-1 }}", String(repeating: "{% if true %}", count: 20_000)] {
            try JSONSerialization.data(withJSONObject: ["chat_template": template])
                .write(to: temp.appendingPathComponent("tokenizer_config.json"))
            let (status, _, err) = steer(["template", temp.path, "--messages", messages.path])
            XCTAssertEqual(status, 1, err)
            XCTAssert(err.contains("limit error") || err.contains("overflow error"), err)
        }
    }
}
