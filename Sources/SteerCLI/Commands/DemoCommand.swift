import Experiments
import Foundation
import Interventions
import Models
import Compute

/// `steer demo`: the whole refusal-direction method on the bundled demo model, then abliteration.
enum DemoCommand: Command {
    static let spec = CommandSpec(
        name: "demo", summary: "run the refusal pipeline and abliteration on the bundled demo model",
        options: [
            OptionSpec("--out", value: "DIR", help: "output folder (default runs/demo in the checkout)"),
            OptionSpec("--model", value: "DIR", help: "model folder (default models/refusal-demo)"),
            OptionSpec("--data", value: "DIR", help: "prompt folder with harmful_/harmless_ train/val/test JSON (default data/prompts)"),
            OptionSpec("--quick", help: "fewer prompts (for tests): 64 train, 16 val, 24 test per class"),
            ThreadOption.spec,
            BackendOption.spec,
        ],
        discussion: "Prints the selected position and layer, refusal rates before / after ablation / with addition, KL, and where the report is.")

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        // The checkout is only needed for the defaults.
        func inCheckout(_ path: String) throws -> URL { try locateCheckout().appendingPathComponent(path, isDirectory: true) }
        let model = try args.string("--model").map { URL(fileURLWithPath: $0, isDirectory: true) } ?? inCheckout("models/refusal-demo")
        let data = try args.string("--data").map { URL(fileURLWithPath: $0, isDirectory: true) } ?? inCheckout("data/prompts")
        let outDir = try args.string("--out").map { URL(fileURLWithPath: $0, isDirectory: true) } ?? inCheckout("runs/demo")
        let quick = args.flag("--quick")
        var refusal = ["refusal", model.path, "--out", outDir.appendingPathComponent("run").path,
                       "--max-new-tokens", "32", "--batch-size", "32"]
        for cls in ["harmful", "harmless"] {
            for split in ["train", "val", "test"] {
                refusal += ["--\(cls)-\(split)", data.appendingPathComponent("\(cls)_\(split).json").path]
            }
        }
        refusal += quick ? ["--n-train", "64", "--n-val", "16", "--n-test", "24"] : ["--n-train", "128", "--n-val", "32"]
        if let t = args.string("--threads") { refusal += ["--threads", t] }
        if let b = args.string("--backend") { refusal += ["--backend", b] }
        let t0 = Date()
        out.print("== steer refusal on \(model.path)")
        let parsed = try ParsedArguments.parse(Array(refusal.dropFirst()), spec: RefusalCommand.spec)
        try RefusalCommand.run(parsed, out)

        // Abliterate with the selected direction, and check the export against hook ablation.
        let direction = try Direction.read(from: outDir.appendingPathComponent("run/direction.safetensors")).requireVector(path: "direction")
        let exported = outDir.appendingPathComponent("abliterated", isDirectory: true)
        out.print("\n== steer abliterate → \(exported.path)")
        // Float32 weights keep the edit exact, so the export can be checked against hook ablation to 1e-4
        // (a bf16 export would round the edited weights; `steer abliterate --dtype same` keeps bf16).
        var options = AbliterationOptions()
        options.force = true
        options.outputDType = .f32
        let report = try WeightOrthogonalizer.export(model: model, direction: direction, to: exported, options: options)
        let (diff, bound) = try exportCheck(original: model, exported: exported, direction: direction, data: data)
        out.print(String(format: "edited %d tensors in %.1fs; exported logits vs hook ablation: max |Δ| = %.2e (float32 rounding bound %.2e)",
                         report.editedTensors.count, report.seconds, diff, bound))
        out.print(String(format: "\ndemo finished in %.1fs. Open %@", Date().timeIntervalSince(t0),
                         outDir.appendingPathComponent("run/report.html").path))
    }

    /// Largest logit difference between the exported model and hook ablation on a few test prompts, and how
    /// large float32 rounding alone could make it (`ModelConfig.roundingBound`, counting the edit's projection
    /// in each edited matrix and the hooks' projections as further reductions).
    static func exportCheck(original: URL, exported: URL, direction: [Float], data: URL) throws -> (diff: Float, bound: Float) {
        let a = try ModelLoader.load(directory: original), b = try ModelLoader.load(directory: exported)
        let formatter = try ChatFormatter(directory: original)
        let prompts = try PromptSet.load(data.appendingPathComponent("harmful_test.json")).texts.prefix(4)
            .map { try formatter.promptIds(user: $0) }
        let edits = try DirectionalAblation.matchingWeightEdit(direction: direction).edits(for: a)
        let (_, x) = try a.prefill(Array(prompts), edits: edits, logits: .all)
        let (_, y) = try b.prefill(Array(prompts), logits: .all)
        guard let x, let y, x.count == y.count else { return (.nan, .nan) }
        var worst: Float = 0, largest: Float = 0
        for i in 0..<x.count { worst = max(worst, abs(x[i] - y[i])); largest = max(largest, abs(x[i]), abs(y[i])) }
        let c = a.config, steps = prompts.map(\.count).max() ?? 0
        let bound = c.roundingBound(magnitude: Double(largest), tokens: steps, extra: Array(repeating: c.hiddenSize, count: 4 * c.numLayers + 2))
        return (worst, Float(bound))
    }

    /// The Steer checkout (holding models/ and data/): from the working directory or the executable upwards.
    static func locateCheckout() throws -> URL {
        var starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        starts.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
        for start in starts {
            var dir = start
            for _ in 0..<8 {
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent("models/refusal-demo/config.json").path) { return dir }
                dir.deleteLastPathComponent()
            }
        }
        throw UsageError("cannot find models/refusal-demo; run from the Steer checkout or pass --model and --data")
    }
}
