import Experiments
import Foundation
import ModelFormats
import Models
import Compute

/// `steer capture DIR --prompts FILE --out acts.safetensors`: activations of a prompt set.
enum CaptureCommand: Command {
    static let spec = CommandSpec(
        name: "capture", summary: "record activations at hook points for a prompt set",
        positionals: [("DIR", "Hugging Face model folder")],
        options: [
            OptionSpec("--prompts", value: "FILE", help: "prompts (JSON, JSONL, CSV or text)", required: true),
            OptionSpec("--field", value: "NAME", help: "field holding the prompt in JSON/JSONL/CSV"),
            OptionSpec("--positions", value: "SPEC", help: "eoi (template tokens after the instruction), -5..-1, -3,-1 or all (default eoi)"),
            OptionSpec("--hooks", value: "LIST", help: "hook points, e.g. resid_pre,attn_out,mlp_out (default resid_pre)"),
            OptionSpec("--reduce", value: "mean|none", help: "average over prompts (Float64 accumulation) or keep every prompt (default mean)"),
            OptionSpec("--raw", help: "use prompts as raw text instead of rendering them with the chat template"),
            OptionSpec("--system", value: "TEXT", help: "system prompt for the chat template"),
            OptionSpec("--batch-size", value: "N", help: "prompts per forward pass (default 16)"),
            OptionSpec("--out", value: "FILE", help: "output .safetensors", required: true),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
            BackendOption.spec,
        ],
        discussion: "Writes one F32 tensor per hook, named like 'resid_pre': [P, L, d] for mean, [N, P, L, d] for none (P = positions; 1 for 'all', which averages over every token).")

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let promptsPath = args.string("--prompts") else { throw UsageError("give the prompts with --prompts FILE") }
        guard let outPath = args.string("--out") else { throw UsageError("give the output file with --out") }
        _ = try ThreadOption.apply(args)
        let reduce = try args.choice("--reduce", ["mean", "none"], default: "mean")
        let points = try (args.string("--hooks") ?? "resid_pre").split(separator: ",").map { name -> HookPoint in
            guard let p = HookPoint.parse(String(name).trimmingCharacters(in: .whitespaces)), p.layer == nil else {
                throw UsageError("unknown hook '\(name)'; use \(HookPoint.allCases.map { String($0.rawValue.dropFirst(5)) }.joined(separator: ", "))")
            }
            return p.point
        }
        let set = try PromptSet.load(URL(fileURLWithPath: promptsPath), field: args.string("--field"))
        let formatter = try ChatFormatter(directory: dir)
        let ids: [[Int]] = try set.rows.map { row in
            args.flag("--raw") ? formatter.tokenizer.encode(row.text)
                : try formatter.promptIds(user: row.text, system: row.system ?? args.string("--system"))
        }
        let positions = try parsePositions(args.string("--positions") ?? "eoi", formatter: formatter, system: args.string("--system"))
        if reduce == "none", positions == .all { throw UsageError("--reduce none needs fixed positions (not 'all')") }
        let model = try ModelLoader.load(directory: dir, precision: try GenerateCommand.precision(args),
                                         backend: try BackendOption.backend(args))
        let capture = ActivationCapture(model: model, batchSize: try args.int("--batch-size", default: 16, range: 1...4096))
        let printer = ProgressPrinter(console: out)
        let L = model.config.numLayers, d = model.config.hiddenSize
        var meta = ["model": dir.path, "prompts": promptsPath, "prompts_sha256": set.sha256, "count": "\(ids.count)",
                    "positions": args.string("--positions") ?? "eoi", "reduce": reduce, "tool": "steer \(SteerCLI.version)"]
        if case .offsets(let o) = positions { meta["offsets"] = o.map(String.init).joined(separator: ",") }
        var writer = SafeTensorsWriter(metadata: meta, protecting: try WeightStore(folder: dir).inputURLs)
        if reduce == "mean" {
            let means = try capture.means(ids, points: points, positions: positions) { printer.update("capture", $0, ids.count) }
            let P: Int
            if case .offsets(let o) = positions { P = o.count } else { P = 1 }
            for p in points { writer.add(String(p.rawValue.dropFirst(5)), floats: (means[p] ?? []).map(Float.init), shape: [P, L, d], as: .f32) }
        } else if case .offsets(let o) = positions {
            let rows = try capture.rows(ids, points: points, offsets: o) { printer.update("capture", $0, ids.count) }
            for p in points { writer.add(String(p.rawValue.dropFirst(5)), floats: rows[p] ?? [], shape: [ids.count, o.count, L, d], as: .f32) }
        }
        printer.finish()
        try writer.write(to: URL(fileURLWithPath: outPath))
        out.info("wrote \(points.count) tensor(s) for \(ids.count) prompts to \(outPath)")
    }

    /// `eoi`, `all`, a range `-5..-1`, or a list `-3,-1`.
    static func parsePositions(_ s: String, formatter: ChatFormatter, system: String?) throws -> CapturePositions {
        switch s {
        case "all": return .all
        case "eoi": return .offsets(try PromptLayout(formatter: formatter, system: system).eoiPositions)
        default:
            if let r = s.range(of: "..") {
                guard let a = Int(s[..<r.lowerBound]), let b = Int(s[r.upperBound...]), a <= b, b < 0 else {
                    throw UsageError("--positions range must look like -5..-1 (negative, ascending), got '\(s)'")
                }
                return .offsets(Array(a...b))
            }
            let parts = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) < 0 }) else {
                throw UsageError("--positions must be eoi, all, -A..-B or negative integers, got '\(s)'")
            }
            return .offsets(parts.compactMap { $0 })
        }
    }
}
