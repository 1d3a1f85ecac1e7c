import Experiments
import Foundation
import Interventions
import ModelFormats
import Models
import Tokenizers

/// `steer latents DIR --sae SAEDIR --direction F --metric-layer M --prompts F --out D [--top K] [--test N]`.
enum LatentsCommand: Command {
    static let spec = CommandSpec(
        name: "latents", summary: "rank SAE latents by their attribution to the refusal metric; borderline prompts (SPEC §6)",
        positionals: [("DIR", "Hugging Face model folder")],
        options: [
            OptionSpec("--sae", value: "SAEDIR", help: "SAELens folder (cfg.json + sae_weights.safetensors) of an SAE on the residual stream, below --metric-layer", required: true),
        ] + GradientInputs.metricOptions + GradientInputs.promptOptions + GradientInputs.idOptions + [
            OptionSpec("--out", value: "DIR", help: "output folder: latents.json, prompts.json, report.html", required: true),
            OptionSpec("--top", value: "K", help: "latents kept in latents.json and the report (default 50)"),
            OptionSpec("--test", value: "N", help: "steer along each of the top N latents (added and ablated) and report refusal rates"),
            OptionSpec("--scale", value: "C", help: "with --test: the added multiple of W_dec[i] (default: the latent's largest activation on the prompts)"),
            OptionSpec("--max-tokens", value: "N", help: "with --test: new tokens per completion (default 64)"),
            OptionSpec("--batch-size", value: "N", help: "with --test: prompts per generation batch (default 16)"),
        ] + GradientInputs.passOptions + [ThreadOption.spec, BackendOption.spec],
        discussion: """
        x_t is the stream at the SAE's hook (blocks.L.hook_resid_pre, hook_resid_mid or hook_resid_post = resid_pre[L+1]) at every
        position of every prompt, g_t the gradient of m = ⟨resid_pre[M][last], r̂⟩ there; a latent's attribution is
        a_i = mean over prompts of Σ_t f_i(x_t)·(W_dec[i]·g_t). latents.json lists the top K by attribution (with the share of
        positions where the latent is active and its mean activation there); prompts.json every prompt by ‖g‖ (all positions).
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let saePath = args.string("--sae"), let outPath = args.string("--out") else { throw UsageError("give --sae SAEDIR and --out DIR") }
        let threads = try ThreadOption.apply(args)
        let (_, config) = try ModelLoader.readConfig(directory: dir)
        let M = try args.int("--metric-layer", default: config.numLayers, range: 1...config.numLayers)
        let top = try args.int("--top", default: 50, range: 1...1_000_000)
        let testCount = try args.int("--test", range: 1...1_000_000)
        let scale = try args.double("--scale").map(Float.init)
        if testCount == nil, scale != nil || args.string("--max-tokens") != nil { throw UsageError("--scale and --max-tokens need --test N") }
        let saeFolder = URL(fileURLWithPath: saePath), outFolder = URL(fileURLWithPath: outPath)
        for input in [dir, saeFolder] where outFolder.standardizedFileURL.path.hasPrefix(input.standardizedFileURL.path) {
            throw InterventionError.outputInsideInput(output: outPath, input: input.path)
        }
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        let sae = try SparseAutoencoder(folder: saeFolder, backend: model.backend)
        try sae.check(model: model)
        let inputs = try GradientInputs.load(args, dir: dir, model: model, allowIds: true)
        let tokenizer = try? Tokenizer.load(directory: dir)
        let printer = ProgressPrinter(console: out)
        var analysis = try LatentAnalysis.run(model: model, sae: sae, prompts: inputs.prompts, texts: inputs.texts, unit: inputs.unit,
                                              metricLayer: M, top: top, tokenBudget: try args.int("--tokens-per-pass", range: 1...1_000_000)) {
            printer.update("gradients", $0, inputs.prompts.count)
        }
        if let n = testCount {
            guard let tokenizer else { throw UsageError("--test needs the model's tokenizer (to read completions), and \(dir.path) has none") }
            let evaluator = RefusalEvaluator(model: model, tokenizer: tokenizer, maxNewTokens: try args.int("--max-tokens", default: 64, range: 1...100_000),
                                             batchSize: try args.int("--batch-size", default: 16, range: 1...4096))
            let total = inputs.prompts.count * (1 + 2 * min(n, analysis.latents.count))
            try analysis.test(n, sae: sae, evaluator: evaluator, prompts: inputs.prompts, scale: scale) { printer.update("steering", $0, total) }
        }
        printer.finish()
        try FileManager.default.createDirectory(at: outFolder, withIntermediateDirectories: true)
        try AtomicFile.write(try RunStore.encode(analysis.latentsFile(metricLayer: M)), to: outFolder.appendingPathComponent("latents.json"))
        try AtomicFile.write(try RunStore.encode(analysis.prompts), to: outFolder.appendingPathComponent("prompts.json"))
        let tokens = inputs.prompts.map { ids in ids.map { id in tokenizer?.decode([id]) ?? String(id) } }
        let provenance = RunProvenance(command: CommandLine.arguments.joined(separator: " "), tool: "steer \(SteerCLI.version)", threads: threads,
                                       details: inputs.provenance.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + [("sae", saePath)])
        try LatentReport.page(analysis, tokens: tokens, sae: saePath, metricLayer: M, provenance: provenance)
            .write(to: outFolder.appendingPathComponent("report.html"))
        out.print("top latents at \(analysis.hook) by attribution to ⟨resid_pre[\(M)], r̂⟩ over \(inputs.prompts.count) prompts:")
        for s in analysis.latents.prefix(10) {
            var line = String(format: "  #%-6d attribution %+.4g  frequency %.3f  mean activation %.3g", s.index, s.attribution, s.frequency, s.meanActivation)
            if let t = s.test { line += String(format: "  refusal added %.0f%% ablated %.0f%%", t.added.proportion * 100, t.ablated.proportion * 100) }
            out.print(line)
        }
        out.info("wrote latents.json, prompts.json and report.html to \(outPath)")
    }
}
