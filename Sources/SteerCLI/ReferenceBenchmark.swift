import Foundation

/// Runs `scripts/bench_transformers.py` (in its own venv via scripts/py.sh) on the token ids Steer
/// measured, and reads its figures back.
enum ReferenceBenchmark {
    /// What transformers measured: per figure (`prefill_16x64`, `decode_b1`, …) the runs' tokens/s, and
    /// a few facts about the run (versions, dtype, attention implementation, threads).
    struct Result {
        var samples: [String: BenchSample] = [:]
        var info: [String: String] = [:]
        var peakRSSBytes: Double?
    }

    /// `prefill` and `decode` map figure names (`16x64`, `1`) to the prompts' token ids.
    static func run(model: URL, prefill: [(String, [[Int]])], decode: [(Int, [[Int]])], newTokens: Int, threads: Int,
                    repeats: Int, dtype: String) throws -> Result {
        let script = try repoFile("scripts/py.sh")
        let bench = try repoFile("scripts/bench_transformers.py")
        let prompts = FileManager.default.temporaryDirectory.appendingPathComponent("steer-bench-\(getpid()).json")
        let ids: [String: Any] = [
            "prefill": Dictionary(uniqueKeysWithValues: prefill.map { ($0.0, $0.1) }),
            "decode": Dictionary(uniqueKeysWithValues: decode.map { (String($0.0), $0.1) }),
        ]
        try JSONSerialization.data(withJSONObject: ids).write(to: prompts, options: .atomic)
        defer { try? FileManager.default.removeItem(at: prompts) }

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script.path, bench.path, model.path, "--prompts-file", prompts.path,
                       "--prefill", prefill.map(\.0).joined(separator: ","),
                       "--decode-batches", decode.map { String($0.0) }.joined(separator: ","),
                       "--prompt-tokens", "\(decode.first?.1.first?.count ?? 64)",
                       "--new-tokens", "\(newTokens)", "--threads", "\(threads)", "--repeat", "\(repeats)", "--dtype", dtype]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw BenchError("scripts/bench_transformers.py failed with status \(p.terminationStatus)")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw BenchError("scripts/bench_transformers.py printed no JSON object")
        }
        var result = Result()
        for (k, v) in obj {
            if let sub = v as? [String: Any], let runs = sub["tokens_per_s"] as? [NSNumber] {
                result.samples[k] = BenchSample(runs.map(\.doubleValue))
            } else if let s = v as? String {
                result.info[k] = s
            } else if let n = v as? NSNumber {
                result.info[k] = n.stringValue
            }
        }
        result.peakRSSBytes = (obj["peak_rss_mb"] as? NSNumber).map { $0.doubleValue * 1048576 }
        return result
    }

    /// A file of the source checkout (found from the working directory upwards).
    static func repoFile(_ relative: String) throws -> URL {
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        throw BenchError("cannot find \(relative); run from the Steer checkout")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
