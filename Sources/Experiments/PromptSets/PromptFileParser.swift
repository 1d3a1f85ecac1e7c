import Foundation

/// Turns the text of one prompt file into rows, applying the field rules documented on `PromptSet`.
struct PromptFileParser {
    let path: String
    let field: String?

    /// Candidate field names, in order.
    var candidates: [String] { field.map { [$0] } ?? PromptSet.defaultFields }

    // MARK: Bytes

    /// Decodes UTF-8 (dropping a byte-order mark), naming the first line that is not valid UTF-8.
    static func decodeUTF8(_ data: Data, path: String) throws -> String {
        if let text = String(validating: data, as: UTF8.self) {
            return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        }
        var line = 1
        var start = data.startIndex
        for index in data.indices where data[index] == 0x0A {
            if String(validating: data[start..<index], as: UTF8.self) == nil { break }
            line += 1
            start = data.index(after: index)
        }
        throw PromptSetError.notUTF8(path: path, line: line)
    }

    // MARK: Plain text

    /// One prompt per line (LF or CRLF); blank lines are skipped.
    func parseText(_ text: String) -> [PromptRow] {
        var rows: [PromptRow] = []
        for (index, raw) in Self.lines(text).enumerated() {
            if Self.trimmed(raw, .whitespaces).isEmpty { continue }
            rows.append(PromptRow(text: String(raw), line: index + 1))
        }
        return rows
    }

    // MARK: JSON and JSONL

    /// A JSON list of strings and/or objects.
    func parseJSON(_ text: String) throws -> [PromptRow] {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            throw PromptSetError.malformedJSON(path: path, line: nil, reason: Self.reason(error))
        }
        guard let items = value as? [Any] else {
            throw PromptSetError.malformedJSON(path: path, line: nil,
                                               reason: "expected a list of strings or objects, found \(Self.kind(value))")
        }
        let lines = JSONElementLines.topLevel(text)
        return try items.enumerated().map { index, item in
            try row(from: item, line: index < lines.count ? lines[index] : index + 1)
        }
    }

    /// One JSON string or object per line; blank lines are skipped.
    func parseJSONL(_ text: String) throws -> [PromptRow] {
        var rows: [PromptRow] = []
        for (index, raw) in Self.lines(text).enumerated() {
            let trimmed = String(Self.trimmed(raw))
            if trimmed.isEmpty { continue }
            let value: Any
            do {
                value = try JSONSerialization.jsonObject(with: Data(trimmed.utf8), options: [.fragmentsAllowed])
            } catch {
                throw PromptSetError.malformedJSON(path: path, line: index + 1, reason: Self.reason(error))
            }
            rows.append(try row(from: value, line: index + 1))
        }
        return rows
    }

    /// A row from one JSON value: a string, or an object following the field rules.
    func row(from value: Any, line: Int) throws -> PromptRow {
        if let text = value as? String {
            return PromptRow(text: try nonBlank(text, line: line, field: "(string)"), line: line)
        }
        guard let object = value as? [String: Any] else {
            throw PromptSetError.badRow(path: path, line: line, field: "(row)",
                                        reason: "expected a string or an object, found \(Self.kind(value))")
        }
        let system = try optionalString(object["system"], line: line, field: "system")
        var messagesJSON: Data?
        var lastUser: String?
        if let messages = object["messages"] {
            (messagesJSON, lastUser) = try conversation(messages, line: line)
        }
        if let name = candidates.first(where: { object[$0] != nil }), let raw = object[name] {
            guard let text = raw as? String else {
                throw PromptSetError.badRow(path: path, line: line, field: name,
                                            reason: "expected a string, found \(Self.kind(raw))")
            }
            return PromptRow(text: try nonBlank(text, line: line, field: name), system: system,
                             messagesJSON: messagesJSON, line: line)
        }
        if field == nil, messagesJSON != nil {
            guard let text = lastUser else {
                throw PromptSetError.badRow(path: path, line: line, field: "messages",
                                            reason: "no user message with string content")
            }
            return PromptRow(text: text, system: system, messagesJSON: messagesJSON, line: line)
        }
        let wanted = field == nil ? candidates + ["messages"] : candidates
        throw PromptSetError.missingField(path: path, line: line, wanted: wanted, available: object.keys.sorted())
    }

    /// Checks a `messages` value (a list of objects with string `role`) and re-encodes it with sorted keys.
    private func conversation(_ value: Any, line: Int) throws -> (Data, String?) {
        guard let messages = value as? [Any] else {
            throw PromptSetError.badRow(path: path, line: line, field: "messages",
                                        reason: "expected a list of messages, found \(Self.kind(value))")
        }
        var lastUser: String?
        for (index, item) in messages.enumerated() {
            guard let message = item as? [String: Any], let role = message["role"] as? String else {
                throw PromptSetError.badRow(path: path, line: line, field: "messages",
                                            reason: "message \(index) is not an object with a string 'role'")
            }
            if role == "user", let content = message["content"] as? String { lastUser = content }
        }
        do {
            return (try JSONSerialization.data(withJSONObject: messages, options: [.sortedKeys]), lastUser)
        } catch {
            throw PromptSetError.badRow(path: path, line: line, field: "messages", reason: Self.reason(error))
        }
    }

    private func optionalString(_ value: Any?, line: Int, field: String) throws -> String? {
        guard let value, !(value is NSNull) else { return nil }
        guard let text = value as? String else {
            throw PromptSetError.badRow(path: path, line: line, field: field,
                                        reason: "expected a string, found \(Self.kind(value))")
        }
        return text
    }

    private func nonBlank(_ text: String, line: Int, field: String) throws -> String {
        guard !Self.trimmed(text[...]).isEmpty else {
            throw PromptSetError.badRow(path: path, line: line, field: field, reason: "prompt is empty")
        }
        return text
    }

    // MARK: CSV

    /// A CSV file with a header row; the prompt column is `field` or the first default present
    /// (header names compared trimmed and case-insensitively); a `system` column is optional.
    func parseCSV(_ text: String) throws -> [PromptRow] {
        let records = try CSVReader.records(text, path: path)
        guard let header = records.first else { throw PromptSetError.empty(path: path) }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        func column(_ name: String) -> Int? {
            names.firstIndex(of: name) ?? names.firstIndex { $0.lowercased() == name.lowercased() }
        }
        guard let (name, textColumn) = candidates.lazy.compactMap({ c in column(c).map { (c, $0) } }).first else {
            throw PromptSetError.missingField(path: path, line: header.line, wanted: candidates, available: names)
        }
        let systemColumn = column("system")
        var rows: [PromptRow] = []
        for record in records.dropFirst() {
            if record.fields == [""] { continue }
            guard textColumn < record.fields.count else {
                throw PromptSetError.missingField(path: path, line: record.line, wanted: [name],
                                                  available: Array(names.prefix(record.fields.count)))
            }
            let text = try nonBlank(record.fields[textColumn], line: record.line, field: name)
            var system: String?
            if let systemColumn, systemColumn < record.fields.count, !record.fields[systemColumn].isEmpty {
                system = record.fields[systemColumn]
            }
            rows.append(PromptRow(text: text, system: system, line: record.line))
        }
        return rows
    }

    // MARK: Helpers

    /// `text` without leading and trailing scalars of `set`, exactly as Foundation's
    /// `trimmingCharacters(in:)` trims (by Unicode scalar), but without its round trip through
    /// NSString, which made an 8 MB line cost seconds.
    static func trimmed(_ text: Substring, _ set: CharacterSet = .whitespacesAndNewlines) -> Substring.UnicodeScalarView {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !set.contains($0) }),
              let last = scalars.lastIndex(where: { !set.contains($0) }) else { return scalars[scalars.endIndex...] }
        return scalars[first...last]
    }

    /// Lines split at LF (a CRLF pair is one Character in Swift, so it is matched too).
    static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
    }

    static func kind(_ value: Any) -> String {
        switch value {
        case is NSNull: return "null"
        case is String: return "a string"
        case is [Any]: return "a list"
        case is [String: Any]: return "an object"
        case is NSNumber: return "a number or boolean"
        default: return "\(type(of: value))"
        }
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let debug = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return debug }
        return ns.localizedDescription
    }
}
