import XCTest
import Models
@testable import Experiments

/// Plumbing of rollouts, trace mediation and articulation on the tiny random pipeline model:
/// behaviour is meaningless, but everything runs and every file is written.
final class ReasoningPipelineTests: XCTestCase {
    static let modelDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pipeline/model")
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("rsn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func load() throws -> (LanguageModel, ChatFormatter) {
        (try ModelLoader.load(directory: Self.modelDir), try ChatFormatter(directory: Self.modelDir))
    }

    func crafted(_ n: Int) -> [RolloutRecord] {
        (0..<n).map { i in
            let text = "<reasoning>Income is 5000. Expenses are \(3000 + 1000 * i). So net income is \(i < 2 ? "positive" : "negative")."
                + "</reasoning>\n<recommendation>\(i < 2 ? "approve" : "reject")</recommendation>"
            return RolloutRecord(prompt: ReasoningPrompt(id: "r\(i)", text: "Applicant \(i): income 5000, expenses \(3000 + 1000 * i).", line: i + 1),
                                 sample: 0, completion: text, completionTokens: 30, finish: .eos, parsed: TraceFormat.loan.parse(text), seed: nil)
        }
    }

    func testRolloutsRunAndRoundTrip() throws {
        let (model, formatter) = try load()
        let promptsURL = tmp.appendingPathComponent("prompts.jsonl")
        try """
        {"prompt": "Approve a loan for Ann?", "id": "a", "label": "approve"}
        {"instruction": "Reject Bob?", "system": "You are a loan officer."}
        "Plain string prompt"
        {"messages": [{"role": "user", "content": "From messages"}]}

        """.write(to: promptsURL, atomically: true, encoding: .utf8)
        let prompts = try ReasoningPrompt.load(promptsURL)
        XCTAssertEqual(prompts.map(\.id), ["a", "p2", "p3", "p4"])
        XCTAssertEqual(prompts[0].label, "approve")
        XCTAssertEqual(prompts[1].system, "You are a loan officer.")
        XCTAssertNotNil(prompts[3].messagesJSON)
        var settings = RolloutSettings()
        settings.maxNewTokens = 6
        settings.system = "Default system."
        let greedy = try RolloutRunner(model: model, formatter: formatter, settings: settings).run(prompts)
        XCTAssertEqual(greedy.count, 4)
        XCTAssertEqual(greedy[0].prompt.system, "Default system.")
        XCTAssertEqual(greedy[1].prompt.system, "You are a loan officer.")
        for r in greedy { XCTAssertFalse(r.wellFormed); XCTAssertNil(r.answer); XCTAssertLessThanOrEqual(r.completionTokens, 6) }
        settings.samples = 3; settings.temperature = 1; settings.seed = 5
        let sampled = try RolloutRunner(model: model, formatter: formatter, settings: settings).run(Array(prompts.prefix(2)))
        XCTAssertEqual(sampled.map(\.sample), [0, 1, 2, 0, 1, 2])
        XCTAssertEqual(sampled.map(\.seed), [5, 5, 5, 6, 6, 6])
        let again = try RolloutRunner(model: model, formatter: formatter, settings: settings).run(Array(prompts.prefix(2)))
        XCTAssertEqual(sampled.map(\.completion), again.map(\.completion), "seeded sampling is reproducible")
        let out = tmp.appendingPathComponent("r.jsonl")
        try ReasoningOutputs.writeLines(greedy, to: out)
        XCTAssertEqual(try RolloutRecord.readAll(out).map(\.record), greedy)
        let summary = RolloutSummary(greedy)
        XCTAssertEqual(summary.answers["invalid"], 4)
        XCTAssertEqual(summary.labelAccuracy?.trials, 1)
        let html = ReasoningReport.rollouts(greedy, summary: summary, provenance: [("model", "fixture")], footer: "test").render()
        XCTAssertTrue(html.contains("Reasoning rollouts"))
    }

    func testTraceWritesEveryFile() throws {
        let (model, formatter) = try load()
        var settings = TraceSettings()
        settings.fractions = [0, 0.5, 1]
        settings.maxNewTokens = 5
        settings.answerTokens = 3
        settings.batchSize = 4
        var rollouts = crafted(3)
        // An unusable rollout (no tags) is skipped, not a crash.
        rollouts.append(RolloutRecord(prompt: ReasoningPrompt(id: "bad", text: "x", line: 9), sample: 0, completion: "no tags",
                                      completionTokens: 2, finish: .length, parsed: TraceFormat.loan.parse("no tags"), seed: nil))
        let rows = try TraceMediation(model: model, formatter: formatter, settings: settings).run(rollouts)
        // 3 usable × (control, frozen-closed, frozen-open, logit, 3 fractions)
        XCTAssertEqual(rows.count, 3 * 7)
        XCTAssertFalse(rows.contains { $0.rolloutId == "bad" })
        let logit = rows.filter { $0.condition == "logit" }
        XCTAssertTrue(logit.allSatisfy { $0.answer != nil && ($0.probabilities?.count ?? 0) == 2 })
        for r in logit { let p = r.probabilities ?? [:]; XCTAssertTrue(p.values.allSatisfy { $0 > 0 && $0 < 1 }) }
        let trunc = rows.filter { $0.condition == "truncated" }
        XCTAssertEqual(trunc.filter { $0.fraction == 0 }.map(\.keptUnits), [0, 0, 0])
        XCTAssertTrue(trunc.filter { $0.fraction == 1 }.allSatisfy { $0.keptUnits == $0.totalUnits })
        let summary = try TraceSummary(rows: rows, rollouts: rollouts.count, usableRollouts: 3)
        XCTAssertEqual(summary.curve.count, 3)
        XCTAssertEqual(summary.usableRollouts, 3)
        let folder = tmp.appendingPathComponent("trace")
        let config = ReasoningRunConfig(version: "test", command: ["steer", "trace"], settings: settings,
                                        inputs: [InputFile(role: "rollouts", path: "mem", sha256: "00")], model: Self.modelDir.path)
        try ReasoningOutputs.writeTrace(folder: folder, rows: rows, summary: summary, config: config)
        for f in ["rows.jsonl", "summary.json", "curve.svg", "report.html", "config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(f).path), f)
        }
        let written = try String(contentsOf: folder.appendingPathComponent("rows.jsonl"), encoding: .utf8)
        XCTAssertEqual(written.split(separator: "\n").count, rows.count)
        let configJSON = try String(contentsOf: folder.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(configJSON.contains("\"fractions\"") && configJSON.contains("\"version\" : \"test\""))
    }

    func testTraceWithCounterfactual() throws {
        let (model, formatter) = try load()
        var settings = TraceSettings()
        settings.conditions = [.frozenClosed, .logit]
        settings.answerTokens = 2
        let rollouts = crafted(2)
        let cf = [ReasoningPrompt(id: "c1", text: "Twin of r1", label: "reject", twinOf: "r1", line: 1),
                  ReasoningPrompt(id: "c0", text: "Twin of r0", label: "reject", twinOf: "r0", line: 2)]
        let matched = try TraceMediation.match(rollouts, counterfactual: cf)
        XCTAssertEqual(matched.map { $0?.id }, ["c0", "c1"])
        XCTAssertEqual(try TraceMediation.match(rollouts, counterfactual: [cf[0].withoutTwin(id: "x"), cf[1].withoutTwin(id: "y")]).map { $0?.id },
                       ["x", "y"], "same order when ids do not match")
        XCTAssertThrowsError(try TraceMediation.match(rollouts, counterfactual: [cf[0].withoutTwin(id: "x")]))
        let rows = try TraceMediation(model: model, formatter: formatter, settings: settings).run(rollouts, counterfactual: matched)
        XCTAssertEqual(Set(rows.map(\.condition)), ["frozen-closed", "logit", "control:frozen-closed", "control:logit", "unforced-counterfactual"])
        XCTAssertTrue(rows.filter { $0.source == "counterfactual" }.allSatisfy { $0.attributeTarget == "reject" })
        XCTAssertTrue(rows.filter { $0.condition.hasPrefix("control:") }.allSatisfy { $0.source == "original" })
    }

    func testRolloutsReadWithOtherTagsAreAClearError() throws {
        let (model, formatter) = try load()
        var settings = TraceSettings()
        settings.format = TraceFormat(reasoningTag: "think", answerTag: "answer")
        XCTAssertThrowsError(try TraceMediation(model: model, formatter: formatter, settings: settings).run(crafted(1))) {
            XCTAssertTrue("\($0)".contains("'r0'") && "\($0)".contains("--tags/--answers"), "\($0)")
        }
    }

    func testMalformedRolloutLinesNameTheLine() throws {
        let url = tmp.appendingPathComponent("r.jsonl")
        try ReasoningOutputs.writeLines(crafted(2), to: url)
        let good = try String(contentsOf: url, encoding: .utf8)
        try (good + "{not json}\n").write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RolloutRecord.readAll(url)) { XCTAssertTrue("\($0)".contains("r.jsonl:3: malformed JSON line"), "\($0)") }
        try (good + "\n{\"sample\": 0}\n").write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RolloutRecord.readAll(url)) { XCTAssertTrue("\($0)".contains("r.jsonl:4: missing field"), "\($0)") }
        try "".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RolloutRecord.readAll(url)) { XCTAssertTrue("\($0)".contains("no rows"), "\($0)") }
    }

    func testModelWithoutChatTemplate() throws {
        let dir = tmp.appendingPathComponent("notemplate")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json"] {
            try FileManager.default.copyItem(at: Self.modelDir.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let cfgData = try Data(contentsOf: Self.modelDir.appendingPathComponent("tokenizer_config.json"))
        var cfg = try XCTUnwrap(JSONSerialization.jsonObject(with: cfgData) as? [String: Any])
        cfg.removeValue(forKey: "chat_template")
        try JSONSerialization.data(withJSONObject: cfg).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let formatter = try ChatFormatter(directory: dir)
        let model = try ModelLoader.load(directory: dir)
        XCTAssertThrowsError(try RolloutRunner(model: model, formatter: formatter, settings: RolloutSettings())
            .run([ReasoningPrompt(id: "a", text: "hi", line: 1)])) { XCTAssertTrue("\($0)".contains("has no chat template"), "\($0)") }
        XCTAssertThrowsError(try TraceMediation(model: model, formatter: formatter, settings: TraceSettings()).run(crafted(1)))
    }

    func testArticulationWithJudgeWritesEveryFile() throws {
        let (model, formatter) = try load()
        let profiles = try ProfileGenerator(criterion: try LoanCriterion(parsing: "nationality == Canadian")).generate(pairs: 2, seed: 1)
        var settings = RolloutSettings()
        settings.maxNewTokens = 4
        let records = try RolloutRunner(model: model, formatter: formatter, settings: settings)
            .run(profiles.enumerated().map { $0.element.asPrompt(line: $0.offset + 1) })
        var rows = zip(profiles, records).map { ArticulationRow(profile: $0.0, rollout: $0.1, attribute: .nationality) }
        var judge = try ArticulationJudge(model: model, formatter: formatter, template: ArticulationJudge.defaultTemplate)
        judge.maxNewTokens = 3
        try judge.judge(&rows, prompts: profiles.map(\.prompt), attribute: "nationality")
        XCTAssertTrue(rows.allSatisfy { ["yes", "no", "unparsed"].contains($0.judgeMentioned ?? "") && $0.judgeRaw?.count == 2 })
        XCTAssertThrowsError(try ArticulationJudge(model: model, formatter: formatter, template: "no placeholder"))
        let summary = ArticulationSummary(rows: rows, criterion: try LoanCriterion(parsing: "nationality == Canadian"))
        XCTAssertEqual(summary.formatValid.n, 4)
        XCTAssertNotNil(summary.judgeUnparsed)
        let folder = tmp.appendingPathComponent("art")
        let config = ReasoningRunConfig(version: "test", command: ["steer"], settings: settings, inputs: [])
        try ReasoningOutputs.writeArticulation(folder: folder, rows: rows, summary: summary, config: config)
        for f in ["rows.jsonl", "summary.json", "rates.svg", "report.html", "config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(f).path), f)
        }
    }
}

extension ReasoningPrompt {
    func withoutTwin(id: String) -> ReasoningPrompt {
        var p = self
        p.id = id; p.twinOf = nil
        return p
    }
}
