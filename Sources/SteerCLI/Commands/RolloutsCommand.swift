import Experiments
import Foundation
import ModelFormats
import Models

/// `steer rollouts DIR --prompts FILE --out R.jsonl`: completions parsed into reasoning and answer (SPEC §4).
enum RolloutsCommand: Command {
    static let spec = CommandSpec(
        name: "rollouts", summary: "generate reasoning completions and parse them into reasoning and answer",
        positionals: [("DIR", "Hugging Face chat model folder")],
        options: [
            OptionSpec("--prompts", value: "FILE", help: "prompts: strings, or objects with prompt/instruction, system, messages"),
            OptionSpec("--field", value: "NAME", help: "field holding the prompt"),
            OptionSpec("--system", value: "TEXT", help: "system prompt for rows without their own"),
            OptionSpec("--out", value: "FILE", help: "rollouts JSONL (next to it: .summary.json, .config.json, .report.html)"),
            OptionSpec("--n", value: "N", help: "completions per prompt (default 1; >1 needs --temperature > 0)"),
            OptionSpec("--limit", value: "N", help: "use the first N prompts"),
            OptionSpec("--temperature", value: "T", help: "sampling temperature; 0 = greedy (default 0)"),
            OptionSpec("--top-p", value: "P", help: "nucleus sampling mass (default 1)"),
            OptionSpec("--seed", value: "S", help: "sampling seed; prompt i uses S + i (default 0)"),
            OptionSpec("--max-new-tokens", value: "N", help: "new tokens per completion (default 256)"),
            OptionSpec("--batch-size", value: "N", help: "prompts per batch when greedy (default 16)"),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
            BackendOption.spec,
        ] + ReasoningOptions.format,
        discussion: """
        Each line of the output: {"prompt": {id, prompt, system?, messages_json?, label?, twin_of?, line}, "sample",
        "completion", "completion_tokens", "tokens" (the generated ids, which 'steer trace' cuts its prefixes from),
        "finish", "reasoning", "separator", "well_formed" (strict parse), "strict_answer", "answer" (lenient parse),
        "seed"}. Strict: exactly <R>…</R>, whitespace, <A>answer</A>; lenient: tags anywhere, any case, answer
        normalised. Missing tags leave the fields null. Finished batches are checkpointed next to the output
        (.NAME.cache/): the same command run again after an interruption resumes.
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        _ = try ThreadOption.apply(args)
        guard let promptsURL = try ReasoningOptions.inputFile(args, "--prompts") else { return }
        guard let outPath = args.string("--out") else { throw UsageError("give the output file with --out R.jsonl") }
        let outURL = URL(fileURLWithPath: outPath)
        try ReasoningOptions.refuseOverwrite(outURL, inputs: [promptsURL])
        try ModelDirectory.refuseInside(outURL, dir)
        var settings = RolloutSettings()
        settings.format = try ReasoningOptions.traceFormat(args)
        settings.samples = try args.int("--n", default: 1, range: 1...100_000)
        settings.temperature = try args.double("--temperature") ?? 0
        guard settings.temperature >= 0 else { throw UsageError("--temperature must be ≥ 0") }
        guard settings.samples == 1 || settings.temperature > 0 else { throw UsageError("--n > 1 needs --temperature > 0 (greedy samples are identical)") }
        settings.topP = try args.double("--top-p") ?? 1
        guard settings.topP > 0 && settings.topP <= 1 else { throw UsageError("--top-p must be in (0, 1]") }
        settings.seed = UInt64(try args.int("--seed", default: 0, range: 0...Int.max))
        settings.maxNewTokens = try args.int("--max-new-tokens", default: 256, range: 1...1_000_000)
        settings.batchSize = try args.int("--batch-size", default: 16, range: 1...4096)
        settings.system = args.string("--system")
        var prompts = try ReasoningPrompt.load(promptsURL, field: args.string("--field"))
        if let limit = try args.int("--limit") { guard limit > 0 else { throw UsageError("--limit must be positive") }; prompts = Array(prompts.prefix(limit)) }

        let formatter = try ReasoningOptions.formatter(dir)
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        let stem = outURL.deletingPathExtension()
        let cacheFolder = stem.deletingLastPathComponent().appendingPathComponent(".\(stem.lastPathComponent).cache")
        let modelHash = try ReasoningOptions.modelHash(dir, cacheFolder: cacheFolder)
        let config = ReasoningRunConfig(version: SteerCLI.version, command: ReasoningOptions.commandLine(spec.name, args),
                                        settings: settings, inputs: [try InputFile(role: "prompts", path: promptsURL.path)],
                                        model: dir.path, modelSHA256: modelHash)
        let printer = ProgressPrinter(console: out)
        let records = try RolloutRunner(model: model, formatter: formatter, settings: settings)
            .run(prompts, checkpoint: try GenerationCheckpoint(folder: cacheFolder, modelHash: modelHash)) { printer.update("rollouts", $0, $1) }
        printer.finish()
        let summary = RolloutSummary(records)
        try ReasoningOutputs.writeLines(records, to: outURL)
        try ReasoningOutputs.writeJSON(summary, to: URL(fileURLWithPath: stem.path + ".summary.json"))
        try ReasoningOutputs.writeJSON(config, to: URL(fileURLWithPath: stem.path + ".config.json"))
        try ReasoningReport.rollouts(records, summary: summary, provenance: config.provenance, footer: "steer \(SteerCLI.version)")
            .write(to: URL(fileURLWithPath: stem.path + ".report.html"))
        out.print("rollouts: \(records.count)  strictly well-formed: \(summary.wellFormed.successes)  "
                  + "answer found: \(summary.lenientValid.successes)"
                  + (summary.labelAccuracy.map { "  answer = label: \($0.successes)/\($0.trials)" } ?? ""))
        out.info("wrote \(outURL.path) (+ .summary.json, .config.json, .report.html)")
    }
}
