import Experiments
import Foundation
import ModelFormats
import Models

/// `steer gradient DIR --direction F --layer l --metric-layer M (--ids … | --prompts F) --out G.safetensors`.
enum GradientCommand: Command {
    static let spec = CommandSpec(
        name: "gradient", summary: "gradient of the refusal metric ⟨resid_pre[M], r̂⟩ with respect to resid_pre[l] (SPEC §6)",
        positionals: [("DIR", "Hugging Face model folder")],
        options: [
            OptionSpec("--layer", value: "l", help: "the gradient is taken with respect to resid_pre[l] (l < M)", required: true),
        ] + GradientInputs.metricOptions + GradientInputs.idOptions + GradientInputs.promptOptions + [
            OptionSpec("--out", value: "FILE", help: "output .safetensors: 'metric' F32 [n] and 'grad.i' F32 [T_i, d]", required: true),
        ] + GradientInputs.passOptions + [ThreadOption.spec, BackendOption.spec],
        discussion: """
        For each prompt, m = ⟨resid_pre[M] at the last position, r̂⟩ and ∂m/∂resid_pre[l] at every position, by
        reverse mode through blocks l … M−1 (weights are constants; only those blocks' activations are kept).
        --ids is one prompt (i = 0), used as given; --prompts are user messages rendered with the chat template and
        its generation prompt, every prompt of the file (duplicates dropped). Prompts are batched without padding.
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let outPath = args.string("--out") else { throw UsageError("give the output file with --out") }
        _ = try ThreadOption.apply(args)
        let (_, config) = try ModelLoader.readConfig(directory: dir)
        let L = config.numLayers
        let M = try args.int("--metric-layer", default: L, range: 1...L)
        let layer = try args.int("--layer", default: 0, range: 0...(M - 1))
        let budget = try args.int("--tokens-per-pass", range: 1...1_000_000)
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        let inputs = try GradientInputs.load(args, dir: dir, model: model, allowIds: true)
        let printer = ProgressPrinter(console: out)
        let start = Date()
        let results = try model.metricGradients(inputs.prompts, unit: inputs.unit, metricLayer: M, at: StreamPoint(layer: layer),
                                                tokenBudget: budget) { printer.update("gradient", $0, inputs.prompts.count) }
        let seconds = Date().timeIntervalSince(start)
        printer.finish()
        var meta = inputs.provenance
        meta["layer"] = "\(layer)"
        meta["metric_layer"] = "\(M)"
        meta["seconds"] = String(format: "%.3f", seconds)
        var writer = SafeTensorsWriter(metadata: meta, protecting: try WeightStore(folder: dir).inputURLs)
        writer.add("metric", floats: results.map { Float($0.metric) }, shape: [results.count], as: .f32)
        for (i, r) in results.enumerated() {
            writer.add("grad.\(i)", floats: r.gradient, shape: [inputs.prompts[i].count, config.hiddenSize], as: .f32)
        }
        try writer.write(to: URL(fileURLWithPath: outPath))
        let tokens = inputs.prompts.reduce(0) { $0 + $1.count }
        out.info(String(format: "wrote %d gradients (%d tokens) to %@ in %.2f s (%.2f prompts/s)", results.count, tokens, outPath,
                        seconds, Double(results.count) / max(seconds, 1e-9)))
    }
}
