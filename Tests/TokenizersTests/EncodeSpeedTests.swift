import Foundation
import XCTest
@testable import Tokenizers

/// Prints encode throughput on mixed text (no timing assertion). Meaningful in release:
/// `swift test -c release -Xswiftc -enable-testing --filter EncodeSpeedTests`.
final class EncodeSpeedTests: XCTestCase {
    func testPrintEncodeSpeed() throws {
        let cases = try FixtureTests.loadCases("qwen2")["cases"] as? [[String: Any]] ?? []
        let sample = cases.compactMap { $0["text"] as? String }.joined(separator: "\n")
        var text = ""
        var i = 0
        while text.utf8.count < 1_000_000 { text += sample + " \(i) "; i += 1 }
        // STEER_BENCH_FILE: the text file scripts/bench_tokenizer.py writes (--dump), for a like-for-like figure.
        if let path = ProcessInfo.processInfo.environment["STEER_BENCH_FILE"],
           let data = FileManager.default.contents(atPath: path) {
            text = String(decoding: data, as: UTF8.self)
        }
        for name in ["gpt2", "llama3", "qwen2", "sp_metaspace_first", "qwen1_tiktoken"] {
            let tok = try Tokenizer.load(directory: FixtureTests.fixtures.appendingPathComponent(name))
            var lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) + "\n" }
            if text.hasSuffix("\n") { lines.removeLast() }
            let start = Date()
            var count = 0
            for line in lines { count += tok.encode(line).count }
            let secs = Date().timeIntervalSince(start)
            print(String(format: "encode %@: %.2f MB/s (%d tokens)", name, Double(text.utf8.count) / secs / 1e6, count))
        }
    }

    /// Split throughput of the general regex engine (hand-written scanner for comparison), one line at a time.
    func testPrintRegexSpeed() throws {
        let cases = try FixtureTests.loadCases("qwen2")["cases"] as? [[String: Any]] ?? []
        let sample = cases.compactMap { $0["text"] as? String }.joined(separator: "\n")
        var text = ""
        while text.utf8.count < 300_000 { text += sample + "\n" }
        let lines = text.split(separator: "\n").map(String.init)
        let o200k = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let patterns: [(String, RegexPattern)] = [
            ("gpt2 scanner", RegexPattern(scanner: .gpt2, source: SplitScanner.gpt2Pattern)),
            ("gpt2 engine", try RegexPattern(generalRegex: SplitScanner.gpt2Pattern)),
            ("o200k engine", try RegexPattern(generalRegex: o200k)),
        ]
        for (name, pattern) in patterns {
            let start = Date()
            var count = 0
            for line in lines { count += pattern.matches(in: line).count }
            let secs = Date().timeIntervalSince(start)
            print(String(format: "split %@: %.2f MB/s (%d pieces)", name, Double(text.utf8.count) / secs / 1e6, count))
        }
    }
}
