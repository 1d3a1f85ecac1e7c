import Foundation
import XCTest
@testable import Tokenizers

/// The general regex engine against `tokenizers` (Oniguruma), on the Split patterns of real tokenizer.json files,
/// the syntax they could use and hostile patterns; reference pieces from scripts/make_tokenizer_fixtures.py.
final class RegexTests: XCTestCase {
    static let cases = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/regex/split_cases.json")

    /// Oniguruma runs these by backtracking; a linear-time engine cannot, and says so when the file is loaded.
    static let unsupported: Set<String> = ["a++", "(?>a)b", "(a)\\1"]

    func pieces(_ text: String, _ matches: [Range<Int>], _ behavior: SplitBehavior) -> [String] {
        behavior.apply(text, matches: matches).map { text.utf8Slice($0) }
    }

    func testSplitsMatchTokenizers() throws {
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.cases)) as? [String: Any])
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 40)
        var checked = 0
        for c in cases {
            let pattern = c["pattern"] as? String ?? ""
            if c["error"] != nil {
                XCTAssertThrowsError(try RegexPattern(generalRegex: pattern), "Oniguruma refuses \(pattern)") { e in
                    guard case .invalidRegex(_, let p, _)? = e as? TokenizerError else { return XCTFail("\(e)") }
                    XCTAssertEqual(p, pattern)
                }
                continue
            }
            let regex: RegexPattern
            do { regex = try RegexPattern(generalRegex: pattern) } catch {
                XCTAssert(Self.unsupported.contains(pattern), "\(pattern): \(error)")
                XCTAssert("\(error)".contains("not supported"), "\(error)")
                continue
            }
            XCTAssertFalse(Self.unsupported.contains(pattern), "\(pattern) compiled")
            var failures = 0
            for row in c["texts"] as? [[String: Any]] ?? [] {
                let text = row["text"] as? String ?? ""
                let matches = regex.matches(in: text)
                for (key, behavior) in [("isolated", SplitBehavior.isolated), ("removed", .removed)] {
                    let want = row[key] as? [String] ?? []
                    let got = pieces(text, matches, behavior)
                    checked += 1
                    if got != want {
                        failures += 1
                        if failures <= 3 { XCTFail("\(pattern) \(key) on \(text.prefix(60).debugDescription):\n got  \(got)\n want \(want)") }
                    }
                }
            }
        }
        print("regex splits: \(checked) checked")
    }

    func testScannersEqualTheGeneralEngine() throws {
        // The hand-written scanners and the engine agree on every fixture text (both also match tokenizers).
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.cases)) as? [String: Any])
        let texts = ((root["cases"] as? [[String: Any]])?.first?["texts"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        for (scanner, pattern) in [(SplitScanner.gpt2, SplitScanner.gpt2Pattern), (.llama(maxDigits: 3), SplitScanner.llama3Pattern),
                                   (.llama(maxDigits: 1), SplitScanner.qwen2Pattern)] {
            let fast = RegexPattern(scanner: scanner, source: pattern), general = try RegexPattern(generalRegex: pattern)
            for text in texts + ["  \n\t x  y\u{3000}\u{3000}z 1234567 It'S"] {
                XCTAssertEqual(fast.matches(in: text), general.matches(in: text), "\(pattern) on \(text.debugDescription)")
            }
        }
    }

    func testExponentialBacktrackingPatternsRunInLinearTime() throws {
        // Oniguruma's backtracking gives up on these past ~22 characters; Pike's VM visits each instruction once per
        // character. The answers equal the equivalent patterns' (no match, then the whole run).
        let nested = try RegexPattern(generalRegex: "(a+)+$"), plain = try RegexPattern(generalRegex: "a+$")
        let star = try RegexPattern(generalRegex: "(a*)*b|(x+x+)+y"), starPlain = try RegexPattern(generalRegex: "a*b|x+y")
        for n in [26, 1_000, 200_000] {
            for text in [String(repeating: "a", count: n) + "!", String(repeating: "a", count: n),
                         "b" + String(repeating: "a", count: n) + "\nzz"] {
                XCTAssertEqual(nested.matches(in: text), plain.matches(in: text))
            }
            let xs = String(repeating: "x", count: n)
            XCTAssertEqual(star.matches(in: xs + "!"), starPlain.matches(in: xs + "!"))
        }
    }

    func testHostilePatternsAreClearErrors() {
        let deep = String(repeating: "(", count: 10_000) + "a" + String(repeating: ")", count: 10_000)
        let cases: [(String, String)] = [
            (deep, "nested more than"), ("[" + String(repeating: "[", count: 10_000) + "a]", "nested more than"),
            ("a" + String(repeating: "*", count: 10_000), "quantifiers in a row"),
            ("(?:a{1000}){1000}", "pattern too large"), ("a{100001}", "too big number"),
            ("\\p{NoSuchProperty}", "invalid character property name"), ("[z-a]", "empty range"), ("\\K", "not supported"),
            ("a*+", "possessive"), ("(?<name>a)\\k<name>", "not supported"), ("\\", "end pattern"),
        ]
        for (pattern, reason) in cases {
            XCTAssertThrowsError(try RegexPattern(generalRegex: pattern)) { e in
                guard case .invalidRegex(_, let p, let why)? = e as? TokenizerError else { return XCTFail("\(e)") }
                XCTAssertEqual(p, pattern)
                XCTAssert(why.contains(reason), "\(pattern.prefix(30)): \(why)")
            }
        }
    }

    func testHostileSplitInATokenizerFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("steer-regex-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = FixtureTests.fixtures.appendingPathComponent("gpt2/tokenizer.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        json["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": "(a+)+$"], "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
        ]]
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("tokenizer.json"))
        let tok = try Tokenizer.load(directory: dir)
        let ids = tok.encode(String(repeating: "a", count: 30_000) + "!")
        XCTAssertEqual(tok.decode(ids), String(repeating: "a", count: 30_000) + "!")

        json["pre_tokenizer"] = ["type": "Split", "pattern": ["Regex": "(?>a+)b"], "behavior": "Isolated", "invert": false]
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try Tokenizer.load(directory: dir)) { e in
            XCTAssert("\(e)".contains("tokenizer.json") && "\(e)".contains("(?>a+)b") && "\(e)".contains("atomic groups"), "\(e)")
        }
    }
}
