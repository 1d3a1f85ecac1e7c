import Foundation

/// Runs `scripts/bench_transformers.py` (in its own venv via scripts/py.sh) and reads its JSON figures.
enum ReferenceBenchmark {
    static func run(model: URL, newTokens: Int, threads: Int) throws -> [String: Double] {
        let script = try repoFile("scripts/py.sh")
        let bench = try repoFile("scripts/bench_transformers.py")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script.path, bench.path, model.path, "--new-tokens", "\(newTokens)", "--threads", "\(threads)"]
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
        // Flatten {"prefill": {"tokens_per_s": …}, "decode_b1": {…}, "peak_rss_mb": …} into Steer's keys.
        var out: [String: Double] = [:]
        for (k, v) in obj {
            if let sub = v as? [String: Any], let n = sub["tokens_per_s"] as? NSNumber { out["\(k)_tokens_per_s"] = n.doubleValue }
        }
        if let mb = obj["peak_rss_mb"] as? NSNumber { out["peak_rss_bytes"] = mb.doubleValue * 1048576 }
        if let n = obj["load_seconds"] as? NSNumber { out["load_seconds"] = n.doubleValue }
        return out
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
