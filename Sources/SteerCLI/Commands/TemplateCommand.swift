import ChatTemplates
import Experiments
import Foundation

/// `steer template DIR --messages FILE.json`: the rendered prompt, exactly.
enum TemplateCommand: Command {
    static let spec = CommandSpec(
        name: "template", summary: "render a conversation with the model's chat template",
        positionals: [("DIR", "model or tokenizer folder with a chat template")],
        options: [
            OptionSpec("--messages", value: "FILE", help: "JSON file: a list of {role, content} (or {\"messages\": …, \"tools\": …})", required: true),
            OptionSpec("--no-generation-prompt", help: "do not append the assistant header"),
            OptionSpec("--set", value: "KEY=VALUE", help: "extra template variable (JSON value or plain string), repeatable; tools=[…] and documents=[…] are passed as apply_chat_template's own arguments",
                       repeatable: true),
        ],
        discussion: "Prints the rendered text with nothing added at the end.")

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let file = args.string("--messages") else { throw UsageError("give the conversation with --messages FILE") }
        guard let data = FileManager.default.contents(atPath: file) else { throw ModelDirectory.Missing(file) }
        let value: TemplateValue
        do { value = try TemplateValue(json: data) } catch { throw UsageError("\(file): not valid JSON (\(error))") }
        var messages = value
        var extra = try extraVariables(args)
        if case .object(let obj) = value {
            guard let m = obj["messages"] else { throw UsageError("\(file): an object needs a 'messages' list") }
            messages = m
            for key in ["tools", "documents"] { if let v = obj[key] { extra[key] = v } }
        }
        guard case .array = messages else { throw UsageError("\(file): messages must be a JSON list") }
        let formatter = try ChatFormatter(directory: dir)
        out.print(try formatter.render(messages: messages, addGenerationPrompt: !args.flag("--no-generation-prompt"),
                                       extra: extra), terminator: "")
    }

    /// `--set key=value` pairs; values parse as JSON when they can (true, 3, "x", [..]), else as strings.
    static func extraVariables(_ args: ParsedArguments) throws -> [String: TemplateValue] {
        var out: [String: TemplateValue] = [:]
        for item in args.strings("--set") {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw UsageError("--set expects KEY=VALUE, got '\(item)'")
            }
            let key = String(item[..<eq]), raw = String(item[item.index(after: eq)...])
            out[key] = (try? TemplateValue(json: raw)) ?? .string(raw)
        }
        return out
    }
}
