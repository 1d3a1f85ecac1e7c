import Foundation
import ModelFormats
import Models

/// `steer info DIR`: what a model folder holds.
enum InfoCommand: Command {
    static let spec = CommandSpec(
        name: "info", summary: "describe a model folder (family, sizes, dtypes, template)",
        positionals: [("DIR", "Hugging Face model folder")],
        options: [OptionSpec("--json", help: "print as JSON")])

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        let (family, c) = try ModelLoader.readConfig(directory: dir)
        let store = try WeightStore(folder: dir)
        var dtypes: [String: Int] = [:]
        for name in store.names { dtypes[try store.dtype(name).rawValue, default: 0] += try store.info(name).elementCount }
        let template = ModelDirectory.chatTemplateSource(dir)
        let windows = Set(c.slidingWindows.compactMap { $0 })
        let layout = family.layout(of: store)
        let skipped = layout.skipped(in: store.names)
        var info: [(String, Any)] = [
            ("model_type", c.modelType),
            ("family", String(describing: family)),
            ("layers", c.numLayers),
            ("d_model", c.hiddenSize),
            ("heads", c.numHeads),
            ("kv_heads", c.numKVHeads),
            ("head_dim", c.headDim),
            ("intermediate_size", c.intermediateSize),
            ("vocab_size", c.vocabSize),
            ("parameters", store.parameterCount),
            ("dtypes", dtypes.keys.sorted().map { "\($0) (\(dtypes[$0] ?? 0) values)" }.joined(separator: ", ")),
            ("declared_dtype", c.declaredDType ?? "-"),
            ("tied_embeddings", c.tieWordEmbeddings),
            ("weight_files", store.files.count),
            ("file_bytes", store.fileByteCount),
            ("rope", c.ropeSummary),
            ("sliding_window", windows.isEmpty ? "none" : "\(windows.sorted()) on \(c.slidingWindows.filter { $0 != nil }.count) of \(c.numLayers) layers"),
            ("layer_types", c.layerTypeSummary),
            ("norms", c.normSummary),
            ("scales", c.scaleSummary),
            ("experts", Self.experts(c)),
            ("attention_sinks", c.blocks.contains { $0.attention.sinks }),
            ("quantization", store.names.contains { $0.hasSuffix("_blocks") } ? "MXFP4 experts (dequantized on load)" : "none"),
            ("config_style", c.configStyle),
            ("eos_token_ids", c.eosTokenIds.map(String.init).joined(separator: ",")),
            ("chat_template", template ?? "none"),
        ]
        if !skipped.isEmpty {
            // A multimodal folder: its other towers are not loaded (and an export copies them unchanged).
            let params = try skipped.reduce(0) { $0 + (try store.info($1).elementCount) }
            info.append(("skipped", "\(layout.skippedDescription): \(skipped.count) tensors, \(params) parameters (not loaded)"))
        }
        if args.flag("--json") {
            var obj: [String: Any] = [:]
            for (k, v) in info { obj[k] = v }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])
            out.print(String(decoding: data, as: UTF8.self))
        } else {
            for (k, v) in info { out.print(k.padding(toLength: 18, withPad: " ", startingAt: 0) + "\(v)") }
        }
    }

    /// Routed experts: total and active per token, per-expert width and routing, which layers (and the dense ones).
    static func experts(_ c: ModelConfig) -> String {
        let sparse = c.blocks.indices.filter { c.blocks[$0].mlp.experts != nil }
        guard let e = sparse.first.flatMap({ c.blocks[$0].mlp.experts }) else { return "none" }
        let routing: String
        switch e.routing {
        case .softmaxTopK(let normalize): routing = "softmax then top \(e.active)" + (normalize ? ", renormalised" : "")
        case .topKSoftmax: routing = "top \(e.active) logits then softmax"
        }
        let dense = c.blocks.indices.filter { c.blocks[$0].mlp.experts == nil }
        return "\(e.experts) total, \(e.active) active per token (width \(e.width), \(routing)) on \(sparse.count) of \(c.numLayers) layers"
            + (dense.isEmpty ? "" : "; dense MLP on layers \(dense.map(String.init).joined(separator: ","))")
    }
}
