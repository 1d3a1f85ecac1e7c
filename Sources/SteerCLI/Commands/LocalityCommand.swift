import Experiments
import Foundation
import Interventions
import ModelFormats
import Models
import Compute

/// `steer locality DIR --direction FILE --harmful FILE`: refusal left when ablating only a window of layers.
enum LocalityCommand: Command {
    static let spec = CommandSpec(
        name: "locality", summary: "sweep windows of layers for ablation: where is the direction read?",
        positionals: [("DIR", "Hugging Face chat model folder")],
        options: [
            OptionSpec("--direction", value: "FILE", help: "direction.safetensors (tensor 'direction')", required: true),
            OptionSpec("--harmful", value: "FILE", help: "prompts the model refuses (JSON, JSONL, CSV or text)", required: true),
            OptionSpec("--field", value: "NAME", help: "field holding the prompt"),
            OptionSpec("--n", value: "N", help: "use the first N prompts (default all)"),
            OptionSpec("--windows", value: "LIST", help: "window widths in layers (default 1,2,4)"),
            OptionSpec("--max-new-tokens", value: "N", help: "greedy tokens per completion (default 32)"),
            OptionSpec("--no-generate", help: "refusal score only (no completions, much faster)"),
            OptionSpec("--system", value: "TEXT", help: "system prompt"),
            OptionSpec("--batch-size", value: "N", help: "prompts per forward pass (default 16)"),
            OptionSpec("--out", value: "DIR", help: "folder for locality.json and locality.svg", required: true),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
            BackendOption.spec,
        ])

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let dirPath = args.string("--direction") else { throw UsageError("give the direction with --direction FILE") }
        guard let promptsPath = args.string("--harmful") else { throw UsageError("give prompts with --harmful FILE") }
        guard let outPath = args.string("--out") else { throw UsageError("give an output folder with --out DIR") }
        let widths = try args.intList("--windows", range: 1...Int.max) ?? [1, 2, 4]
        let limit = try args.int("--n", range: 1...Int.max)
        _ = try ThreadOption.apply(args)
        var rows = try PromptSet.load(URL(fileURLWithPath: promptsPath), field: args.string("--field")).rows
        if let limit { rows = Array(rows.prefix(limit)) }
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        let file = try Direction.read(from: URL(fileURLWithPath: dirPath))
        try file.check(dModel: model.config.hiddenSize, path: dirPath)
        let direction = try file.requireVector(path: dirPath)
        let formatter = try ChatFormatter(directory: dir)
        let ids = try rows.map { try formatter.promptIds(user: $0.text, system: $0.system ?? args.string("--system")) }
        var evaluator = RefusalEvaluator(model: model, tokenizer: formatter.tokenizer,
                                         maxNewTokens: try args.int("--max-new-tokens", default: 32, range: 1...100_000),
                                         batchSize: try args.int("--batch-size", default: 16, range: 1...4096))
        evaluator.maxNewTokens = max(1, evaluator.maxNewTokens)
        var sweep = LocalitySweep(evaluator: evaluator, refusalTokens: try PromptLayout.refusalTokens(formatter: formatter))
        sweep.generate = !args.flag("--no-generate")
        let printer = ProgressPrinter(console: out)
        let result = try sweep.run(direction: direction, prompts: ids, widths: widths, directionLayer: file.layer) {
            printer.update("locality", $0, $1)
        }
        printer.finish()
        let folder = URL(fileURLWithPath: outPath, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(try RunStore.encode(result), to: folder.appendingPathComponent("locality.json"))
        try AtomicFile.write(Data(LocalityPlot.svg(result).utf8), to: folder.appendingPathComponent("locality.svg"))
        out.print(LocalityPlot.table(result))
        out.info("wrote \(folder.path)/locality.json and locality.svg")
    }
}
