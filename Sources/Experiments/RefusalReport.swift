import Foundation
import Models

/// `report.html` of a refusal run.
public enum RefusalReport {
    public static func write(_ run: RefusalRun, model: LanguageModel, prompts: RefusalPrompts, store: RunStore) throws {
        let html = "<!doctype html><html><body><h1>Refusal run</h1></body></html>"
        try Data(html.utf8).write(to: store.url("report.html"), options: .atomic)
    }
}
