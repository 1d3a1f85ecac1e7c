import XCTest
import Models
@testable import Experiments

/// Trace and articulation runs resume from their checkpoint after an interruption and write the same bytes as an
/// uninterrupted run. An interruption is simulated by what `kill -9` leaves on disk: the checkpoint's first k batch
/// lines, a torn half line after them, and no output files.
final class ReasoningResumeTests: XCTestCase {
    static let modelDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/trace/model")
    static let prompts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/trace/prompts.jsonl")
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func load() throws -> (LanguageModel, ChatFormatter) {
        (try ModelLoader.load(directory: Self.modelDir), try ChatFormatter(directory: Self.modelDir))
    }

    /// Keeps the first `k` lines of every checkpoint in `folder/cache` and adds half of the next one.
    func interrupt(_ folder: URL, after k: Int) throws {
        let cache = folder.appendingPathComponent("cache")
        for name in try FileManager.default.contentsOfDirectory(atPath: cache.path) where name.hasSuffix(".jsonl") {
            let url = cache.appendingPathComponent(name)
            let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
            XCTAssertGreaterThan(lines.count, k, name)
            let torn = lines.count > k ? String(lines[k].prefix(lines[k].count / 2)) : ""
            try (lines.prefix(k).map { $0 + "\n" }.joined() + torn).write(to: url, atomically: true, encoding: .utf8)
        }
        for name in ["rows.jsonl", "summary.json", "curve.svg", "report.html", "config.json"] {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    func files(_ folder: URL, _ names: [String]) throws -> [Data] {
        try names.map { try Data(contentsOf: folder.appendingPathComponent($0)) }
    }

    func testTraceResumesToIdenticalFiles() throws {
        let (model, formatter) = try load()
        var rs = RolloutSettings()
        rs.maxNewTokens = 96
        let rollouts = try RolloutRunner(model: model, formatter: formatter, settings: rs).run(try ReasoningPrompt.load(Self.prompts))
        var ts = TraceSettings()
        ts.conditions = [.control, .frozenClosed, .truncated]
        ts.fractions = [0, 0.5, 1]
        ts.maxNewTokens = 96
        ts.batchSize = 3   // many small batches, so the interruption falls between them
        let config = ReasoningRunConfig(version: "test", command: ["steer", "trace"], settings: ts,
                                        inputs: [InputFile(role: "rollouts", path: "mem", sha256: "00")])
        func run(_ folder: URL) throws -> GenerationCheckpoint {
            let checkpoint = try GenerationCheckpoint(folder: folder, modelHash: "fixture")
            let rows = try TraceMediation(model: model, formatter: formatter, settings: ts).run(rollouts, checkpoint: checkpoint)
            let summary = try TraceSummary(rows: rows, rollouts: rollouts.count, usableRollouts: rollouts.count)
            try ReasoningOutputs.writeTrace(folder: folder, rows: rows, summary: summary, config: config)
            return checkpoint
        }
        let names = ["rows.jsonl", "summary.json", "curve.svg", "report.html", "config.json"]
        let straight = tmp.appendingPathComponent("straight"), resumed = tmp.appendingPathComponent("resumed")
        let first = try run(straight)
        XCTAssertEqual(first.resumedBatches, 0)
        let total = first.generatedBatches
        XCTAssertGreaterThan(total, 6)

        _ = try run(resumed)
        try interrupt(resumed, after: 2)   // two stages (frozen-closed, generate): 2 batches of each survive
        let second = try run(resumed)
        XCTAssertEqual(second.resumedBatches, 4)
        XCTAssertEqual(second.generatedBatches, total - 4)
        XCTAssertEqual(try files(resumed, names), try files(straight, names), "resumed files equal an uninterrupted run's")

        // Run again: everything comes from the checkpoint.
        let third = try run(resumed)
        XCTAssertEqual(third.generatedBatches, 0)
        XCTAssertEqual(try files(resumed, names), try files(straight, names))

        // Other settings: stages whose batches changed start afresh; frozen-closed (3 batches of 8 rows, whose
        // length is --answer-tokens) did not change and is reused.
        ts.maxNewTokens = 64
        let again = try run(resumed)
        XCTAssertEqual(again.resumedBatches, 3)
        XCTAssertEqual(again.generatedBatches, total - 3)
    }

    func testArticulationRepliesAndJudgeResume() throws {
        let (model, formatter) = try load()
        let criterion = try LoanCriterion(parsing: "net_income > 0")
        let profiles = try ProfileGenerator(criterion: criterion).generate(pairs: 4, seed: 2)
        var rs = RolloutSettings()
        rs.maxNewTokens = 40
        rs.batchSize = 2
        func run(_ folder: URL) throws -> ([ArticulationRow], GenerationCheckpoint) {
            let checkpoint = try GenerationCheckpoint(folder: folder, modelHash: "fixture")
            let records = try RolloutRunner(model: model, formatter: formatter, settings: rs)
                .run(profiles.enumerated().map { $0.element.asPrompt(line: $0.offset + 1) }, checkpoint: checkpoint)
            var rows = zip(profiles, records).map { ArticulationRow(profile: $0.0, rollout: $0.1, attribute: criterion.attribute) }
            // A short judge prompt: the fixture model has 256 positions.
            var judge = try ArticulationJudge(model: model, formatter: formatter, template: "{attribute}: {answer}. {question}")
            judge.maxNewTokens = 3
            judge.batchSize = 4
            try judge.judge(&rows, prompts: profiles.map(\.prompt), attribute: "net_income", checkpoint: checkpoint)
            return (rows, checkpoint)
        }
        let (straight, first) = try run(tmp.appendingPathComponent("straight"))
        XCTAssertEqual(first.generatedBatches, 4 + 4)   // 8 replies in 4 batches, 16 judge prompts in 4 batches
        let folder = tmp.appendingPathComponent("resumed")
        _ = try run(folder)
        try interrupt(folder, after: 1)
        let (rows, second) = try run(folder)
        XCTAssertEqual(second.resumedBatches, 2)
        XCTAssertEqual(second.generatedBatches, 6)
        XCTAssertEqual(rows, straight)
    }

    func testForeignOrTornCheckpointLinesAreRegenerated() throws {
        let (model, formatter) = try load()
        let folder = tmp.appendingPathComponent("c")
        let checkpoint = try GenerationCheckpoint(folder: folder, modelHash: "fixture")
        let opts = GenerationOptions(maxNewTokens: 4)
        let batches = [GenerationBatch(prompts: [[1, 2, 3], [4, 5]], options: opts), GenerationBatch(prompts: [[6]], options: opts)]
        let name = checkpoint.fileName(stage: "s", batches)
        let straight = try model.generate(batches: batches)
        // A line of the wrong shape, one out of range, and a torn one: all ignored, both batches generated.
        try "{\"batch\":0,\"tokens\":[[1]],\"finish\":[\"eos\"]}\n{\"batch\":7,\"tokens\":[[1]],\"finish\":[\"eos\"]}\n{\"batch\":1,\"tok"
            .write(to: checkpoint.store.cache.appendingPathComponent(name), atomically: true, encoding: .utf8)
        let out = try checkpoint.generate(model, batches, stage: "s")
        XCTAssertEqual(out.map(\.tokens), straight.map(\.tokens))
        XCTAssertEqual(checkpoint.generatedBatches, 2)
        let lines = try String(contentsOf: checkpoint.store.cache.appendingPathComponent(name), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4, "the torn line was cut, the new ones start on lines of their own")
        XCTAssertEqual(try GenerationCheckpoint(folder: folder, modelHash: "fixture").generate(model, batches, stage: "s").map(\.tokens),
                       straight.map(\.tokens))
    }
}
