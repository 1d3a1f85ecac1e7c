import Compute
import CUDABackend
import Foundation
import Models

/// `steer bench DIR`: prefill and decode throughput (medians of repeated runs with their spread),
/// memory, and what the machine can do (sgemm rate, memory read bandwidth, CPU, kernels); with
/// `--compare`, transformers on torch CPU measured in the same invocation on the same token ids, at
/// the same threads, computing the same logits, and the ratios.
enum BenchCommand: Command {
    static let spec = CommandSpec(
        name: "bench", summary: "measure prefill/decode speed and memory (optionally against transformers)",
        positionals: [("DIR", "model folder (scripts/make_bench_model.py makes a Qwen2-0.5B-shaped one)")],
        options: [
            OptionSpec("--prefill", value: "LIST", help: "prefill batches as PROMPTSxTOKENS (default 16x64,1x512)"),
            OptionSpec("--prompts", value: "N", help: "one prefill batch of N prompts (of --prompt-tokens) instead of --prefill"),
            OptionSpec("--prompt-tokens", value: "N", help: "tokens per prompt of the decode runs (and of --prompts; default 64)"),
            OptionSpec("--new-tokens", value: "N", help: "greedy tokens per decode run (default 128)"),
            OptionSpec("--decode-batches", value: "LIST", help: "decode batch sizes (default 1,16)"),
            OptionSpec("--repeat", value: "N", help: "timed runs of every figure, after one warm-up (default 3)"),
            OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
            OptionSpec("--bandwidth-mib", value: "N", help: "buffer of the memory read measurement (default 1024: far beyond caches)"),
            ThreadOption.spec,
            BackendOption.spec,
            OptionSpec("--compare", help: "also run scripts/bench_transformers.py on the same ids and print ratios"),
            OptionSpec("--json", value: "FILE", help: "also write the figures as JSON"),
        ])

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        let promptTokens = try args.int("--prompt-tokens", default: 64, range: 1...100_000)
        let shapes = try prefillShapes(args, promptTokens: promptTokens)
        let newTokens = try args.int("--new-tokens", default: 128, range: 2...100_000)
        let batches = try args.intList("--decode-batches") ?? [1, 16]
        guard batches.allSatisfy({ $0 > 0 }) else { throw UsageError("--decode-batches must be positive") }
        let repeats = try args.int("--repeat", default: 3, range: 1...100)
        let bandwidthMiB = try args.int("--bandwidth-mib", default: 1024, range: 1...65_536)
        let threads = try ThreadOption.apply(args)
        let precision = try GenerateCommand.precision(args)
        let backend = try BackendOption.backend(args), cpu = CPUBackend.shared

        var figures: [String: Double] = [:]
        let loadBefore = BenchMachine.loadAverage
        let rssBefore = Memory.residentBytes()
        let t0 = Date()
        let model = try ModelLoader.load(directory: dir, precision: precision, backend: backend)
        figures["load_seconds"] = Date().timeIntervalSince(t0)
        var runner = BenchRunner(model: model, repeats: repeats)

        // Model runs first, then the memory figure, then the machine's rates (their 1 GiB read buffer
        // would otherwise count in the peak resident memory).
        var prefillIds: [(String, [[Int]])] = [], decodeIds: [(Int, [[Int]])] = []
        var ours: [(key: String, label: String, sample: BenchSample)] = []
        for (p, t) in shapes {
            let name = "\(p)x\(t)"
            out.info("prefill \(name)…")
            prefillIds.append((name, runner.prompts(p, t)))
            ours.append(("prefill_\(name)", "prefill \(name)", try runner.prefill(prefillIds.last!.1)))
        }
        for b in batches {
            out.info("decode batch \(b)…")
            decodeIds.append((b, runner.prompts(b, promptTokens)))
            ours.append(("decode_b\(b)", "decode batch \(b)", try runner.decode(decodeIds.last!.1, newTokens: newTokens)))
        }
        let peak = Double(Memory.peakResidentBytes())
        out.info("machine rates…")
        let gflops = cpu.measureGFLOPS(), bandwidth = cpu.measureBandwidth(bytes: bandwidthMiB << 20)
        let fmaPeak = cpu.measureFMAPeak(), weightRead = batches.isEmpty ? nil : cpu.measureBandwidth(of: runner.decodeWeights)

        let kernels = cpu.kernels, stepBytes = runner.decodeBytesPerStep
        out.print("machine        \(BenchMachine.cpuModel), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(threads) threads")
        if let gpu = backend as? CUDABackend {
            out.print("backend        cuda on \(gpu.deviceDescription), " + (gpu.fidelity ? "Float32 products (fidelity)" : "16-bit products"))
        }
        out.print("kernels        Steer \(kernels.own) (matrix products, attention; one pool) · system BLAS \(kernels.blas) "
                  + (kernels.blasRunsProducts ? "runs row-major products, one thread per block" : "unused"))
        out.print(String(format: "sgemm          %.1f GFLOP/s (1024³ Float32 product as a converted model runs it, best of 5)", gflops))
        out.print(String(format: "fma peak       %.1f GFLOP/s (register-only fused multiply-adds on every thread: no product can pass it)", fmaPeak))
        out.print(String(format: "memory read    %.1f GB/s (%d MiB streaming read of fresh memory, best of 5)", bandwidth, bandwidthMiB))
        if let w = weightRead {
            out.print(String(format: "weights read   %.1f GB/s (the same streaming read over the decode step's own weight memory, best of 5)", w))
            figures["weight_memory_read_gb_per_s"] = w
        }
        out.print(String(format: "weights        %@, %.1f MB of matrices read per decode step; tokens/s: median [min–max] of %d runs",
                         precision.rawValue, stepBytes / 1e6, repeats))
        figures["sgemm_gflops"] = gflops
        figures["memory_read_gb_per_s"] = bandwidth
        figures["fma_peak_gflops"] = fmaPeak
        figures["decode_weight_bytes_per_step"] = stepBytes
        var ceilings: [String: Double] = [:]
        for (i, (key, label, sample)) in ours.enumerated() {
            sample.record(key + "_tokens_per_s", into: &figures)
            if i < shapes.count {
                let (p, t) = shapes[i]
                if i == 0 { figures["prefill_tokens_per_s"] = sample.median }  // the first batch, under the key older builds wrote
                let gf = runner.prefillFLOPs(prompts: p, tokens: t) * sample.median / Double(p * t) / 1e9
                figures[key + "_gflops"] = gf
                ceilings[key] = sample.median * fmaPeak / gf
                out.print(pad(label, 16) + pad(sample.text + " tokens/s", 33)
                          + String(format: "%.1f GFLOP/s (%.0f%% of sgemm, %.0f%% of fma peak)", gf, 100 * gf / gflops, 100 * gf / fmaPeak))
            } else {
                let b = batches[i - shapes.count]
                let gbs = stepBytes * sample.median / Double(b) / 1e9
                figures[key + "_gb_per_s"] = gbs
                let own = weightRead.map { String(format: ", %.0f%% of the weights' read", 100 * gbs / $0) } ?? ""
                out.print(pad(label, 16) + pad(sample.text + " tokens/s", 33)
                          + String(format: "weights read at %.1f GB/s (%.0f%% of memory read", gbs, 100 * gbs / bandwidth) + own + ")")
            }
        }
        let files = Double(ModelDirectory.weightFileBytes(dir))
        figures["peak_rss_bytes"] = peak
        figures["weight_file_bytes"] = files
        figures["rss_before_load_bytes"] = Double(rssBefore)
        out.print(String(format: "peak resident memory  %.0f MiB (weight files %.0f MiB, ratio %.2f, weights=%@)",
                         peak / 1048576, files / 1048576, peak / max(1, files), precision.rawValue))

        if args.flag("--compare") {
            out.info("running transformers on the same ids (scripts/py.sh scripts/bench_transformers.py)…")
            let ref = try ReferenceBenchmark.run(model: dir, prefill: prefillIds, decode: decodeIds, newTokens: newTokens,
                                                 threads: threads, repeats: repeats, dtype: precision.rawValue,
                                                 device: backend is CUDABackend ? "cuda" : "cpu")
            printComparison(ours, ref, peak: peak, ceilings: ceilings, into: &figures, out)
        }
        if let l0 = loadBefore, let l1 = BenchMachine.loadAverage {
            figures["load_average_before"] = l0
            figures["load_average_after"] = l1
            out.print(String(format: "load average   %.2f before, %.2f after (other processes on these cores)", l0, l1))
        }
        if let path = args.string("--json") {
            var json: [String: Any] = figures
            json["cpu"] = BenchMachine.cpuModel
            json["kernels"] = kernels.own
            json["blas_core"] = kernels.blas
            json["blas_runs_products"] = kernels.blasRunsProducts
            let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .prettyPrinted])
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        }
    }

    /// The prefill batches: `--prompts N` (of `--prompt-tokens`) or `--prefill 16x64,1x512`.
    static func prefillShapes(_ args: ParsedArguments, promptTokens: Int) throws -> [(Int, Int)] {
        if let n = try args.int("--prompts") {
            guard (1...4096).contains(n) else { throw UsageError("--prompts must be in 1...4096") }
            return [(n, promptTokens)]
        }
        return try (args.string("--prefill") ?? "16x64,1x512").split(separator: ",").map { part in
            let pt = part.lowercased().split(separator: "x").compactMap { Int($0) }
            guard pt.count == 2, pt[0] > 0, pt[1] > 0 else { throw UsageError("--prefill: '\(part)' is not PROMPTSxTOKENS") }
            return (pt[0], pt[1])
        }
    }

    /// Ratios against transformers; `ceilings` (tokens/s at the FMA peak, per prefill key) add the
    /// highest ratio any float32 implementation could reach on these cores.
    static func printComparison(_ ours: [(key: String, label: String, sample: BenchSample)], _ ref: ReferenceBenchmark.Result,
                                peak: Double, ceilings: [String: Double], into figures: inout [String: Double], _ out: Console) {
        let i = ref.info
        out.print("against transformers \(i["transformers_version"] ?? "?") / torch \(i["torch_version"] ?? "?") "
                  + "(\(i["dtype"] ?? "?"), \(i["threads"] ?? "?") threads, \(i["attn_implementation"] ?? "?") attention, "
                  + "\(i["torch_cpu_capability"] ?? "?"); prefill computes the last position's logits on both sides), tokens/s:")
        for (key, label, sample) in ours {
            guard let theirs = ref.samples[key], theirs.median > 0 else { continue }
            theirs.record("transformers_\(key)_tokens_per_s", into: &figures)
            figures["ratio_\(key)_tokens_per_s"] = sample.median / theirs.median
            let bound = ceilings[key].map { String(format: " (at the fma peak: %.2f×)", $0 / theirs.median) } ?? ""
            if let c = ceilings[key] { figures["ratio_\(key)_at_fma_peak"] = c / theirs.median }
            out.print("  " + pad(label, 16) + "steer " + pad(sample.text, 24) + "transformers " + pad(theirs.text, 24)
                      + String(format: "ratio %.2f×", sample.median / theirs.median) + bound)
        }
        if let p = ref.peakRSSBytes {
            figures["transformers_peak_rss_bytes"] = p
            out.print(String(format: "  peak memory      steer %.0f MiB  transformers %.0f MiB", peak / 1048576, p / 1048576))
        }
    }

    /// `s` padded with spaces to `width` characters.
    static func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
}
