import Experiments
import Foundation
import Interventions
import ModelFormats
import Models
import Tokenizers

/// `steer vector DIR --positive FILE --negative FILE --out X.gguf`: contrastive control vectors.
enum VectorCommand: Command {
    static let spec = CommandSpec(
        name: "vector", summary: "make a control vector (per-layer contrastive directions) from two prompt files",
        positionals: [("DIR", "Hugging Face model folder")],
        options: [
            OptionSpec("--positive", value: "FILE", help: "prompts to steer towards (one per line, or a JSON array)", required: true),
            OptionSpec("--negative", value: "FILE", help: "prompts to steer away from", required: true),
            OptionSpec("--layers", value: "a-b|all", help: "layers n whose output resid_post[n] gets direction.n (default all from 1)"),
            OptionSpec("--method", value: "mean|pca", help: "difference of means (default) or repeng's pca_diff"),
            OptionSpec("--chat", help: "render prompts with the model's chat template (default: raw text, BOS as the tokenizer adds it)"),
            OptionSpec("--system", value: "TEXT", help: "system message for --chat"),
            OptionSpec("--out", value: "FILE", help: "output .gguf (llama.cpp control vector) or .safetensors", required: true),
            OptionSpec("--batch", value: "N", help: "prompts per forward pass (default 8)"),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
            BackendOption.spec,
        ],
        discussion: """
        For every chosen layer n: the last prompt token's resid_post[n] (the output of block n) is read for every
        prompt; mean = mean(positive) − mean(negative); pca = first principal component of the centred paired
        differences positive[i] − negative[i] (unit length, sign along the mean difference; needs equal counts).
        Stored as direction.n, added to the output of block n by llama.cpp and by steer generate --control-vector.
        Block 0's output cannot be stored in a llama.cpp control vector.
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let posPath = args.string("--positive"), let negPath = args.string("--negative") else {
            throw UsageError("give both --positive FILE and --negative FILE")
        }
        guard let outPath = args.string("--out") else { throw UsageError("give the output file with --out") }
        let ext = URL(fileURLWithPath: outPath).pathExtension.lowercased()
        guard ext == "gguf" || ext == "safetensors" else { throw UsageError("--out must end in .gguf or .safetensors") }
        _ = try ThreadOption.apply(args)
        let method = ContrastiveVectors.Method(rawValue: try args.choice("--method", ["mean", "pca"], default: "mean")) ?? .mean
        let batch = try args.int("--batch", default: 8, range: 1...4096)
        let (_, config) = try ModelLoader.readConfig(directory: dir)
        var layers = Array(1..<max(1, config.numLayers))
        if let s = args.string("--layers"), s != "all" {
            layers = try LayerArgument.parse(s, option: "--layers", layerCount: config.numLayers)
        }
        guard !layers.contains(0) else { throw UsageError("--layers: layer 0 cannot be steered by a control vector (direction.n starts at 1)") }
        guard !layers.isEmpty else { throw UsageError("--layers selects no layer") }

        let positive = try PromptSet.load(URL(fileURLWithPath: posPath)).texts
        let negative = try PromptSet.load(URL(fileURLWithPath: negPath)).texts
        let encode = try promptEncoder(dir: dir, chat: args.flag("--chat"), system: args.string("--system"))
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        out.progress("reading \(positive.count) + \(negative.count) prompts at \(layers.count) layers…")
        let directions = try ContrastiveVectors.compute(model: model, positive: try positive.map(encode), negative: try negative.map(encode),
                                                        layers: layers, method: method, batchSize: batch)
        out.endProgress()
        let vector = try ContrastiveVectors.controlVector(directions, modelHint: config.modelType)
        let store = try WeightStore(folder: dir)
        try ControlVectorFile.write(vector, to: URL(fileURLWithPath: outPath), metadata: [
            "method": method.rawValue, "model": dir.path, "positive": posPath, "negative": negPath,
            "chat": String(args.flag("--chat")), "tool_version": "steer \(SteerCLI.version)",
        ], protecting: store.inputURLs)
        let norms = layers.map { l in String(format: "%d:%.3g", l, VectorMath.norm(directions[l] ?? [])) }
        out.print("wrote \(outPath): \(layers.count) directions (\(method.rawValue)), layers \(layers.first ?? 0)…\(layers.last ?? 0)")
        out.print("norms " + norms.joined(separator: " "))
    }

    /// Prompt text → token ids: raw text with the tokenizer's special tokens (BOS), or the chat
    /// template's rendering (which writes BOS itself).
    static func promptEncoder(dir: URL, chat: Bool, system: String?) throws -> (String) throws -> [Int] {
        if chat {
            let formatter = try ChatFormatter(directory: dir)
            return { p in
                formatter.tokenizer.encode(try formatter.render(messages: ChatFormatter.messages(user: p, system: system)))
            }
        }
        let tokenizer = try Tokenizer.load(directory: dir)
        return { p in
            let ids = tokenizer.encode(p, addSpecialTokens: true)
            guard !ids.isEmpty else { throw UsageError("a prompt encodes to no tokens: '\(p)'") }
            return ids
        }
    }
}

/// The intervention flags of `steer generate`: `--ablate`, `--add`, `--control-vector` (together allowed).
enum InterventionFlags {
    static let options: [OptionSpec] = [
        OptionSpec("--ablate", value: "FILE", help: "ablate the direction of a direction file (resid_pre, attn_out, mlp_out)"),
        OptionSpec("--erase", value: "FILE", help: "apply a LEACE eraser file (steer leace's eraser.safetensors) at resid_pre, every position"),
        OptionSpec("--layers", value: "a-b", help: "with --ablate or --erase: only at these layers (default all / every layer of the eraser)"),
        OptionSpec("--ablate-layers", value: "a-b", help: "same as --layers"),
    ] + WeightingArgument.options.map { OptionSpec($0.name, value: $0.value, help: "with --ablate: " + $0.help) } + [
        OptionSpec("--add", value: "FILE", help: "add scale × the direction of a direction file to resid_pre of --layer"),
        OptionSpec("--layer", value: "L", help: "layer for --add (default: the direction file's 'layer')"),
        OptionSpec("--control-vector", value: "FILE", help: "apply a llama.cpp control vector (.gguf or .safetensors) to resid_post"),
        OptionSpec("--add-latent", value: "SAEDIR:i", help: "add scale × the SAE latent's decoder row W_dec[i] at the SAE's hook, every position"),
        OptionSpec("--ablate-latent", value: "SAEDIR:i", help: "project the SAE latent's decoder direction out at the SAE's hook, every position"),
        OptionSpec("--scale", value: "C", help: "scale of --add, --add-latent and --control-vector (default 1)"),
    ]

    /// The edits the flags ask for (none when no flag is given).
    static func edits(_ args: ParsedArguments, model: LanguageModel) throws -> [ActivationEdit] {
        var list: [Intervention] = []
        let scale = Float(try args.double("--scale") ?? 1)
        let n = model.config.numLayers
        if let path = args.string("--ablate") {
            let d = try Direction.read(from: URL(fileURLWithPath: path))
            try d.check(dModel: model.config.hiddenSize, path: path)
            let layerFlag = args.string("--layers") != nil ? "--layers" : "--ablate-layers"
            let layers = try args.string(layerFlag).map { try LayerArgument.parse($0, option: layerFlag, layerCount: n) }
            if let weighting = try WeightingArgument.parse(args) {
                // The hook form of a weighted weight edit (no embedding edit, as `steer abliterate --peak`).
                list.append(try DirectionalAblation.matchingWeightEdit(direction: try d.requireVector(path: path), layers: layers,
                                                                       weighting: weighting))
            } else {
                list.append(try DirectionalAblation(direction: try d.requireVector(path: path), layers: layers))
            }
        } else if args.string("--ablate-layers") != nil || (args.string("--layers") != nil && args.string("--erase") == nil) {
            throw UsageError("--layers needs --ablate FILE or --erase FILE")
        } else if args.string("--peak") != nil {
            throw UsageError("--peak needs --ablate FILE")
        }
        if let path = args.string("--erase") {
            let layers = try args.string("--layers").map { try LayerArgument.parse($0, option: "--layers", layerCount: n) }
            list.append(LeaceErasure(eraser: try LeaceEraser.read(from: URL(fileURLWithPath: path)), layers: layers, source: path))
        }
        if let path = args.string("--add") {
            let d = try Direction.read(from: URL(fileURLWithPath: path))
            try d.check(dModel: model.config.hiddenSize, path: path)
            guard let layer = try args.int("--layer") ?? d.layer else {
                throw UsageError("--add needs --layer L (the direction file records no layer)")
            }
            guard (0..<n).contains(layer) else { throw UsageError("--layer \(layer) is outside 0..<\(n)") }
            list.append(ActivationAddition(vector: try d.requireVector(path: path), layer: layer, scale: scale))
        } else if args.string("--layer") != nil {
            throw UsageError("--layer needs --add FILE")
        }
        if let path = args.string("--control-vector") {
            list.append(ControlVectorSteering(vector: try ControlVectorFile.read(from: URL(fileURLWithPath: path)), scale: scale))
        }
        for (flag, mode) in [("--add-latent", LatentSteering.Mode.add(scale: scale)), ("--ablate-latent", .ablate)] {
            guard let reference = args.string(flag) else { continue }
            let (folder, latent) = try LatentSteering.parse(reference)
            let sae = try SparseAutoencoder(folder: folder, backend: model.backend)
            try sae.check(model: model)
            list.append(try LatentSteering(sae: sae, latent: latent, mode: mode))
        }
        if list.isEmpty {
            if args.string("--scale") != nil { throw UsageError("--scale needs --add, --add-latent or --control-vector") }
            return []
        }
        return try InterventionSet(list).edits(for: model)
    }
}
