import Experiments
import Foundation
import Models
import Compute

/// `steer refusal DIR --harmful FILE --harmless FILE --out RUN/`: SPEC §3 end to end.
enum RefusalCommand: Command {
    static let spec = CommandSpec(
        name: "refusal", summary: "find the refusal direction: extract, select, evaluate (SPEC §3)",
        positionals: [("DIR", "Hugging Face chat model folder")],
        options: PromptOptions.specs + [
            OptionSpec("--out", value: "RUN", help: "run folder (created; an existing one resumes)", required: true),
            OptionSpec("--refusal-tokens", value: "LIST", help: "refusal token ids (default: first tokens of refusal phrases)"),
            OptionSpec("--max-layer-fraction", value: "F", help: "discard candidates at layers ≥ int(F·L) (default 0.8)"),
            OptionSpec("--score-all-layers", help: "also score the candidates the layer filter discards, for the full heatmap (default: not run)"),
            OptionSpec("--max-kl", value: "X", help: "discard candidates with KL above X (default 0.1)"),
            OptionSpec("--min-induce", value: "X", help: "discard candidates with induce score below X (default 0)"),
            OptionSpec("--no-filter-val", help: "keep every validation prompt (default: only those the model already refuses / answers)"),
            OptionSpec("--system", value: "TEXT", help: "system prompt for every prompt (default none)"),
            OptionSpec("--batch-size", value: "N", help: "prompts per generation batch in evaluation, split evenly (default 48)"),
            OptionSpec("--tokens-per-pass", value: "N", help: "tokens per packed forward pass in selection (default: the threads share about 1 GB of activations; at most 4096)"),
            OptionSpec("--max-new-tokens", value: "N", help: "greedy tokens per evaluation completion (default 64)"),
            OptionSpec("--no-eval", help: "stop after selecting the direction"),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
            BackendOption.spec,
        ],
        discussion: """
        Writes RUN/config.json, candidates.safetensors, direction.safetensors, selection.json,
        completions/*.jsonl, evaluation.json and report.html. Stages are cached by content hash in
        RUN/cache, so running the same command again resumes instead of recomputing.
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let outPath = args.string("--out") else { throw UsageError("give the run folder with --out RUN") }
        let runURL = URL(fileURLWithPath: outPath, isDirectory: true)
        try ModelDirectory.refuseInside(runURL, dir)
        let threads = try ThreadOption.apply(args)
        let prompts = try PromptOptions.load(args)

        var settings = RefusalSettings()
        settings.refusalTokens = try args.intList("--refusal-tokens")
        settings.selection.maxLayerFraction = try args.double("--max-layer-fraction", range: 0...1) ?? 0.8
        settings.selection.scoreFilteredLayers = args.flag("--score-all-layers")
        settings.selection.maxKL = try args.double("--max-kl", range: 0...Double.greatestFiniteMagnitude) ?? 0.1
        settings.selection.minInduce = try args.double("--min-induce") ?? 0
        settings.filterValidation = !args.flag("--no-filter-val")
        settings.system = args.string("--system")
        settings.batchSize = try args.int("--batch-size", default: RefusalSettings().batchSize, range: 1...4096)
        settings.selection.tokensPerPass = try args.int("--tokens-per-pass", default: 0, range: 0...1_000_000)
        settings.maxNewTokens = try args.int("--max-new-tokens", default: 64, range: 1...100_000)
        settings.evaluate = !args.flag("--no-eval")

        let t0 = Date()
        try FileManager.default.createDirectory(at: runURL, withIntermediateDirectories: true)
        out.info("hashing model files…")
        let hashes = try RunManifest.modelHashes(dir, cacheIn: runURL)
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        try ParsedArguments.checkTokenIds(settings.refusalTokens ?? [], option: "--refusal-tokens", vocabularySize: model.config.vocabSize)
        let formatter = try ChatFormatter(directory: dir)
        let inputKey = RunManifest.combinedHash(hashes) + prompts.key
        let pipeline = try RefusalPipeline(model: model, formatter: formatter, settings: settings, runFolder: runURL,
                                           inputKey: inputKey)
        let printer = ProgressPrinter(console: out)
        pipeline.progress = printer.update
        let config = RefusalConfig(model: dir.path, modelFiles: hashes, settings: settings, prompts: prompts.provenance,
                                   tool: "steer \(SteerCLI.version)", command: CommandLine.arguments.joined(separator: " "),
                                   threads: threads)
        try pipeline.store.saveJSON(config, "config.json")
        let result = try pipeline.run(prompts.sets)
        printer.finish()
        let provenance = RunProvenance(
            command: config.command, tool: config.tool, seed: prompts.seed, modelHash: RunManifest.combinedHash(hashes), threads: threads,
            details: [("model folder", dir.path)] + PromptOptions.provenanceRows(prompts.provenance))
        try RefusalReport.write(result, model: model, prompts: prompts.sets, store: pipeline.store, provenance: provenance,
                                tokenText: { formatter.tokenizer.decode([$0]) })
        RefusalSummaryPrinter.print(result, run: runURL, seconds: Date().timeIntervalSince(t0), model: model, out: out)
        if result.selection.selected == nil {
            throw ModelError.badInput("every candidate was filtered out; see \(runURL.path)/selection.json and report.html")
        }
    }
}

/// `config.json` of a refusal run.
struct RefusalConfig: Encodable {
    var model: String
    var modelFiles: [RunManifest.FileHash]
    var settings: RefusalSettings
    var prompts: [String: PromptSource]
    var tool: String
    var command: String
    var threads: Int

    enum CodingKeys: String, CodingKey {
        case model, settings, prompts, tool, command, threads
        case modelFiles = "model_files"
    }
}
