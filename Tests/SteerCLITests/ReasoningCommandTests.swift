import XCTest
@testable import SteerCLI

/// `steer rollouts`, `trace`, `articulation` and `generate --prefix-ids` end to end on the trace fixture: a tiny loan
/// model whose tokenizer glues tags to what follows them (Tests/Fixtures/trace).
final class ReasoningCommandTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/trace")
    let model = fixtures.appendingPathComponent("model").path
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("steer-rsn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    func path(_ name: String) -> String { temp.appendingPathComponent(name).path }

    func jsonLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func rollouts() throws -> String {
        let (s, _, err) = steer(["rollouts", model, "--prompts", Self.fixtures.appendingPathComponent("prompts.jsonl").path,
                                 "--max-new-tokens", "96", "--out", path("r.jsonl")])
        XCTAssertEqual(s, 0, err)
        return path("r.jsonl")
    }

    func testTraceCutsFromRolloutTokensAndRerunsToTheSameFiles() throws {
        let r = try rollouts()
        let records = try jsonLines(r)
        XCTAssertEqual(records.count, 8)
        XCTAssertTrue(records.allSatisfy { ($0["tokens"] as? [Int])?.isEmpty == false }, "rollouts record the generated ids")
        let args = ["trace", model, "--rollouts", r, "--conditions", "frozen-closed,truncated,logit", "--fractions", "0,1",
                    "--max-new-tokens", "96", "--batch-size", "4", "--out", path("t")]
        let (s, out, err) = steer(args)
        XCTAssertEqual(s, 0, err)
        XCTAssertTrue(out.contains("frozen-closed             consistency 100.0%"), out)
        XCTAssertTrue(out.contains("truncated@1.00            consistency 100.0%"), out)
        XCTAssertFalse(err.contains("warning"), err)
        let rows = try jsonLines(path("t/rows.jsonl"))
        for row in rows {
            let forced = try XCTUnwrap(row["forced_ids"] as? [Int]), k = try XCTUnwrap(row["cut_token"] as? Int)
            let id = try XCTUnwrap(row["rollout_id"] as? String)
            let tokens = try XCTUnwrap(records.first { ($0["prompt"] as? [String: Any])?["id"] as? String == id }?["tokens"] as? [Int])
            XCTAssertEqual(forced, Array(tokens.prefix(k)), "forced ids are the rollout's first k ids")
            XCTAssertNotNil(row["cut_char"])
            if row["condition"] as? String == "frozen-closed" { XCTAssertEqual(row["target_char"] as? Int, (row["cut_char"] as? Int).map { $0 + 1 }) }
        }
        let names = ["rows.jsonl", "summary.json", "curve.svg"]
        let before = try names.map { try Data(contentsOf: temp.appendingPathComponent("t/" + $0)) }
        XCTAssertEqual(steer(args).0, 0)
        XCTAssertEqual(try names.map { try Data(contentsOf: temp.appendingPathComponent("t/" + $0)) }, before, "a rerun writes the same files")
    }

    func testRolloutsWithoutTokenIdsAreRetokenizedWithAWarning() throws {
        let r = try rollouts()
        let stripped = try jsonLines(r).map { obj -> String in
            var o = obj
            o.removeValue(forKey: "tokens")
            return String(decoding: try JSONSerialization.data(withJSONObject: o), as: UTF8.self)
        }
        try (stripped.joined(separator: "\n") + "\n").write(toFile: path("old.jsonl"), atomically: true, encoding: .utf8)
        let (s, _, err) = steer(["trace", model, "--rollouts", path("old.jsonl"), "--conditions", "frozen-closed", "--out", path("t")])
        XCTAssertEqual(s, 0, err)
        XCTAssertTrue(err.contains("8 usable rollouts") && err.contains("carry no token ids"), err)
        XCTAssertTrue(try jsonLines(path("t/rows.jsonl")).allSatisfy { $0["retokenized"] as? Bool == true })
    }

    func testGeneratePrefixIdsForcesTheModelsOwnTokens() throws {
        let r = try rollouts()
        let first = try XCTUnwrap(try jsonLines(r).first)
        let prompt = try XCTUnwrap((first["prompt"] as? [String: Any])?["prompt"] as? String)
        let answer = try XCTUnwrap(first["answer"] as? String)
        // frozen-closed's forced ids (from rows.jsonl) end at '<recommendation'; the model writes '>approve' itself.
        XCTAssertEqual(steer(["trace", model, "--rollouts", r, "--conditions", "frozen-closed", "--limit", "1", "--out", path("t")]).0, 0)
        let row = try XCTUnwrap(try jsonLines(path("t/rows.jsonl")).first)
        let forced = try XCTUnwrap(row["forced_ids"] as? [Int]), text = try XCTUnwrap(row["prefix"] as? String)
        XCTAssertTrue(text.hasSuffix("<recommendation"), text)
        let (s, out, err) = steer(["generate", model, "--prompt", prompt, "--prefix-ids", forced.map(String.init).joined(separator: ","),
                                   "--max-tokens", "6"])
        XCTAssertEqual(s, 0, err)
        XCTAssertTrue(out.contains("<recommendation>\(answer)</recommendation>"), out)
        // The same prefix as text ends in a lone '>' the model never wrote there: it stops at once.
        let (s2, out2, _) = steer(["generate", model, "--prompt", prompt, "--prefix", text + ">", "--max-tokens", "6"])
        XCTAssertEqual(s2, 0)
        XCTAssertFalse(out2.contains("<recommendation>" + answer), out2)
        XCTAssertEqual(steer(["generate", model, "--prompt", prompt, "--prefix", "x", "--prefix-ids", "1"]).0, 64)
        XCTAssertEqual(steer(["generate", model, "--prompt", prompt, "--prefix-ids", "1,y"]).0, 64)
    }

    func testArticulationRerunsToTheSameFiles() throws {
        XCTAssertEqual(steer(["profiles", "--criterion", "net_income > 0", "--n", "3", "--out", path("p.jsonl")]).0, 0)
        let args = ["articulation", model, "--profiles", path("p.jsonl"), "--max-new-tokens", "32", "--batch-size", "2", "--out", path("a")]
        let (s, _, err) = steer(args)
        XCTAssertEqual(s, 0, err)
        let before = try Data(contentsOf: temp.appendingPathComponent("a/rows.jsonl"))
        let cache = temp.appendingPathComponent("a/cache")
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: cache.path).contains { $0.hasSuffix("-rollouts.jsonl") })
        XCTAssertEqual(steer(args).0, 0)
        XCTAssertEqual(try Data(contentsOf: temp.appendingPathComponent("a/rows.jsonl")), before)
    }
}
