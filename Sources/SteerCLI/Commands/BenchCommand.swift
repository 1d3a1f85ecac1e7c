import Foundation
import Models
import Compute

/// `steer bench DIR`: prefill and decode throughput, memory, and the machine's sgemm rate; with
/// `--compare`, transformers on torch CPU measured in the same invocation and the ratios.
enum BenchCommand: Command {
    static let spec = CommandSpec(
        name: "bench", summary: "measure prefill/decode speed and memory (optionally against transformers)",
        positionals: [("DIR", "model folder (scripts/make_bench_model.py makes a Qwen2-0.5B-shaped one)")],
        options: [
            OptionSpec("--prompts", value: "N", help: "prompts in the prefill batch (default 16)"),
            OptionSpec("--prompt-tokens", value: "N", help: "tokens per prompt (default 64)"),
            OptionSpec("--new-tokens", value: "N", help: "greedy tokens per decode run (default 128)"),
            OptionSpec("--decode-batches", value: "LIST", help: "decode batch sizes (default 1,16)"),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            ThreadOption.spec,
            OptionSpec("--compare", help: "also run scripts/bench_transformers.py and print ratios"),
            OptionSpec("--json", value: "FILE", help: "also write the figures as JSON"),
        ])

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        let prompts = try args.int("--prompts", default: 16, range: 1...4096)
        let promptTokens = try args.int("--prompt-tokens", default: 64, range: 1...100_000)
        let newTokens = try args.int("--new-tokens", default: 128, range: 1...100_000)
        let batches = try args.intList("--decode-batches") ?? [1, 16]
        guard batches.allSatisfy({ $0 > 0 }) else { throw UsageError("--decode-batches must be positive") }
        let threads = try ThreadOption.apply(args)
        let precision = try GenerateCommand.precision(args)

        var figures: [String: Double] = [:]
        let gflops = CPUBackend.shared.measureGFLOPS()
        figures["sgemm_gflops"] = gflops
        out.print(String(format: "machine sgemm            %.1f GFLOP/s (%d threads)", gflops, threads))

        let rssBefore = Memory.residentBytes()
        let t0 = Date()
        let model = try ModelLoader.load(directory: dir, precision: precision)
        figures["load_seconds"] = Date().timeIntervalSince(t0)
        let c = model.config
        var rng = SeededGenerator(seed: 1)
        func randomPrompt(_ n: Int) -> [Int] { (0..<n).map { _ in Int.random(in: 0..<c.vocabSize, using: &rng) } }

        // Prefill: one batched forward pass (warm-up on a small batch first).
        _ = try model.prefill([randomPrompt(8)])
        let batch = (0..<prompts).map { _ in randomPrompt(promptTokens) }
        let tp = Date()
        _ = try model.prefill(batch, logits: .last)
        let prefillSeconds = Date().timeIntervalSince(tp)
        let tokens = Double(prompts * promptTokens)
        let matrixParams = c.blocks.reduce(0.0) { total, b in
            let a = b.attention
            return total + Double(c.hiddenSize * a.qkvWidth + a.qDim * c.hiddenSize + 3 * c.hiddenSize * b.mlp.width)
        }
        let prefillGF = (2 * matrixParams * tokens + 2 * Double(prompts * c.vocabSize * c.hiddenSize)) / prefillSeconds / 1e9
        figures["prefill_tokens_per_s"] = tokens / prefillSeconds
        figures["prefill_gflops"] = prefillGF
        out.print(String(format: "prefill %dx%d            %.1f tokens/s, %.1f GFLOP/s (%.0f%% of sgemm)",
                         prompts, promptTokens, tokens / prefillSeconds, prefillGF, 100 * prefillGF / gflops))

        for b in batches {
            // Decode alone: from the first sampled token (after prefill) to the last, as the reference does.
            _ = try model.generate((0..<b).map { _ in randomPrompt(promptTokens) }, options: GenerationOptions(maxNewTokens: 4))
            let ps = (0..<b).map { _ in randomPrompt(promptTokens) }
            var first: Date?, last = Date()
            _ = try model.generate(ps, options: GenerationOptions(maxNewTokens: newTokens)) { row, _ in
                if first == nil { first = Date() }
                if row == b - 1 { last = Date() }
            }
            let secs = last.timeIntervalSince(first ?? last)
            let made = Double(b * (newTokens - 1))
            figures["decode_b\(b)_tokens_per_s"] = made / secs
            out.print(String(format: "decode batch %-3d          %.1f tokens/s (%d-token prompts, %d new tokens each)",
                             b, made / secs, promptTokens, newTokens))
        }
        let peak = Memory.peakResidentBytes()
        let files = Double(ModelDirectory.weightFileBytes(dir))
        figures["peak_rss_bytes"] = Double(peak)
        figures["weight_file_bytes"] = files
        figures["rss_before_load_bytes"] = Double(rssBefore)
        out.print(String(format: "peak resident memory     %.0f MiB (weight files %.0f MiB, ratio %.2f, weights=%@)",
                         Double(peak) / 1048576, files / 1048576, Double(peak) / files, precision.rawValue))

        if args.flag("--compare") {
            out.info("running transformers for comparison (scripts/py.sh scripts/bench_transformers.py)…")
            let ref = try ReferenceBenchmark.run(model: dir, newTokens: newTokens, threads: threads)
            func ratio(_ key: String) {
                guard let ours = figures[key], let theirs = ref[key], theirs > 0 else { return }
                figures["ratio_" + key] = ours / theirs
                out.print(String(format: "  %-26@ steer %.1f  transformers %.1f  ratio %.2fx", key as NSString, ours, theirs, ours / theirs))
            }
            out.print("against transformers (torch CPU, same threads):")
            for k in ["prefill_tokens_per_s"] + batches.map({ "decode_b\($0)_tokens_per_s" }) { ratio(k) }
            if let p = ref["peak_rss_bytes"] {
                out.print(String(format: "  peak memory              steer %.0f MiB  transformers %.0f MiB", Double(peak) / 1048576, p / 1048576))
            }
            for (k, v) in ref { figures["transformers_" + k] = v }
        }
        if let path = args.string("--json") {
            let data = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys, .prettyPrinted])
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        }
    }
}
