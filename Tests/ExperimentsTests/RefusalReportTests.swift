import Foundation
import XCTest
import Models
@testable import Experiments

/// The refusal report and evaluation.json of a full run on the pipeline fixture (validation prompts reused
/// as test prompts): every filtered candidate hatched, KL readable, intervals and degeneration for every
/// condition, and the provenance on the page.
final class RefusalReportTests: XCTestCase {
    private func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func testReportShowsFiltersIntervalsDegenerationAndProvenance() throws {
        let root = PipelineReferenceTests.root, dir = root.appendingPathComponent("model")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("steer-report-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try ModelLoader.load(directory: dir)
        let formatter = try ChatFormatter(directory: dir)
        func prompts(_ name: String) throws -> [String] { try PromptSet.load(root.appendingPathComponent("prompts/\(name).json")).texts }
        var settings = RefusalSettings()
        settings.filterValidation = false
        settings.maxNewTokens = 8
        settings.refusalTokens = try JSONDecoder().decode(PipelineReferenceTests.Reference.self,
                                                          from: Data(contentsOf: root.appendingPathComponent("reference/scores.json"))).refusal_tokens
        let sets = RefusalPrompts(harmfulTrain: try prompts("harmful_train"), harmfulVal: try prompts("harmful_val"),
                                  harmfulTest: try prompts("harmful_val"), harmlessTrain: try prompts("harmless_train"),
                                  harmlessVal: try prompts("harmless_val"), harmlessTest: try prompts("harmless_val"))
        let pipeline = try RefusalPipeline(model: model, formatter: formatter, settings: settings, runFolder: folder, inputKey: "report")
        let run = try pipeline.run(sets)
        let provenance = RunProvenance(command: "steer refusal fixture --seed 7", tool: "steer test", seed: 7, modelHash: "abc123",
                                       threads: 1, details: [("prompts harmful:train", "harmful_train.json")])
        try RefusalReport.write(run, model: model, prompts: sets, store: pipeline.store, provenance: provenance)

        // evaluation.json: intervals and degeneration for every condition.
        let e = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("evaluation.json"))) as? [String: Any])
        let ci = try XCTUnwrap(e["refusal_rate_ci"] as? [String: [String: Any]])
        let degeneration = try XCTUnwrap(e["degeneration"] as? [String: [String: Any]])
        for c in RefusalEvaluationSummary.conditions {
            let w = try XCTUnwrap(ci[c], c)
            XCTAssertEqual(w["trials"] as? Int, 6, c)
            XCTAssertLessThanOrEqual(try XCTUnwrap(w["lower"] as? Double), try XCTUnwrap(w["upper"] as? Double), c)
            XCTAssertNotNil(degeneration[c]?["repeated_4gram_rate"] as? Double, c)
            XCTAssertEqual((degeneration[c]?["degenerate"] as? [String: Any])?["trials"] as? Int, 6, c)
        }

        let html = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
        // Three heat maps; each hatches every scored candidate a filter removed (other than the scoreless "nan"
        // ones); the candidates the layer filter discards are not run, and their grey cells say so.
        let removed = run.selection.candidates.filter { $0.filteredBy != nil && $0.filteredBy != "nan" && !$0.bypass.isNaN }.count
        let unscored = run.selection.candidates.filter { $0.filteredBy == "layer" && $0.bypass.isNaN && $0.induce.isNaN }.count
        XCTAssertGreaterThan(removed, 0)
        XCTAssertGreaterThan(unscored, 0)
        XCTAssertEqual(count("class=\"cell filtered\"", in: html), 3 * removed)
        XCTAssertEqual(count("not computed — removed by a filter: layer", in: html), 3 * unscored)
        let klMap = try XCTUnwrap(html.components(separatedBy: "aria-label=\"KL\"").dropFirst().first?.components(separatedBy: "</svg>").first)
        // Cell values are the texts drawn in the cells' middle (font-size 10, centred); none reads 0.00.
        let cellTexts = klMap.components(separatedBy: "font-size=\"10\" text-anchor=\"middle\"").dropFirst()
            .compactMap { $0.components(separatedBy: ">").dropFirst().first?.components(separatedBy: "<").first }
        XCTAssertFalse(cellTexts.isEmpty)
        XCTAssertFalse(cellTexts.contains { Double($0) == 0 }, "KL cells keep their digits: \(cellTexts)")
        XCTAssertTrue(html.contains("refusal rate [95% CI]") && html.contains("degenerate [95% CI]"))
        XCTAssertEqual(count("class=\"chart bars\"", in: html), 2, "refusal rates and degenerate shares, with whiskers")
        for fact in ["steer refusal fixture --seed 7", "abc123", ">seed<", ">7<", "steer test"] {
            XCTAssertTrue(html.contains(fact), fact)
        }
    }
}
