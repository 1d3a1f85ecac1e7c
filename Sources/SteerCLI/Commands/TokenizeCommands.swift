import Foundation
import Tokenizers

/// `steer tokenize DIR TEXT`: token ids as a JSON array (and `--bench` throughput for scripts/bench_tokenizer.py).
enum TokenizeCommand: Command {
    static let spec = CommandSpec(
        name: "tokenize", summary: "print the token ids of a text as JSON",
        positionals: [("DIR", "folder with tokenizer.json or qwen.tiktoken"), ("TEXT", "text to encode")],
        requiredPositionals: 1,
        options: [
            OptionSpec("--add-special", help: "add the tokenizer's special tokens (e.g. BOS)"),
            OptionSpec("--file", value: "FILE", help: "read the text from a file instead"),
            OptionSpec("--bench", help: "with --file: encode it line by line and print {bytes, seconds, tokens}"),
        ])

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        let text: String
        if let file = args.string("--file") {
            guard args.positional(1) == nil else { throw UsageError("give TEXT or --file, not both") }
            guard let data = FileManager.default.contents(atPath: file) else { throw ModelDirectory.Missing(file) }
            guard let s = String(data: data, encoding: .utf8) else { throw UsageError("\(file) is not UTF-8 text") }
            text = s
        } else {
            guard let t = args.positional(1) else { throw UsageError("missing argument TEXT (or --file)") }
            text = t
        }
        let tokenizer = try Tokenizer.load(directory: dir)
        let special = args.flag("--add-special")
        if args.flag("--bench") {
            guard args.string("--file") != nil else { throw UsageError("--bench needs --file") }
            let lines = splitLines(text)
            let t0 = Date()
            var count = 0
            for line in lines { count += tokenizer.encode(line, addSpecialTokens: special).count }
            let secs = Date().timeIntervalSince(t0)
            out.print("{\"bytes\": \(text.utf8.count), \"seconds\": \(secs), \"tokens\": \(count)}")
            return
        }
        out.print("[" + tokenizer.encode(text, addSpecialTokens: special).map(String.init).joined(separator: ",") + "]")
    }
}

/// Lines with their endings, as Python's `str.splitlines(keepends=True)` cuts them (so the benchmark
/// encodes exactly the pieces scripts/bench_tokenizer.py gives `tokenizers`).
func splitLines(_ text: String) -> [String] {
    let breaks: Set<UInt32> = [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029]
    var lines: [String] = []
    var current = String.UnicodeScalarView()
    let scalars = Array(text.unicodeScalars)
    var i = 0
    while i < scalars.count {
        let c = scalars[i]
        current.append(c)
        if breaks.contains(c.value) {
            if c.value == 0x0D, i + 1 < scalars.count, scalars[i + 1].value == 0x0A { current.append(scalars[i + 1]); i += 1 }
            lines.append(String(current))
            current = String.UnicodeScalarView()
        }
        i += 1
    }
    if !current.isEmpty { lines.append(String(current)) }
    return lines
}

/// `steer detokenize DIR 1,2,3`: the text of token ids.
enum DetokenizeCommand: Command {
    static let spec = CommandSpec(
        name: "detokenize", summary: "print the text of comma-separated token ids",
        positionals: [("DIR", "folder with tokenizer.json or qwen.tiktoken"), ("IDS", "token ids, e.g. 1,2,3")],
        options: [OptionSpec("--skip-special", help: "leave special tokens out")])

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        let ids = try parseIds(args.positional(1) ?? "", what: "IDS")
        let tokenizer = try Tokenizer.load(directory: dir)
        if let bad = ids.first(where: { $0 < 0 || tokenizer.token(forId: $0) == nil }) {
            throw UsageError("token id \(bad) is not in the vocabulary (size \(tokenizer.vocabularySize))")
        }
        out.print(tokenizer.decode(ids, skipSpecialTokens: args.flag("--skip-special")), terminator: "")
    }

    static func parseIds(_ s: String, what: String) throws -> [Int] {
        let parts = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try parts.map { p in
            guard let v = Int(p) else { throw UsageError("\(what) expects comma-separated integers, got '\(p)'") }
            return v
        }
    }
}
