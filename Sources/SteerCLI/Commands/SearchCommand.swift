import Experiments
import Foundation
import Interventions
import ModelFormats
import Models
import Compute

/// `steer search DIR --direction FILE --harmful FILE --harmless FILE --out DIR`: heretic-style search of
/// per-layer ablation strengths, trading refusals against KL.
enum SearchCommand: Command {
    static let spec = CommandSpec(
        name: "search", summary: "search per-layer ablation strengths that remove refusals with the least damage",
        positionals: [("DIR", "Hugging Face chat model folder")],
        options: PromptOptions.specs + [
            OptionSpec("--direction", value: "FILE", help: "direction.safetensors (tensor 'direction')", required: true),
            OptionSpec("--out", value: "DIR", help: "folder for search.json and search.svg", required: true),
            OptionSpec("--trials", value: "N", help: "weightings to score (default 48: two thirds random, then around the best)"),
            OptionSpec("--search-seed", value: "S", help: "seed of the trial sampling (default 0)"),
            OptionSpec("--max-kl", value: "X", help: "choose the lowest refusal score among trials with KL ≤ X (default 0.1)"),
            OptionSpec("--refusal-tokens", value: "LIST", help: "refusal token ids (default: first tokens of refusal phrases)"),
            OptionSpec("--system", value: "TEXT", help: "system prompt for every prompt (default none)"),
            OptionSpec("--tokens-per-pass", value: "N", help: "tokens per packed forward pass (default: sized from the model)"),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
            BackendOption.spec,
        ],
        discussion: """
        Scores each trial on the validation split (as steer refusal splits the same files with the same --seed):
        the mean refusal score of the harmful prompts and the mean KL of the harmless prompts' next-token
        distributions, under the hook form of the weighted weight edit. Trials are heretic's parametrisation
        (peak, width, strength at the peak and at the edge; no embedding edit), so the chosen one exports
        exactly with the printed steer abliterate command. Writes search.json (every trial, the Pareto front,
        the choice) and search.svg.
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let directionPath = args.string("--direction") else { throw UsageError("give the direction with --direction FILE") }
        guard let outPath = args.string("--out") else { throw UsageError("give an output folder with --out DIR") }
        let folder = URL(fileURLWithPath: outPath, isDirectory: true)
        try ModelDirectory.refuseInside(folder, dir)
        _ = try ThreadOption.apply(args)
        let prompts = try PromptOptions.load(args)
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        let file = try Direction.read(from: URL(fileURLWithPath: directionPath))
        try file.check(dModel: model.config.hiddenSize, path: directionPath)
        let formatter = try ChatFormatter(directory: dir)
        let system = args.string("--system")
        let encode = { (texts: [String]) throws -> [[Int]] in try texts.map { try formatter.promptIds(user: $0, system: system) } }
        let refusalTokens = try args.intList("--refusal-tokens")
        try ParsedArguments.checkTokenIds(refusalTokens ?? [], option: "--refusal-tokens", vocabularySize: model.config.vocabSize)
        var search = AblationSearch(model: model, refusalTokens: try refusalTokens ?? PromptLayout.refusalTokens(formatter: formatter))
        search.trials = try args.int("--trials", default: 48, range: 1...100_000)
        search.seed = UInt64(try args.int("--search-seed", default: 0, range: 0...Int.max))
        search.maxKL = try args.double("--max-kl", range: 0...Double.greatestFiniteMagnitude) ?? 0.1
        search.tokensPerPass = try args.int("--tokens-per-pass", default: 0, range: 0...1_000_000)
        let printer = ProgressPrinter(console: out)
        let t0 = Date()
        let result = try search.run(direction: try file.requireVector(path: directionPath), harmful: try encode(prompts.sets.harmfulVal),
                                    harmless: try encode(prompts.sets.harmlessVal)) { printer.update("search", $0, $1) }
        printer.finish()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(try RunStore.encode(result), to: folder.appendingPathComponent("search.json"))
        try AtomicFile.write(Data(SearchPlot.svg(result).utf8), to: folder.appendingPathComponent("search.svg"))
        out.print(SearchPlot.table(result))
        out.print(String(format: "%d trials on %d harmful / %d harmless prompts in %.1f s; refusal score without ablation %.3f",
                         result.trials.count, result.nHarmful, result.nHarmless, Date().timeIntervalSince(t0), result.baselineRefusalScore))
        out.info("wrote \(folder.path)/search.json and search.svg")
        guard let b = result.best else {
            throw ModelError.badInput("no trial has KL ≤ \(search.maxKL); see \(folder.path)/search.json (or raise --max-kl)")
        }
        let t = result.trials[b]
        out.print(String(format: "export it: steer abliterate %@ --direction %@ --out NEWDIR --peak %.3f --width %.3f --max-weight %.3f --min-weight %.3f",
                         dir.path, directionPath, t.peak, t.width, t.maxWeight, t.minWeight))
    }
}
