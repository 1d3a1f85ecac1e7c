import Foundation

/// Why a prompt file could not be read or split. Every message names the file and, where
/// there is one, the line (or JSON array element) and the field involved.
public enum PromptSetError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The file does not exist.
    case missingFile(path: String)
    /// The file exists but could not be read.
    case unreadable(path: String, reason: String)
    /// The extension is none of .json, .jsonl, .ndjson, .csv, .txt, .text.
    case unknownExtension(path: String, ext: String)
    /// No prompts were left (after skipping blank lines).
    case empty(path: String)
    /// A line is not valid UTF-8.
    case notUTF8(path: String, line: Int)
    /// The JSON does not parse; `line` is set for JSONL (and for JSON when it is known).
    case malformedJSON(path: String, line: Int?, reason: String)
    /// The CSV is malformed (unterminated quote, text after a closing quote, ...).
    case malformedCSV(path: String, line: Int, reason: String)
    /// A row lacks the prompt field; `available` lists the fields (or CSV columns) it has.
    case missingField(path: String, line: Int, wanted: [String], available: [String])
    /// A row has the field but it is unusable (wrong type, empty text, bad messages, ...).
    case badRow(path: String, line: Int, field: String, reason: String)
    /// The set has fewer prompts than the requested split sizes need.
    case tooSmall(path: String, available: Int, requested: Int, detail: String)
    /// The same prompt occurs in two splits given as separate files.
    case overlap(first: String, firstLine: Int, second: String, secondLine: Int, text: String)
    /// Split sizes that make no sense (negative).
    case badSizes(String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): no such file"
        case .unreadable(let path, let reason):
            return "\(path): cannot read (\(reason))"
        case .unknownExtension(let path, let ext):
            let shown = ext.isEmpty ? "no extension" : "extension '.\(ext)'"
            return "\(path): unknown prompt file format (\(shown)); use .json, .jsonl, .csv or .txt"
        case .empty(let path):
            return "\(path): no prompts in file"
        case .notUTF8(let path, let line):
            return "\(path):\(line): line is not valid UTF-8"
        case .malformedJSON(let path, let line, let reason):
            let at = line.map { "\(path):\($0)" } ?? path
            return "\(at): malformed JSON (\(reason))"
        case .malformedCSV(let path, let line, let reason):
            return "\(path):\(line): malformed CSV (\(reason))"
        case .missingField(let path, let line, let wanted, let available):
            let has = available.isEmpty ? "no fields" : "fields: " + available.joined(separator: ", ")
            let want = wanted.count == 1 ? "no field '\(wanted[0])'"
                : "none of the fields " + wanted.map { "'\($0)'" }.joined(separator: ", ")
            return "\(path):\(line): row has \(want) (it has \(has))"
        case .badRow(let path, let line, let field, let reason):
            return "\(path):\(line): field '\(field)': \(reason)"
        case .tooSmall(let path, let available, let requested, let detail):
            return "\(path): has \(available) prompts but the split needs \(requested) (\(detail))"
        case .overlap(let first, let firstLine, let second, let secondLine, let text):
            let short = text.count > 60 ? String(text.prefix(57)) + "..." : text
            return "\(second):\(secondLine): prompt also in \(first):\(firstLine) (\"\(short)\")"
        case .badSizes(let message):
            return "split sizes: \(message)"
        }
    }

    public var errorDescription: String? { description }
}
