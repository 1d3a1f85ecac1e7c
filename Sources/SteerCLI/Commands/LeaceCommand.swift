import Experiments
import Foundation
import Interventions
import Models

/// `steer leace DIR --harmful F --harmless F --out D`: LEACE erasers beside diff-in-means (SPEC §7).
enum LeaceCommand: Command {
    static let spec = CommandSpec(
        name: "leace", summary: "fit LEACE concept erasers (harmful / harmless) and compare them with directional ablation (SPEC §7)",
        positionals: [("DIR", "Hugging Face chat model folder")],
        options: [
            OptionSpec("--harmful", value: "FILE", help: "harmful prompts to fit on (all of them with --harmful-test; else split by --seed)", required: true),
            OptionSpec("--harmless", value: "FILE", help: "harmless prompts, the same way", required: true),
            OptionSpec("--harmful-test", value: "FILE", help: "held-out harmful prompts (with --harmless-test)"),
            OptionSpec("--harmless-test", value: "FILE", help: "held-out harmless prompts"),
            OptionSpec("--field", value: "NAME", help: "JSON/JSONL/CSV field holding the prompt (default instruction, prompt or goal)"),
            OptionSpec("--n-train", value: "N", help: "without test files: fitting prompts per class (default 128)"),
            OptionSpec("--n-val", value: "N", help: "without test files: validation prompts per class, unused here but split off as in steer refusal (default 32)"),
            OptionSpec("--n-test", value: "N", help: "without test files: test prompts per class (default: all that are left)"),
            OptionSpec("--seed", value: "S", help: "seed of the split (default 0)"),
            OptionSpec("--positions", value: "-1|eoi|LIST", help: "prompt positions to fit on: -1 (default), eoi (every post-instruction position, pooled) or negative offsets such as -2,-1"),
            OptionSpec("--layers", value: "a-b|all", help: "layers to fit and erase at (default all)"),
            OptionSpec("--no-shrinkage", help: "plain (Bessel-corrected) covariance instead of optimal linear shrinkage"),
            OptionSpec("--svd-tol", value: "X", help: "drop singular values of W·Σ_xz at or below X (default 0.01, as concept-erasure)"),
            OptionSpec("--direction", value: "FILE", help: "diff-in-means direction file (e.g. RUN/direction.safetensors) to compare directional ablation"),
            OptionSpec("--max-new-tokens", value: "N", help: "greedy tokens per completion (default 64)"),
            OptionSpec("--batch-size", value: "N", help: "prompts per forward pass (default 16)"),
            OptionSpec("--system", value: "TEXT", help: "system prompt for every prompt (default none)"),
            OptionSpec("--out", value: "D", help: "output folder (created; an existing one resumes)", required: true),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
        ],
        discussion: """
        Fits, per layer, the LEACE eraser of the concept harmful (1) / harmless (0) from resid_pre at the chosen positions
        (concept-erasure 0.2.4's LeaceFitter, Float64), writes D/eraser.safetensors (layer.L.proj_left [d, k],
        layer.L.proj_right [k, d], layer.L.bias [d]; x' = x − proj_left·(proj_right·(x − bias))), then generates on the
        test prompts: baseline, LEACE at every fitted layer (resid_pre, every position) and, with --direction,
        directional ablation. Writes D/evaluation.json, D/fit.json, D/completions/ and D/report.html.
        Apply an eraser with steer generate --erase D/eraser.safetensors [--layers a-b].
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let outPath = args.string("--out") else { throw UsageError("give the output folder with --out D") }
        let folder = URL(fileURLWithPath: outPath, isDirectory: true)
        try ModelDirectory.refuseInside(folder, dir)
        let threads = try ThreadOption.apply(args)
        let prompts = try loadPrompts(args)
        let (_, config) = try ModelLoader.readConfig(directory: dir)

        var settings = LeaceRunSettings()
        settings.fitting.shrinkage = !args.flag("--no-shrinkage")
        settings.fitting.svdTol = try args.double("--svd-tol", range: Double.leastNonzeroMagnitude...Double.greatestFiniteMagnitude) ?? 0.01
        settings.offsets = try positions(args.string("--positions") ?? "-1")
        settings.layers = try args.string("--layers").map { try LayerArgument.parse($0, option: "--layers", layerCount: config.numLayers) }
        settings.maxNewTokens = try args.int("--max-new-tokens", default: 64, range: 1...100_000)
        settings.batchSize = try args.int("--batch-size", default: 16, range: 1...4096)
        settings.system = args.string("--system")
        let directionPath = args.string("--direction")

        let t0 = Date()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        out.info("hashing model files…")
        let hashes = try RunManifest.modelHashes(dir, cacheIn: folder)
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args))
        let direction = try directionPath.map { path -> [Float] in
            let d = try Direction.read(from: URL(fileURLWithPath: path))
            try d.check(dModel: model.config.hiddenSize, path: path)
            return try d.requireVector(path: path)
        }
        let formatter = try ChatFormatter(directory: dir)
        let comparison = try LeaceComparison(model: model, formatter: formatter, settings: settings, folder: folder,
                                             inputKey: RunManifest.combinedHash(hashes) + prompts.key)
        let printer = ProgressPrinter(console: out)
        comparison.progress = printer.update
        let command = CommandLine.arguments.joined(separator: " "), tool = "steer \(SteerCLI.version)"
        try comparison.store.saveJSON(LeaceConfig(model: dir.path, modelFiles: hashes, settings: settings, prompts: prompts.provenance,
                                                  direction: directionPath, tool: tool, command: command, threads: threads), "config.json")
        let run = try comparison.run(prompts.sets, direction: direction,
                                     metadata: ["tool_version": tool, "model_hash": RunManifest.combinedHash(hashes)])
        printer.finish()
        let provenance = RunProvenance(
            command: command, tool: tool, seed: prompts.seed, modelHash: RunManifest.combinedHash(hashes), threads: threads,
            details: [("model folder", dir.path)] + (directionPath.map { [("direction", $0)] } ?? [])
                + PromptOptions.provenanceRows(prompts.provenance))
        try LeaceReport.write(run, model: model, settings: settings, store: comparison.store, provenance: provenance)
        printSummary(run, folder: folder, seconds: Date().timeIntervalSince(t0), out: out)
    }

    struct Prompts {
        var sets: LeacePrompts
        var provenance: [String: PromptSource]
        /// Hash of everything that decides the prompts, for stage caching.
        var key: String
        /// The split's seed (nil when test files were given and nothing was split).
        var seed: Int?
    }

    /// With both test files: every prompt of --harmful / --harmless is fitted on (no split; a prompt also in a
    /// test file is an error). Without: each file is split as `steer refusal` splits it, fitting on train.
    static func loadPrompts(_ args: ParsedArguments) throws -> Prompts {
        let field = args.string("--field")
        guard let harmful = args.string("--harmful"), let harmless = args.string("--harmless") else {
            throw UsageError("give --harmful FILE and --harmless FILE")
        }
        let h: PromptSplit, l: PromptSplit, seed: Int?
        switch (args.string("--harmful-test"), args.string("--harmless-test")) {
        case let (ht?, lt?):
            for name in ["--n-train", "--n-val", "--n-test", "--seed"] where args.string(name) != nil {
                throw UsageError("\(name) splits --harmful/--harmless; with --harmful-test and --harmless-test every prompt is fitted on")
            }
            func sets(_ fit: String, _ test: String) throws -> PromptSplit {
                try PromptSplit.fromSets(train: try PromptSet.load(URL(fileURLWithPath: fit), field: field), val: nil,
                                         test: try PromptSet.load(URL(fileURLWithPath: test), field: field))
            }
            (h, l, seed) = (try sets(harmful, ht), try sets(harmless, lt), nil)
        case (nil, nil):
            let s = try args.int("--seed", default: 0, range: 0...Int.max)
            let train = try args.int("--n-train", default: PromptSplit.defaultTrain, range: 1...1_000_000)
            let val = try args.int("--n-val", default: PromptSplit.defaultVal, range: 0...1_000_000)
            let test = try args.int("--n-test", range: 1...1_000_000)
            func split(_ file: String) throws -> PromptSplit {
                try PromptSplit.load(URL(fileURLWithPath: file), field: field, train: train, val: val, test: test, seed: UInt64(s))
            }
            (h, l, seed) = (try split(harmful), try split(harmless), s)
        default:
            throw UsageError("give both --harmful-test and --harmless-test, or neither (then --harmful/--harmless are split)")
        }
        guard !h.test.isEmpty, !l.test.isEmpty else {
            throw UsageError("no test prompts are left after the split (harmful \(h.test.count), harmless \(l.test.count)): give --harmful-test and --harmless-test, or lower --n-train / --n-val")
        }
        let provenance = PromptOptions.sources(harmful: h, harmless: l)
        let key = PromptOptions.fileKey(provenance) + ";\(h.train.count),\(h.test.count),\(l.train.count),\(l.test.count),\(seed ?? -1),\(field ?? "")"
        return Prompts(sets: LeacePrompts(harmfulFit: h.train.map(\.text), harmlessFit: l.train.map(\.text),
                                          harmfulTest: h.test.map(\.text), harmlessTest: l.test.map(\.text)),
                       provenance: provenance, key: key, seed: seed)
    }

    /// `-1`, `eoi` or a list of negative offsets.
    static func positions(_ s: String) throws -> [Int]? {
        if s.trimmingCharacters(in: .whitespaces) == "eoi" { return nil }
        let offsets = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !offsets.isEmpty, offsets.allSatisfy({ ($0 ?? 0) < 0 }) else {
            throw UsageError("--positions expects -1, eoi or negative offsets such as -2,-1; got '\(s)'")
        }
        return offsets.compactMap { $0 }
    }

    static func printSummary(_ run: LeaceRun, folder: URL, seconds: Double, out: Console) {
        let e = run.evaluation
        func pct(_ key: String) -> String { e.value(e.refusalRate, key).map { String(format: "%.0f%%", 100 * $0) } ?? "—" }
        func num(_ v: Double?) -> String { v.map { HTML.significant($0, digits: 3) } ?? "—" }
        let erased = run.layers.filter { $0.identityReason == nil }.map(\.layer)
        out.print("positions        \(e.positions)  (\(run.layers.first?.rows ?? 0) fitting rows per layer)")
        out.print("layers erased    \(erased.map(String.init).joined(separator: ","))")
        for s in run.layers where s.identityReason != nil { out.print("identity eraser  layer \(s.layer): \(s.identityReason ?? "")") }
        out.print("refusal harmful  baseline \(pct("harmful_baseline"))  LEACE \(pct("harmful_leace"))  ablation \(pct("harmful_ablation"))   (n=\(e.n.harmfulTest))")
        out.print("refusal harmless baseline \(pct("harmless_baseline"))  LEACE \(pct("harmless_leace"))  ablation \(pct("harmless_ablation"))   (n=\(e.n.harmlessTest))")
        out.print("KL harmless      LEACE \(num(e.value(e.klHarmless, "leace")))  ablation \(num(e.value(e.klHarmless, "ablation")))")
        out.print("CE loss          baseline \(num(e.value(e.ceLoss, "baseline")))  LEACE \(num(e.value(e.ceLoss, "leace")))  ablation \(num(e.value(e.ceLoss, "ablation")))")
        let worst = zip(e.classMeanGap.before, e.classMeanGap.after).map { $0 > 0 ? $1 / $0 : 0 }.max() ?? 0
        out.print("class-mean gap   after / before ≤ \(HTML.significant(worst, digits: 2)) at every layer")
        out.print(String(format: "time             %.1fs  (", seconds)
                  + run.timings.keys.sorted().map { String(format: "%@ %.1fs", $0, run.timings[$0] ?? 0) }.joined(separator: ", ") + ")")
        out.print("eraser           \(folder.appendingPathComponent("eraser.safetensors").path)")
        out.print("report           \(folder.appendingPathComponent("report.html").path)")
    }
}

/// `config.json` of `steer leace`.
struct LeaceConfig: Encodable {
    var model: String
    var modelFiles: [RunManifest.FileHash]
    var settings: LeaceRunSettings
    var prompts: [String: PromptSource]
    var direction: String?
    var tool: String
    var command: String
    var threads: Int

    enum CodingKeys: String, CodingKey {
        case model, settings, prompts, direction, tool, command, threads
        case modelFiles = "model_files"
    }
}
