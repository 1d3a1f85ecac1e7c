import ChatTemplates
import Foundation
import Tokenizers

/// Errors from turning conversations into model input.
public enum ChatError: Error, CustomStringConvertible {
    case noChatTemplate(directory: String)
    case template(String)
    case badMessages(String)

    public var description: String {
        switch self {
        case .noChatTemplate(let d):
            return "\(d) has no chat template (tokenizer_config.json 'chat_template' or chat_template.jinja)"
        case .template(let m): return "chat template: \(m)"
        case .badMessages(let m): return m
        }
    }
}

/// A model folder's tokenizer and chat template: renders conversations exactly as transformers'
/// `apply_chat_template` and tokenizes the result the way it does (no special tokens added:
/// the template writes BOS itself).
public final class ChatFormatter: @unchecked Sendable {
    public let tokenizer: Tokenizer
    public let template: ChatTemplate?
    public let directory: URL
    /// Fixed clock for templates that print today's date, so runs are reproducible when set.
    public var now: Date = Date()

    public init(directory: URL) throws {
        self.directory = directory
        tokenizer = try Tokenizer.load(directory: directory)
        if let source = tokenizer.config?.chatTemplate {
            do { template = try ChatTemplate(source) } catch { throw ChatError.template("\(error)") }
        } else {
            template = nil
        }
    }

    /// Renders `messages` (a JSON array of `{role, content, …}`) with the model's template.
    public func render(messages: TemplateValue, addGenerationPrompt: Bool = true,
                       extra: [String: TemplateValue] = [:]) throws -> String {
        guard let template else { throw ChatError.noChatTemplate(directory: directory.path) }
        do {
            return try template.renderChat(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                           bosToken: tokenizer.config?.bosToken, eosToken: tokenizer.config?.eosToken,
                                           extra: extra, now: now)
        } catch {
            throw ChatError.template("\(error)")
        }
    }

    /// The conversation `[system?, user]` for one instruction.
    public static func messages(user: String, system: String? = nil) -> TemplateValue {
        var list: [TemplateValue] = []
        if let system { list.append(.object(TemplateObject([("role", "system"), ("content", .string(system))]))) }
        list.append(.object(TemplateObject([("role", "user"), ("content", .string(user))])))
        return .array(list)
    }

    /// Rendered and tokenized prompt for one user instruction, generation prompt added.
    public func promptIds(user: String, system: String? = nil, extra: [String: TemplateValue] = [:]) throws -> [Int] {
        tokenizer.encode(try render(messages: Self.messages(user: user, system: system), extra: extra))
    }
}
