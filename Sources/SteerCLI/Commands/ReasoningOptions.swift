import Experiments
import Foundation
import Models

/// Options and helpers shared by the reasoning commands (rollouts, trace, articulation).
enum ReasoningOptions {
    static let format: [OptionSpec] = [
        OptionSpec("--tags", value: "R,A", help: "reasoning and answer tag names (default reasoning,recommendation)"),
        OptionSpec("--answers", value: "LIST", help: "allowed answers, comma-separated (default approve,reject)"),
    ]

    /// The trace format from `--tags` and `--answers`.
    static func traceFormat(_ args: ParsedArguments) throws -> TraceFormat {
        var f = TraceFormat.loan
        if let tags = args.string("--tags") {
            let parts = tags.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { throw UsageError("--tags needs two names, reasoning and answer (e.g. think,answer), got '\(tags)'") }
            f.reasoningTag = parts[0]; f.answerTag = parts[1]
        }
        if let answers = args.string("--answers") {
            f.answers = answers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        }
        do { try f.validate() } catch { throw UsageError("\(error)") }
        return f
    }

    /// The command line as run (program name excluded), for `config.json`.
    static func commandLine(_ name: String, _ args: ParsedArguments) -> [String] {
        var out = ["steer", name] + args.positionals
        for (k, vs) in args.values.sorted(by: { $0.key < $1.key }) { for v in vs { out += [k, v] } }
        out += args.flags.sorted()
        return out
    }

    /// An existing input file, or a usage error naming the option.
    static func inputFile(_ args: ParsedArguments, _ option: String, required: Bool = true) throws -> URL? {
        guard let path = args.string(option) else {
            if required { throw UsageError("give \(option) FILE") }
            return nil
        }
        guard FileManager.default.isReadableFile(atPath: path) else { throw ModelDirectory.Missing(path) }
        return URL(fileURLWithPath: path)
    }

    /// The chat formatter of a model folder; a model without a chat template is a clear error.
    static func formatter(_ dir: URL) throws -> ChatFormatter {
        let f = try ChatFormatter(directory: dir)
        guard f.template != nil else { throw ChatError.noChatTemplate(directory: dir.path) }
        return f
    }

    /// SHA-256 over the model folder's files (cached in `cacheFolder`).
    static func modelHash(_ dir: URL, cacheFolder: URL) throws -> String {
        RunManifest.combinedHash(try RunManifest.modelHashes(dir, cacheIn: cacheFolder))
    }

    /// An output folder that is not inside any of `inputs`' folders and is not an input file.
    static func outputFolder(_ path: String, notInside models: [URL], inputs: [URL]) throws -> URL {
        let folder = URL(fileURLWithPath: path, isDirectory: true)
        for m in models { try ModelDirectory.refuseInside(folder, m) }
        for i in inputs where i.standardizedFileURL.path == folder.standardizedFileURL.path {
            throw UsageError("the output \(path) is an input file; choose another place")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Refuses to write an output file over an input.
    static func refuseOverwrite(_ output: URL, inputs: [URL]) throws {
        let o = output.standardizedFileURL.resolvingSymlinksInPath().path
        for i in inputs where i.standardizedFileURL.resolvingSymlinksInPath().path == o {
            throw UsageError("the output \(output.path) is also an input; inputs are never overwritten")
        }
    }

    /// The fractions of `--fractions` (each in [0, 1]).
    static func fractions(_ args: ParsedArguments) throws -> [Double]? {
        guard let s = args.string("--fractions") else { return nil }
        var out: [Double] = []
        for p in s.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let v = Double(p), v.isFinite else { throw UsageError("--fractions expects comma-separated numbers, got '\(p)'") }
            guard v >= 0 && v <= 1 else { throw UsageError("--fractions: \(p) is outside [0, 1]") }
            out.append(v)
        }
        guard !out.isEmpty else { throw UsageError("--fractions is empty") }
        return Array(Set(out)).sorted()
    }
}
