import XCTest
import Models
@testable import Experiments

/// A rerun of `steer refusal` in the same folder reuses what its inputs already determined: the validation
/// filter's scores, the selection baseline, every completion and the KL / loss passes. Each test alters a
/// cached value and checks that the rerun reports the altered value, so reuse (not recomputation) is visible.
final class PipelineCacheTests: XCTestCase {
    let root = PipelineReferenceTests.root

    func prompts(_ name: String) throws -> [String] {
        try PromptSet.load(root.appendingPathComponent("prompts/\(name).json")).texts
    }

    /// A run on the pipeline fixture; validation prompts double as test prompts. The thresholds keep every
    /// scored candidate, so that a rerun with other (still permissive) thresholds selects the same one.
    func run(_ folder: URL, evaluate: Bool = true, configure: (inout RefusalSettings) -> Void = { _ in }) throws -> RefusalRun {
        let dir = root.appendingPathComponent("model")
        var settings = RefusalSettings()
        settings.filterValidation = false
        settings.refusalTokens = try JSONDecoder().decode(PipelineReferenceTests.Reference.self,
                                                          from: Data(contentsOf: root.appendingPathComponent("reference/scores.json"))).refusal_tokens
        settings.maxNewTokens = 4
        settings.batchSize = 8
        settings.evaluate = evaluate
        settings.selection.maxKL = 1e9
        settings.selection.minInduce = -1e9
        configure(&settings)
        let pipeline = try RefusalPipeline(model: try ModelLoader.load(directory: dir), formatter: try ChatFormatter(directory: dir),
                                           settings: settings, runFolder: folder, inputKey: "cache-test")
        let val = (harmful: try prompts("harmful_val"), harmless: try prompts("harmless_val"))
        return try pipeline.run(RefusalPrompts(harmfulTrain: try prompts("harmful_train"), harmfulVal: val.harmful,
                                               harmfulTest: evaluate ? val.harmful : [], harmlessTrain: try prompts("harmless_train"),
                                               harmlessVal: val.harmless, harmlessTest: evaluate ? val.harmless : []))
    }

    func temp() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("steer-cache-\(UUID().uuidString)") }

    /// The one cache file whose name ends in `suffix`.
    func cached(_ folder: URL, _ suffix: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let cache = folder.appendingPathComponent("cache")
        let names = try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(suffix) }
        XCTAssertEqual(names.count, 1, "cache files ending in \(suffix): \(names)", file: file, line: line)
        return cache.appendingPathComponent(try XCTUnwrap(names.first, file: file, line: line))
    }

    /// Rewrites a cached JSON object through `change`.
    func edit(_ url: URL, _ change: (inout [String: Any]) -> Void) throws {
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    /// Rewrites every line of a cached JSONL file through `change`.
    func editLines(_ url: URL, _ change: (inout [String: Any]) -> Void) throws {
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
            var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            change(&object)
            return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    func completions(_ folder: URL, _ condition: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent("completions/\(condition).jsonl"), encoding: .utf8)
    }

    /// With every candidate checkpointed, a rerun with another threshold takes the selection baseline from the
    /// cache too (before, it ran the baseline passes again for two numbers).
    func testRerunReadsSelectionBaseline() throws {
        let a = temp()
        defer { try? FileManager.default.removeItem(at: a) }
        let first = try run(a, evaluate: false)
        XCTAssertTrue(first.selection.baselineHarmful.isFinite)
        try edit(try cached(a, "-selection-baseline.json")) { $0["harmful"] = 42.5 }
        let rerun = try run(a, evaluate: false) { $0.selection.maxKL = 1e8 }
        XCTAssertEqual(rerun.selection.settings.maxKL, 1e8)
        XCTAssertEqual(rerun.selection.baselineHarmful, 42.5)
        XCTAssertEqual(rerun.selection.baselineHarmless, first.selection.baselineHarmless)
    }

    /// The validation filter's scores are cached: altered cached scores decide which prompts a rerun keeps.
    func testRerunReadsValidationScores() throws {
        let a = temp()
        defer { try? FileManager.default.removeItem(at: a) }
        let filtered = { (s: inout RefusalSettings) in s.filterValidation = true }
        // Whether the tiny fixture model separates the classes well enough for the first run to pass the
        // filter does not matter: the scores are cached before the filter is applied.
        _ = try? run(a, evaluate: false, configure: filtered)
        let nHarmful = try prompts("harmful_val").count, nHarmless = try prompts("harmless_val").count
        try edit(try cached(a, "-validation-scores.json")) { object in
            XCTAssertEqual((object["harmful"] as? [Double])?.count, nHarmful)
            object["harmful"] = (0..<nHarmful).map { $0 == 0 ? -1.0 : 1.0 }
            object["harmless"] = (0..<nHarmless).map { _ in -1.0 }
        }
        let rerun = try run(a, evaluate: false, configure: filtered)
        XCTAssertEqual(rerun.selection.nHarmful, nHarmful - 1)
        XCTAssertEqual(rerun.selection.nHarmless, nHarmless)
    }

    /// A rerun that selects the same direction under other thresholds reuses every completion and the KL /
    /// loss result; one that selects another direction regenerates only the conditions with edits.
    func testRerunReusesEvaluation() throws {
        let a = temp()
        defer { try? FileManager.default.removeItem(at: a) }
        let first = try run(a)
        let chosen = try XCTUnwrap(first.selection.selected)
        XCTAssertNotNil(first.evaluation)
        try edit(try cached(a, "-damage.json")) { $0["kl"] = [7.25, 8.5] }
        for condition in ["harmful_ablation", "harmless_baseline"] {
            try editLines(try cached(a, "-\(condition).jsonl")) { $0["completion"] = "MARK" }
        }
        let same = try run(a) { $0.selection.maxKL = 1e8 }
        XCTAssertEqual(same.selection.selected?.layer, chosen.layer)
        XCTAssertEqual(same.selection.selected?.position, chosen.position)
        XCTAssertEqual(same.evaluation?.klHarmlessAblation, 7.25)
        XCTAssertTrue(try completions(a, "harmful_ablation").contains("\"MARK\""))
        XCTAssertTrue(try completions(a, "harmless_baseline").contains("\"MARK\""))

        // Another direction: the chosen candidate's checkpointed bypass made the worst.
        let partial = try cached(a, "-selection-partial.jsonl")
        var lines = try String(contentsOf: partial, encoding: .utf8).split(separator: "\n").map(String.init)
        let index = try XCTUnwrap(lines.firstIndex { line in
            (try? JSONDecoder().decode(CandidateScore.self, from: Data(line.utf8))).map { $0.position == chosen.position && $0.layer == chosen.layer } ?? false
        })
        var worst = try JSONDecoder().decode(CandidateScore.self, from: Data(lines[index].utf8))
        worst.bypass = 1e6
        lines[index] = String(decoding: try JSONEncoder().encode(worst), as: UTF8.self)
        try (lines.joined(separator: "\n") + "\n").write(to: partial, atomically: true, encoding: .utf8)
        let other = try run(a) { $0.selection.maxKL = 1e7 }
        let next = try XCTUnwrap(other.selection.selected)
        XCTAssertFalse(next.position == chosen.position && next.layer == chosen.layer)
        XCTAssertFalse(try completions(a, "harmful_ablation").contains("\"MARK\""), "conditions with edits are regenerated")
        XCTAssertTrue(try completions(a, "harmless_baseline").contains("\"MARK\""), "baseline completions are reused")
        XCTAssertNotEqual(other.evaluation?.klHarmlessAblation, 7.25)
    }
}
