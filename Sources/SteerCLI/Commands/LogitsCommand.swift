import Foundation
import ModelFormats
import Models
import Compute

/// `steer logits DIR --ids 1,2,3 --out FILE.safetensors`: logits of every position, for checking fidelity from outside.
enum LogitsCommand: Command {
    static let spec = CommandSpec(
        name: "logits", summary: "write the logits of token ids to a safetensors file",
        positionals: [("DIR", "Hugging Face model folder")],
        options: [
            OptionSpec("--ids", value: "LIST", help: "token ids, comma-separated (no BOS added)", required: true),
            OptionSpec("--out", value: "FILE", help: "output .safetensors (F32 tensor 'logits' of shape [T, vocab])", required: true),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
            BackendOption.spec,
        ])

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let ids = try args.intList("--ids"), !ids.isEmpty else { throw UsageError("give the token ids with --ids") }
        guard let outPath = args.string("--out") else { throw UsageError("give the output file with --out") }
        _ = try ThreadOption.apply(args)
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        try ParsedArguments.checkTokenIds(ids, option: "--ids", vocabularySize: model.config.vocabSize)
        let (_, logits) = try model.prefill([ids], logits: .all)
        guard let logits else { return }
        let store = try WeightStore(folder: dir)
        var writer = SafeTensorsWriter(
            metadata: ["model": dir.path, "ids": ids.map(String.init).joined(separator: ","), "tool": "steer \(SteerCLI.version)"],
            protecting: store.inputURLs)
        writer.add("logits", floats: logits.array, shape: [ids.count, model.config.vocabSize], as: .f32)
        try writer.write(to: URL(fileURLWithPath: outPath))
        out.info("wrote logits [\(ids.count), \(model.config.vocabSize)] to \(outPath)")
    }
}
