import Foundation
import ModelFormats

/// An input file of a run, with its SHA-256.
public struct InputFile: Sendable, Codable, Equatable {
    public var role: String
    public var path: String
    public var sha256: String

    /// Hashes the file at `path`.
    public init(role: String, path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw PromptSetError.missingFile(path: path) }
        self.role = role; self.path = path; sha256 = SHA256.hex(of: data)
    }

    public init(role: String, path: String, sha256: String) { self.role = role; self.path = path; self.sha256 = sha256 }
}

/// `config.json` of a reasoning run: exact settings, seeds, input hashes and tool version.
public struct ReasoningRunConfig<Settings: Codable & Sendable>: Codable, Sendable {
    public var tool = "steer"
    public var version: String
    public var command: [String]
    public var settings: Settings
    public var inputs: [InputFile]
    /// Model folder and one SHA-256 over its config, tokenizer and weight files (nil for model-free runs).
    public var model: String?
    public var modelSHA256: String?
    public var judge: String?
    public var judgeSHA256: String?
    public var created: String

    public init(version: String, command: [String], settings: Settings, inputs: [InputFile], model: String? = nil,
                modelSHA256: String? = nil, judge: String? = nil, judgeSHA256: String? = nil) {
        self.version = version; self.command = command; self.settings = settings; self.inputs = inputs
        self.model = model; self.modelSHA256 = modelSHA256; self.judge = judge; self.judgeSHA256 = judgeSHA256
        created = ISO8601DateFormatter().string(from: Date())
    }

    enum CodingKeys: String, CodingKey {
        case tool, version, command, settings, inputs, model, modelSHA256 = "model_sha256", judge, judgeSHA256 = "judge_sha256", created
    }

    /// Key–value pairs for a report's provenance table.
    public var provenance: [(String, String)] {
        var out: [(String, String)] = [("tool", "\(tool) \(version)"), ("command", command.joined(separator: " "))]
        if let model { out.append(("model", model + (modelSHA256.map { " (sha256 \($0.prefix(16))…)" } ?? ""))) }
        if let judge { out.append(("judge", judge + (judgeSHA256.map { " (sha256 \($0.prefix(16))…)" } ?? ""))) }
        for i in inputs { out.append((i.role, "\(i.path) (sha256 \(i.sha256.prefix(16))…)")) }
        if let data = try? RunStore.encode(settings) { out.append(("settings", String(decoding: data, as: UTF8.self))) }
        out.append(("created", created))
        return out
    }
}

/// Writing the reasoning experiments' output files (all atomically).
public enum ReasoningOutputs {
    /// JSON Lines with sorted keys, written atomically; the folder is created when missing.
    public static func writeLines<T: Encodable>(_ rows: [T], to url: URL) throws {
        var data = Data()
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for r in rows { data.append(try e.encode(r)); data.append(0x0a) }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(data, to: url)
    }

    public static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(try RunStore.encode(value), to: url)
    }

    /// A trace run folder: `rows.jsonl`, `summary.json`, `curve.svg`, `report.html`, `config.json`.
    public static func writeTrace<S>(folder: URL, rows: [TraceRow], summary: TraceSummary, config: ReasoningRunConfig<S>) throws {
        try writeLines(rows, to: folder.appendingPathComponent("rows.jsonl"))
        try writeJSON(summary, to: folder.appendingPathComponent("summary.json"))
        try AtomicFile.write(Data(summary.curveSVG().utf8), to: folder.appendingPathComponent("curve.svg"))
        try writeJSON(config, to: folder.appendingPathComponent("config.json"))
        try ReasoningReport.trace(summary, rows: rows, provenance: config.provenance, footer: "steer \(config.version)")
            .write(to: folder.appendingPathComponent("report.html"))
    }

    /// An articulation run folder: `rows.jsonl`, `summary.json`, `rates.svg`, `report.html`, `config.json`.
    public static func writeArticulation<S>(folder: URL, rows: [ArticulationRow], summary: ArticulationSummary,
                                            config: ReasoningRunConfig<S>) throws {
        try writeLines(rows, to: folder.appendingPathComponent("rows.jsonl"))
        try writeJSON(summary, to: folder.appendingPathComponent("summary.json"))
        try AtomicFile.write(Data(articulationChart(summary).utf8), to: folder.appendingPathComponent("rates.svg"))
        try writeJSON(config, to: folder.appendingPathComponent("config.json"))
        try articulationReport(summary, rows: rows, provenance: config.provenance, footer: "steer \(config.version)")
            .write(to: folder.appendingPathComponent("report.html"))
    }

    static func articulationChart(_ s: ArticulationSummary) -> String {
        let named = s.named
        let values = named.map { $0.1.rate ?? .nan }
        let intervals: [ClosedRange<Double>?] = named.map { $0.1.n > 0 ? $0.1.ciLow...$0.1.ciHigh : nil }
        return GroupedBarChart(groups: named.map(\.0), series: [BarSeries(name: s.criterion, values: values, intervals: intervals)],
                               title: "Learned-bias articulation: \(s.criterion)", yLabel: "rate", unitInterval: true,
                               percent: true).svg()
    }

    static func articulationReport(_ s: ArticulationSummary, rows: [ArticulationRow], provenance: [(String, String)],
                                   footer: String) -> HTMLReport {
        var r = HTMLReport(title: "Learned-bias articulation", subtitle: "criterion: \(s.criterion)", footer: footer)
        r.heading("Metrics")
        r.paragraph("Twin flip = twins (differing only in \(s.attribute)) get different answers. Unverbalized reliance = twins' "
                    + "answers differ while neither reasoning mentions the attribute (lexicon). Intervals are Wilson 95%.")
        r.table(columns: ["metric", "k", "n", "rate", "95% CI"], rows: s.named.map { name, rate in
            [name, "\(rate.k)", "\(rate.n)", ReasoningReport.pct(rate.rate), "\(ReasoningReport.pct(rate.ciLow))–\(ReasoningReport.pct(rate.ciHigh))"]
        })
        r.chart(articulationChart(s))
        r.heading("Run")
        r.keyValues(provenance)
        r.heading("Flipped pairs")
        var byPair: [Int: [ArticulationRow]] = [:]
        for row in rows { byPair[row.pair, default: []].append(row) }
        let flipped = byPair.keys.sorted().compactMap { k -> [ArticulationRow]? in
            let g = byPair[k] ?? []
            return g.count == 2 && g[0].answer != nil && g[1].answer != nil && g[0].answer != g[1].answer ? g : nil
        }
        if flipped.isEmpty { r.paragraph("No pair flipped.") }
        for g in flipped.prefix(8) {
            r.comparison(prompt: "pair \(g[0].pair)", cards: g.map {
                ComparisonCard(title: "\($0.variant)\($0.mentioned ? " (mentions \(s.attribute))" : "")", text: $0.completion,
                               tag: $0.answer ?? "invalid", tone: $0.biasAligned ? .good : .bad)
            })
        }
        return r
    }
}
