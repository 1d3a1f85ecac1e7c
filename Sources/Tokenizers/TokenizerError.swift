import Foundation

/// Errors raised while loading a tokenizer. Every message names the file and, where it applies,
/// the JSON key or line that was wrong.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The folder has neither `tokenizer.json` nor `qwen.tiktoken`.
    case missingTokenizerFiles(directory: String)
    /// A file could not be read from disk.
    case unreadableFile(path: String, reason: String)
    /// A file is not valid JSON (or not a JSON object at the top).
    case malformedJSON(file: String, reason: String)
    /// A required key is absent.
    case missingKey(file: String, key: String)
    /// A key holds a value of the wrong shape or an impossible value.
    case invalidValue(file: String, key: String, reason: String)
    /// A component type (model, normalizer, pre-tokenizer, decoder, post-processor) this toolkit does not implement.
    case unsupportedType(file: String, component: String, type: String)
    /// A regular expression in the file does not compile.
    case invalidRegex(file: String, pattern: String, reason: String)
    /// A line of a `.tiktoken` file is not `BASE64 RANK`.
    case invalidTiktokenLine(file: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .missingTokenizerFiles(let dir):
            return "no tokenizer.json or qwen.tiktoken in \(dir)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .malformedJSON(let file, let reason):
            return "\(file): malformed JSON: \(reason)"
        case .missingKey(let file, let key):
            return "\(file): missing key '\(key)'"
        case .invalidValue(let file, let key, let reason):
            return "\(file): invalid value for '\(key)': \(reason)"
        case .unsupportedType(let file, let component, let type):
            return "\(file): unsupported \(component) type '\(type)'"
        case .invalidRegex(let file, let pattern, let reason):
            return "\(file): invalid regex \(pattern): \(reason)"
        case .invalidTiktokenLine(let file, let line, let reason):
            return "\(file):\(line): \(reason)"
        }
    }
}
