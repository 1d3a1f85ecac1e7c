import Foundation
import Compute
import Interventions
import ModelFormats
import Models

/// `steer abliterate DIR --direction FILE --out NEWDIR`: export a copy of the model with the
/// direction orthogonalized out of every matrix that writes into the residual stream.
enum AbliterateCommand: Command {
    static let spec = CommandSpec(
        name: "abliterate", summary: "export a copy of a model with a direction removed from its weights",
        positionals: [("DIR", "Hugging Face model folder (never modified)")],
        options: [
            OptionSpec("--direction", value: "FILE", help: "direction file (safetensors with a 'direction' tensor)", required: true),
            OptionSpec("--out", value: "NEWDIR", help: "output model folder (must not exist, be empty, or use --force)", required: true),
            OptionSpec("--layers", value: "a-b", help: "edit only blocks a..b (default all); the embedding only if a = 0"),
            OptionSpec("--projected", help: "first remove the harmless-mean component from the direction"),
            OptionSpec("--harmless-mean", value: "FILE", help: "file with 'harmless_mean' [L, d] or [d] (default: the direction file's)"),
            OptionSpec("--norm-preserving", help: "keep the norm of every vector written into the stream"),
        ] + WeightingArgument.options + [
            OptionSpec("--force", help: "write into an existing non-empty output folder"),
            OptionSpec("--dtype", value: "same|f32|bf16|f16", help: "dtype of the exported weights (default same as the source)"),
        ],
        discussion: """
        Every matrix that writes into the residual stream — token embedding, attention output projections,
        MLP down projections, and their biases — becomes W − r̂ r̂ᵀ W. The export equals directional ablation
        with hooks (steer generate --ablate) to float tolerance, and loads unchanged in transformers: same
        tensor names, dtypes and shards, other files copied. A tied output head is untied (lm_head.weight = the
        original embedding, tie_word_embeddings: false). On Gemma-2 the output/down projections are projected
        against normalize((1+w) ⊙ r̂), w the following post-norm's weight.
        --projected: r ← r − (r·ĥ)ĥ, ĥ the harmless mean at the direction's layer (metadata 'layer').
        --norm-preserving: each embedding row, projection column and bias loses its component along r̂ and is
        rescaled to its original norm (not equal to hook ablation).
        --peak L --width W: per-layer strengths as heretic parametrises them: block l's projections become
        W − s·r̂ r̂ᵀ W with s = max-weight at the peak, falling linearly to min-weight at distance W, no edit
        beyond; the embedding is not edited. Equals steer generate --ablate FILE --peak L --width W.
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let directionPath = args.string("--direction") else { throw UsageError("give the direction file with --direction") }
        guard let outPath = args.string("--out") else { throw UsageError("give the output folder with --out") }
        let directionURL = URL(fileURLWithPath: directionPath)
        let direction = try Direction.read(from: directionURL)
        let (_, config) = try ModelLoader.readConfig(directory: dir)
        try direction.check(dModel: config.hiddenSize, path: directionPath)
        var options = AbliterationOptions(normPreserving: args.flag("--norm-preserving"), force: args.flag("--force"))
        switch try args.choice("--dtype", ["same", "f32", "bf16", "f16"], default: "same") {
        case "f32": options.outputDType = .f32
        case "bf16": options.outputDType = .bf16
        case "f16": options.outputDType = .f16
        default: break
        }
        if let s = args.string("--layers") { options.layers = try LayerArgument.parse(s, option: "--layers", layerCount: config.numLayers) }
        options.weighting = try WeightingArgument.parse(args)
        if args.flag("--projected") {
            if let path = args.string("--harmless-mean") {
                let mean = Direction(harmlessMean: try Direction.readHarmlessMean(from: URL(fileURLWithPath: path)))
                options.projectOut = try mean.harmlessMeanRow(layer: direction.layer, path: path)
            } else {
                options.projectOut = try direction.harmlessMeanRow(path: directionPath)
            }
        } else if args.string("--harmless-mean") != nil {
            throw UsageError("--harmless-mean only applies with --projected")
        }
        options.metadata = ["version": SteerCLI.version, "direction_file": directionURL.standardizedFileURL.path]
        for (k, v) in direction.metadata { options.metadata["direction." + k] = v }
        let report = try WeightOrthogonalizer.export(model: dir, direction: try direction.requireVector(path: directionPath),
                                                     to: URL(fileURLWithPath: outPath), options: options,
                                                     progress: { out.progress($0) })
        out.endProgress()
        let shown = report.editedTensors.prefix(6).joined(separator: ", ")
        out.print("edited \(report.editedTensors.count) tensors (\(shown)\(report.editedTensors.count > 6 ? ", …" : ""))")
        if report.untiedHead { out.print("untied the output head: lm_head.weight = original embedding, tie_word_embeddings: false") }
        out.print("wrote \(report.filesWritten.count) files to \(outPath): \(report.filesWritten.joined(separator: ", "))")
        if !report.skipped.isEmpty { out.print("not copied: \(report.skipped.joined(separator: ", "))") }
        out.print(String(format: "done in %.2f s", report.seconds))
    }
}

/// Layer selections on the command line: `all`, `L`, `a-b` (inclusive), or `a,b,c`.
enum LayerArgument {
    static func parse(_ s: String, option: String, layerCount: Int) throws -> [Int] {
        let t = s.trimmingCharacters(in: .whitespaces)
        if t == "all" { return Array(0..<layerCount) }
        var layers: [Int] = []
        for part in t.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard (1...2).contains(bounds.count), let a = bounds.first ?? nil, let b = bounds.last ?? nil, a <= b else {
                throw UsageError("option '\(option)' expects all, L, a-b or a,b,c; got '\(s)'")
            }
            layers += Array(a...b)
        }
        if let bad = layers.first(where: { !(0..<layerCount).contains($0) }) {
            throw UsageError("option '\(option)': layer \(bad) is outside 0..<\(layerCount)")
        }
        return Array(Set(layers)).sorted()
    }
}

/// Per-layer strengths on the command line: `--peak L --width W [--max-weight A] [--min-weight B]`.
enum WeightingArgument {
    static let options: [OptionSpec] = [
        OptionSpec("--peak", value: "L", help: "per-layer strength: full strength at block L (may be fractional)"),
        OptionSpec("--width", value: "W", help: "with --peak: strength falls linearly to --min-weight at W blocks away, 0 beyond"),
        OptionSpec("--max-weight", value: "A", help: "with --peak: strength at the peak (default 1, in [0, 2])"),
        OptionSpec("--min-weight", value: "B", help: "with --peak: strength at distance --width (default 0, in [0, 2])"),
    ]

    /// The weighting the flags ask for, nil without --peak.
    static func parse(_ args: ParsedArguments) throws -> LayerWeighting? {
        guard let peak = try args.double("--peak") else {
            for flag in ["--width", "--max-weight", "--min-weight"] where args.string(flag) != nil {
                throw UsageError("\(flag) needs --peak L")
            }
            return nil
        }
        guard let width = try args.double("--width") else { throw UsageError("--peak needs --width W") }
        do {
            return try LayerWeighting(peak: peak, width: width, max: try args.double("--max-weight") ?? 1,
                                      min: try args.double("--min-weight") ?? 0)
        } catch let e as InterventionError {
            throw UsageError(e.description)
        }
    }
}
