import Foundation

/// The parts of `tokenizer_config.json` a chat runtime needs.
public struct TokenizerConfig: Sendable {
    /// The chat template: a sibling `chat_template.jinja` wins (as in transformers), then the
    /// `chat_template` string, then the template named "default" when it is a list.
    public var chatTemplate: String?
    /// All templates when `chat_template` is a list of `{name, template}`.
    public var namedChatTemplates: [String: String]
    public var bosToken: String?
    public var eosToken: String?
    public var padToken: String?
    public var unkToken: String?
    public var addBosToken: Bool?
    public var addEosToken: Bool?
    /// nil when absent or when transformers' "unbounded" sentinel (1e30) is used.
    public var modelMaxLength: Int?
    /// `added_tokens_decoder`, by id.
    public var addedTokensDecoder: [Int: AddedToken]

    /// Parses tokenizer_config.json `data`; `file` names it in errors.
    public init(data: Data, file: String = "tokenizer_config.json") throws {
        let json = try JSONObject.parse(data, file: file)
        namedChatTemplates = [:]
        chatTemplate = nil
        if let s = json.dict["chat_template"] as? String {
            chatTemplate = s
        } else if let list = try json.objects("chat_template") {
            for entry in list {
                namedChatTemplates[try entry.requiredString("name")] = try entry.requiredString("template")
            }
            chatTemplate = namedChatTemplates["default"]
        }
        func token(_ key: String) throws -> String? {
            if let s = try? json.string(key) { return s }
            if let o = try json.object(key) { return try o.requiredString("content") }
            return nil
        }
        bosToken = try token("bos_token")
        eosToken = try token("eos_token")
        padToken = try token("pad_token")
        unkToken = try token("unk_token")
        addBosToken = try json.bool("add_bos_token")
        addEosToken = try json.bool("add_eos_token")
        if let d = try json.double("model_max_length"), d >= 0, d < 1e18 { modelMaxLength = Int(d) } else { modelMaxLength = nil }
        addedTokensDecoder = [:]
        if let dec = try json.object("added_tokens_decoder") {
            for key in dec.dict.keys.sorted() {
                guard let id = Int(key) else { throw dec.invalid(key, "key is not an integer id") }
                guard let entry = try dec.object(key) else { continue }
                addedTokensDecoder[id] = try AddedToken(json: entry, id: id)
            }
        }
    }

    /// Reads `tokenizer_config.json` (and `chat_template.jinja`) from `directory`; nil when neither exists.
    public static func load(directory: URL) throws -> TokenizerConfig? {
        let url = directory.appendingPathComponent("tokenizer_config.json")
        let jinja = directory.appendingPathComponent("chat_template.jinja")
        let fm = FileManager.default
        var config: TokenizerConfig?
        if fm.fileExists(atPath: url.path) {
            config = try TokenizerConfig(data: try Tokenizer.readFile(url), file: url.path)
        }
        if fm.fileExists(atPath: jinja.path) {
            let text = String(decoding: try Tokenizer.readFile(jinja), as: UTF8.self)
            if config == nil { config = TokenizerConfig() }
            config?.chatTemplate = text
        }
        return config
    }

    /// An empty configuration.
    public init() {
        namedChatTemplates = [:]
        addedTokensDecoder = [:]
    }
}
