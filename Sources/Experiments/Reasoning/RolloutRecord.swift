import Basics
import ChatTemplates
import Foundation
import Models

/// One prompt of a reasoning experiment: a user message (with optional system prompt) or a full
/// conversation, plus the optional `id`, `label` and `twin_of` a prompt file may carry.
public struct ReasoningPrompt: Sendable, Equatable, Codable {
    public var id: String
    public var text: String
    public var system: String?
    /// A full `messages` array as JSON text (rendered instead of `text`/`system` when set).
    public var messagesJSON: String?
    /// Expected answer for this prompt, when the file gives one (`label`).
    public var label: String?
    /// The id of this prompt's counterfactual partner (`twin_of`), when the file gives one.
    public var twinOf: String?
    /// 1-based line in the source file.
    public var line: Int

    public init(id: String, text: String, system: String? = nil, messagesJSON: String? = nil, label: String? = nil,
                twinOf: String? = nil, line: Int) {
        self.id = id; self.text = text; self.system = system; self.messagesJSON = messagesJSON
        self.label = label; self.twinOf = twinOf; self.line = line
    }

    enum CodingKeys: String, CodingKey {
        case id, text = "prompt", system, messagesJSON = "messages_json", label, twinOf = "twin_of", line
    }

    /// The chat prompt text: the conversation rendered with the model's template, generation prompt on.
    /// `defaultSystem` applies when the row has no system prompt of its own.
    public func render(_ formatter: ChatFormatter, defaultSystem: String? = nil) throws -> String {
        if let messagesJSON {
            let value: TemplateValue
            do { value = try TemplateValue(json: messagesJSON) } catch {
                throw ReasoningError.badField(path: "prompt \(id)", line: line, field: "messages", reason: "\(error)")
            }
            return try formatter.render(messages: value, addGenerationPrompt: true)
        }
        return try formatter.render(messages: ChatFormatter.messages(user: text, system: system ?? defaultSystem))
    }

    /// Loads prompts with `PromptSet` (strings, or objects with `prompt`/`instruction`, optional `system`,
    /// or `messages`), adding `id`, `label` and `twin_of` from JSONL objects that have them. Rows without an
    /// id get `p<line>`.
    public static func load(_ url: URL, field: String? = nil) throws -> [ReasoningPrompt] {
        let set = try PromptSet.load(url, field: field)
        var extras: [Int: JSONValue] = [:]
        if set.format == .jsonl, let data = FileManager.default.contents(atPath: url.path) {
            let text = String(decoding: data, as: UTF8.self)
            let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text   // as PromptSet drops a byte-order mark
            for (i, line) in body.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if let obj = try? JSONValue.parse(String(line)), obj.members != nil { extras[i + 1] = obj }
            }
        }
        return set.rows.map { row in
            // A string, or a number as the file writes it (`"id": 7`).
            func text(_ key: String) -> String? {
                guard let v = extras[row.line]?[key] else { return nil }
                return v.string ?? v.numberText
            }
            return ReasoningPrompt(id: text("id") ?? "p\(row.line)", text: row.text, system: row.system,
                                   messagesJSON: row.messagesJSON.map { String(decoding: $0, as: UTF8.self) },
                                   label: text("label"), twinOf: text("twin_of"), line: row.line)
        }
    }
}

/// One completion of a rollout run (a line of `rollouts.jsonl`).
public struct RolloutRecord: Sendable, Equatable, Codable {
    public var prompt: ReasoningPrompt
    /// 0-based sample index for this prompt (0 for greedy).
    public var sample: Int
    /// The reply as decoded text (special tokens skipped).
    public var completion: String
    public var completionTokens: Int
    /// The reply's token ids as generated (EOS included when it ended the reply): forced prefixes are cut
    /// from these, never re-tokenized from `completion`. Nil in files written before Steer recorded them.
    public var tokens: [Int]?
    public var finish: FinishReason
    /// Reasoning R (strict span, else first lenient span); nil when missing.
    public var reasoning: String?
    /// Whitespace between the reasoning's closing tag and the answer's opening tag.
    public var separator: String?
    public var wellFormed: Bool
    public var strictAnswer: String?
    /// The lenient answer (normalised; nil when missing or not allowed): the answer y of SPEC §4.
    public var answer: String?
    /// The seed used for this sample (nil when greedy).
    public var seed: UInt64?

    public init(prompt: ReasoningPrompt, sample: Int, completion: String, completionTokens: Int, tokens: [Int]? = nil,
                finish: FinishReason, parsed: ParsedTrace, seed: UInt64?) {
        self.prompt = prompt; self.sample = sample; self.completion = completion
        self.completionTokens = completionTokens; self.tokens = tokens; self.finish = finish
        reasoning = parsed.reasoning; separator = parsed.separator; wellFormed = parsed.strictValid
        strictAnswer = parsed.strictAnswer; answer = parsed.lenientAnswer; self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case prompt, sample, completion, completionTokens = "completion_tokens", tokens, finish, reasoning, separator
        case wellFormed = "well_formed", strictAnswer = "strict_answer", answer, seed
    }

    /// Reads a rollouts JSONL file; a malformed line or missing field is an error naming the line.
    public static func readAll(_ url: URL) throws -> [(line: Int, record: RolloutRecord)] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw PromptSetError.missingFile(path: url.path)
        }
        var out: [(Int, RolloutRecord)] = []
        for (i, raw) in data.split(separator: 0x0a, omittingEmptySubsequences: false).enumerated() {
            let line = i + 1
            guard !raw.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0d }) else { continue }
            do {
                out.append((line, try JSONDecoder().decode(RolloutRecord.self, from: Data(raw))))
            } catch let DecodingError.keyNotFound(key, context) {
                let path = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
                throw ReasoningError.missingField(path: url.path, line: line, field: path)
            } catch let DecodingError.typeMismatch(_, context) {
                throw ReasoningError.badField(path: url.path, line: line, field: context.codingPath.map(\.stringValue).joined(separator: "."),
                                              reason: context.debugDescription)
            } catch let DecodingError.valueNotFound(_, context) {
                throw ReasoningError.badField(path: url.path, line: line, field: context.codingPath.map(\.stringValue).joined(separator: "."),
                                              reason: "is null")
            } catch let DecodingError.dataCorrupted(context) {
                let field = context.codingPath.map(\.stringValue).joined(separator: ".")
                if field.isEmpty { throw ReasoningError.malformedLine(path: url.path, line: line, reason: "not valid JSON") }
                throw ReasoningError.badField(path: url.path, line: line, field: field, reason: context.debugDescription)
            } catch {
                throw ReasoningError.malformedLine(path: url.path, line: line, reason: "\(error)")
            }
        }
        guard !out.isEmpty else { throw ReasoningError.empty(path: url.path) }
        return out
    }
}
