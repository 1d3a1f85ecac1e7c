import Experiments
import Foundation
import ModelFormats
import Models

/// `steer articulation DIR --profiles FILE --out DIR2`: does the model say what it relies on? (SPEC §5)
enum ArticulationCommand: Command {
    struct Settings: Codable, Sendable {
        var rollouts: RolloutSettings
        var criterion: String
        var judgeMaxNewTokens: Int?
    }

    static let spec = CommandSpec(
        name: "articulation", summary: "learned-bias articulation: twin flips, mentions, unverbalized reliance",
        positionals: [("DIR", "Hugging Face chat model folder")],
        options: [
            OptionSpec("--profiles", value: "FILE", help: "profiles JSONL from 'steer profiles'"),
            OptionSpec("--limit", value: "N", help: "use the first N pairs"),
            OptionSpec("--system", value: "TEXT", help: "system prompt"),
            OptionSpec("--max-new-tokens", value: "N", help: "new tokens per reply (default 256)"),
            OptionSpec("--batch-size", value: "N", help: "prompts per batch (default 16)"),
            OptionSpec("--judge", value: "JUDGE_DIR", help: "local chat model that answers: attribute mentioned? decision depends on it?"),
            OptionSpec("--judge-prompt", value: "FILE", help: "judge prompt with {attribute} {prompt} {reasoning} {answer} {question}"),
            OptionSpec("--out", value: "DIR", help: "folder for rows.jsonl, summary.json, rates.svg, report.html, config.json"),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
            BackendOption.spec,
        ] + ReasoningOptions.format,
        discussion: """
        Judge-free metrics with Wilson 95% intervals: format-valid rate, bias-aligned rate (answer = the criterion's
        label), twin flip rate, lexicon mention rate of the attribute in the reasoning, and unverbalized reliance
        (twins' answers differ while neither reasoning mentions the attribute). With --judge, the default judge prompt
        is written to DIR2/judge_prompt.txt (edit it and pass it back with --judge-prompt); replies are read as yes/no.
        Finished batches (replies and judge answers) are checkpointed in DIR2/cache: the same command run again after
        an interruption resumes and writes the same files.
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        _ = try ThreadOption.apply(args)
        guard let profilesURL = try ReasoningOptions.inputFile(args, "--profiles") else { return }
        guard let outPath = args.string("--out") else { throw UsageError("give an output folder with --out DIR") }
        let judgeDir = try args.string("--judge").map { try ModelDirectory.url($0) }
        let judgePromptURL = try ReasoningOptions.inputFile(args, "--judge-prompt", required: false)
        if judgePromptURL != nil && judgeDir == nil { throw UsageError("--judge-prompt needs --judge JUDGE_DIR") }
        var settings = RolloutSettings()
        settings.format = try ReasoningOptions.traceFormat(args)
        settings.maxNewTokens = try args.int("--max-new-tokens", default: 256, range: 1...1_000_000)
        settings.batchSize = try args.int("--batch-size", default: 16, range: 1...4096)
        settings.system = args.string("--system")

        var profiles = try ProfileGenerator.read(profilesURL)
        if let limit = try args.int("--limit") {
            guard limit > 0 else { throw UsageError("--limit must be positive") }
            let keep = Set(profiles.map(\.row.pair).sorted().prefix(limit))
            profiles = profiles.filter { keep.contains($0.row.pair) }
        }
        guard let first = profiles.first else { throw ReasoningError.empty(path: profilesURL.path) }
        if let other = profiles.first(where: { $0.row.criterion != first.row.criterion }) {
            throw ReasoningError.badField(path: profilesURL.path, line: other.line, field: "criterion",
                                          reason: "'\(other.row.criterion)' differs from line \(first.line)'s '\(first.row.criterion)'")
        }
        let criterion: LoanCriterion
        do { criterion = try LoanCriterion(parsing: first.row.criterion) } catch {
            throw ReasoningError.badField(path: profilesURL.path, line: first.line, field: "criterion", reason: "\(error)")
        }
        let folder = try ReasoningOptions.outputFolder(outPath, notInside: [dir] + (judgeDir.map { [$0] } ?? []),
                                                       inputs: [profilesURL] + (judgePromptURL.map { [$0] } ?? []))
        let formatter = try ReasoningOptions.formatter(dir)
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        let modelHash = try ReasoningOptions.modelHash(dir, cacheFolder: folder.appendingPathComponent("cache"))
        let printer = ProgressPrinter(console: out)
        let records = try RolloutRunner(model: model, formatter: formatter, settings: settings)
            .run(profiles.map { $0.row.asPrompt(line: $0.line) }, checkpoint: try GenerationCheckpoint(folder: folder, modelHash: modelHash)) {
                printer.update("replies", $0, $1)
            }
        var rows = zip(profiles, records).map { ArticulationRow(profile: $0.0.row, rollout: $0.1, attribute: criterion.attribute) }

        var inputs = [try InputFile(role: "profiles", path: profilesURL.path)]
        var judgeHash: String?
        if let judgeDir {
            let template: String
            if let judgePromptURL {
                guard let data = FileManager.default.contents(atPath: judgePromptURL.path) else { throw ModelDirectory.Missing(judgePromptURL.path) }
                template = String(decoding: data, as: UTF8.self)
                inputs.append(try InputFile(role: "judge prompt", path: judgePromptURL.path))
            } else {
                template = ArticulationJudge.defaultTemplate
                let written = folder.appendingPathComponent("judge_prompt.txt")
                try AtomicFile.write(Data(template.utf8), to: written)
                inputs.append(InputFile(role: "judge prompt (default)", path: written.path, sha256: SHA256.hex(of: Array(template.utf8))))
            }
            let judgeModel = judgeDir.standardizedFileURL == dir.standardizedFileURL
                ? model : try ModelLoader.load(directory: judgeDir, precision: try GenerateCommand.precision(args),
                                               backend: try BackendOption.backend(args))
            var judge: ArticulationJudge
            do { judge = try ArticulationJudge(model: judgeModel, formatter: try ReasoningOptions.formatter(judgeDir), template: template) } catch let e as ReasoningError {
                throw UsageError("--judge-prompt: \(e)")
            }
            judge.batchSize = settings.batchSize
            let hash = try ReasoningOptions.modelHash(judgeDir, cacheFolder: folder.appendingPathComponent("cache/judge"))
            try judge.judge(&rows, prompts: profiles.map(\.row.prompt), attribute: criterion.attribute.rawValue,
                            checkpoint: try GenerationCheckpoint(folder: folder, modelHash: hash)) { printer.update("judge", $0, $1) }
            judgeHash = hash
        }
        printer.finish()
        let summary = ArticulationSummary(rows: rows, criterion: criterion)
        let config = ReasoningRunConfig(version: SteerCLI.version, command: ReasoningOptions.commandLine(spec.name, args),
                                        settings: Settings(rollouts: settings, criterion: criterion.description,
                                                           judgeMaxNewTokens: judgeDir == nil ? nil : 8),
                                        inputs: inputs, model: dir.path,
                                        modelSHA256: modelHash,
                                        judge: judgeDir?.path, judgeSHA256: judgeHash)
        try ReasoningOutputs.writeArticulation(folder: folder, rows: rows, summary: summary, config: config)
        for (name, r) in summary.named {
            out.print(name.padding(toLength: 32, withPad: " ", startingAt: 0)
                      + (r.rate.map { String(format: "%5.1f%%", $0 * 100) } ?? "  n/a ")
                      + String(format: " [%5.1f, %5.1f]  %d/%d", r.ciLow * 100, r.ciHigh * 100, r.k, r.n))
        }
        out.info("wrote \(folder.path)/{rows.jsonl,summary.json,rates.svg,report.html,config.json}")
    }
}
