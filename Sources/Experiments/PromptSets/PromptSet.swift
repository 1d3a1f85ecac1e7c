import Foundation
import ModelFormats

/// One prompt read from a prompt file.
public struct PromptRow: Sendable, Equatable, Hashable, Codable {
    /// The instruction text (for `messages` rows: the content of the last user message).
    public var text: String
    /// An optional per-row system prompt (`system` field or CSV column).
    public var system: String?
    /// A full conversation (`messages` array of a JSON/JSONL object) as JSON bytes with sorted keys,
    /// for the caller to decode; nil when the row is a plain instruction.
    public var messagesJSON: Data?
    /// 1-based line of the row in its file (for JSON files: the line where the array element starts;
    /// for CSV: the line where the record starts).
    public var line: Int

    public init(text: String, system: String? = nil, messagesJSON: Data? = nil, line: Int) {
        self.text = text
        self.system = system
        self.messagesJSON = messagesJSON
        self.line = line
    }

    /// The key used to drop duplicates: trimmed text, system prompt and conversation.
    var dedupKey: String {
        let messages = messagesJSON.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return String(PromptFileParser.trimmed(text[...])) + "\u{0}" + (system ?? "") + "\u{0}" + messages
    }
}

/// The layout of a prompt file, chosen by extension.
public enum PromptFormat: String, Sendable, Codable, CaseIterable {
    /// `.json`: a list of strings and/or objects.
    case json
    /// `.jsonl` / `.ndjson`: one JSON string or object per line.
    case jsonl
    /// `.csv`: RFC 4180 with a header row.
    case csv
    /// `.txt` / `.text`: one prompt per line.
    case text

    /// The format for a file's extension (case-insensitive).
    public static func forFile(_ url: URL) throws -> PromptFormat {
        let ext = url.pathExtension.lowercased()
        switch ext {
        case "json": return .json
        case "jsonl", "ndjson": return .jsonl
        case "csv": return .csv
        case "txt", "text": return .text
        default: throw PromptSetError.unknownExtension(path: url.path, ext: url.pathExtension)
        }
    }
}

/// The prompts of one file, duplicates removed, with the file's SHA-256 for provenance.
///
/// Field rules (JSON, JSONL, CSV): the prompt is taken from the caller's `field` when given,
/// otherwise from the first of `instruction`, `prompt`, `goal` the row has. A JSON/JSONL object
/// without those fields but with a `messages` array (and no explicit `field`) uses the content
/// of its last `user` message as text. `system` (string) is read when present; `messages` is
/// kept as JSON bytes whenever present. Text is kept as written; rows whose text is blank are
/// an error in structured files and skipped in plain text files.
///
/// Duplicates: a row whose trimmed text (and system prompt and conversation) equals an earlier
/// row's is dropped; `duplicateLines` lists the lines dropped.
public struct PromptSet: Sendable, Equatable {
    /// The fields tried, in order, when the caller names none.
    public static let defaultFields = ["instruction", "prompt", "goal"]
    /// Prompt files larger than this are refused (1 GiB: far above any prompt set, and the whole
    /// file is held in memory while it is parsed).
    public static let maxFileSize = 1 << 30

    /// The path as given.
    public let path: String
    public let format: PromptFormat
    /// The prompts in file order.
    public let rows: [PromptRow]
    /// Lines of rows dropped as duplicates of earlier rows.
    public let duplicateLines: [Int]
    /// SHA-256 of the file's bytes, 64 lowercase hex digits.
    public let sha256: String

    /// How many duplicates were dropped.
    public var duplicatesDropped: Int { duplicateLines.count }
    /// Number of prompts kept.
    public var count: Int { rows.count }
    /// The prompt texts in file order.
    public var texts: [String] { rows.map(\.text) }

    /// Reads a prompt file, choosing the format by extension.
    /// - Parameters:
    ///   - url: a .json, .jsonl/.ndjson, .csv or .txt/.text file.
    ///   - field: the field (JSON key or CSV column) holding the prompt; nil tries
    ///     `instruction`, `prompt`, `goal` in that order.
    public static func load(_ url: URL, field: String? = nil) throws -> PromptSet {
        let format = try PromptFormat.forFile(url)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw PromptSetError.missingFile(path: url.path)
        }
        let data: Data
        // Only regular files (a FIFO would block, a device never end), at most `maxFileSize` bytes.
        do { data = try RegularFile.read(url, limit: maxFileSize) } catch let FormatError.io(_, reason) {
            throw PromptSetError.unreadable(path: url.path, reason: reason)
        }
        return try parse(data, format: format, path: url.path, field: field)
    }

    /// Parses prompt-file bytes already in memory; `path` is used in messages and provenance.
    public static func parse(_ data: Data, format: PromptFormat, path: String, field: String? = nil) throws -> PromptSet {
        let text = try PromptFileParser.decodeUTF8(data, path: path)
        let parser = PromptFileParser(path: path, field: field)
        let parsed: [PromptRow]
        switch format {
        case .json: parsed = try parser.parseJSON(text)
        case .jsonl: parsed = try parser.parseJSONL(text)
        case .csv: parsed = try parser.parseCSV(text)
        case .text: parsed = parser.parseText(text)
        }
        var seen = Set<String>()
        var rows: [PromptRow] = []
        var duplicates: [Int] = []
        for row in parsed {
            if seen.insert(row.dedupKey).inserted { rows.append(row) } else { duplicates.append(row.line) }
        }
        guard !rows.isEmpty else { throw PromptSetError.empty(path: path) }
        return PromptSet(path: path, format: format, rows: rows, duplicateLines: duplicates,
                         sha256: SHA256.hex(of: data))
    }

    /// A set built from rows in memory (no file); `sha256` hashes the texts joined by newlines.
    public init(rows: [PromptRow], path: String = "<memory>", format: PromptFormat = .text) {
        self.path = path
        self.format = format
        self.rows = rows
        self.duplicateLines = []
        self.sha256 = SHA256.hex(of: Array(rows.map(\.text).joined(separator: "\n").utf8))
    }

    private init(path: String, format: PromptFormat, rows: [PromptRow], duplicateLines: [Int], sha256: String) {
        self.path = path
        self.format = format
        self.rows = rows
        self.duplicateLines = duplicateLines
        self.sha256 = sha256
    }
}
