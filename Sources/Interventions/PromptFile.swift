import Foundation

/// Reading a list of prompts from a file. The one place prompt files are parsed, so that a richer
/// prompt-set format can replace it later.
public enum PromptFile {
    /// The prompts of `url`: a JSON array of strings when the file starts with `[`, otherwise one
    /// prompt per line (blank lines skipped; `\n`, `\r\n` or `\r` line ends).
    public static func load(_ url: URL) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw InterventionError.missingFile(url.path) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw InterventionError.badInput("\(url.path): not UTF-8 text")
        }
        let prompts: [String]
        if text.drop(while: { $0.isWhitespace }).first == "[" {
            guard let list = try? JSONSerialization.jsonObject(with: data) as? [String] else {
                throw InterventionError.badInput("\(url.path): a JSON prompt file must be an array of strings")
            }
            prompts = list
        } else {
            // `isNewline` splits at "\n", "\r\n" (one Character in Swift) and "\r".
            prompts = text.split(whereSeparator: \.isNewline).map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
        guard !prompts.isEmpty else { throw InterventionError.badInput("\(url.path): no prompts") }
        return prompts
    }
}
