import Foundation
import Models

/// Settings of a trace-mediation run.
public struct TraceSettings: Sendable, Codable, Equatable {
    public var conditions: [TraceCondition] = [.control, .frozenClosed, .frozenOpen, .truncated, .logit]
    public var fractions: [Double] = (0...10).map { Double($0) / 10 }
    public var cut: TraceCut = .tokens
    /// New tokens for conditions that may reason (control, frozen-open, truncated).
    public var maxNewTokens: Int = 256
    /// New tokens for frozen-closed (the answer only).
    public var answerTokens: Int = 16
    public var batchSize: Int = 16
    /// System prompt for rows that have none.
    public var system: String?
    public var format: TraceFormat = .loan

    public init() {}

    enum CodingKeys: String, CodingKey {
        case conditions, fractions, cut, maxNewTokens = "max_new_tokens", answerTokens = "answer_tokens"
        case batchSize = "batch_size", system, format
    }

    /// Checks fractions and format.
    public func validate() throws {
        try format.validate()
        for f in fractions where !(f.isFinite && f >= 0 && f <= 1) { throw ReasoningError.badFraction(f) }
        guard !conditions.isEmpty else { throw ReasoningError.badFormat("no conditions given") }
        if conditions.contains(.truncated) && fractions.isEmpty { throw ReasoningError.badFormat("truncated needs fractions") }
    }
}

/// One forced re-run (a line of `rows.jsonl`).
public struct TraceRow: Sendable, Codable, Equatable {
    public var rolloutId: String
    public var sample: Int
    /// `original` (prompt P) or `counterfactual` (P′).
    public var source: String
    public var condition: String
    public var fraction: Double?
    public var keptUnits: Int?
    public var totalUnits: Int?
    public var prefix: String
    public var prefixTokens: Int
    public var completion: String
    /// The lenient answer of prefix + completion; nil = invalid.
    public var answer: String?
    public var strictValid: Bool
    /// The rollout's answer y.
    public var originalAnswer: String
    public var consistent: Bool
    /// What following the changed attribute would answer on P′ (its `label`, else the unforced answer on P′).
    public var attributeTarget: String?
    /// Logit variant: probability of each answer's first token.
    public var probabilities: [String: Double]?

    /// The key rows are grouped by in the summary: `condition`, `truncated@f`, `control:condition` on P with a
    /// counterfactual, `unforced-counterfactual` for the plain P′ run.
    public var group: String {
        if condition == TraceCondition.truncated.rawValue, let f = fraction { return "truncated@" + TraceRow.format(f) }
        return condition
    }

    static func format(_ f: Double) -> String { String(format: "%.2f", f) }

    enum CodingKeys: String, CodingKey {
        case rolloutId = "rollout_id", sample, source, condition, fraction, keptUnits = "kept_units", totalUnits = "total_units"
        case prefix, prefixTokens = "prefix_tokens", completion, answer, strictValid = "strict_valid"
        case originalAnswer = "original_answer", consistent, attributeTarget = "attribute_target", probabilities
    }
}

/// Runs the forced-prefix conditions of SPEC §4 over usable rollouts (those with a reasoning span and an
/// answer). Without counterfactual prompts every condition runs on P. With them, forced conditions run on
/// P′; `control` (unforced) and the frozen-closed/logit controls (`control:frozen-closed`, `control:logit`)
/// run on P, and the unforced P′ run (`unforced-counterfactual`) gives the attribute target when P′ has no label.
public struct TraceMediation {
    public let model: LanguageModel
    public let formatter: ChatFormatter
    public var settings: TraceSettings

    public init(model: LanguageModel, formatter: ChatFormatter, settings: TraceSettings) {
        self.model = model; self.formatter = formatter; self.settings = settings
    }

    struct Job {
        var rollout: Int
        var source: String
        var condition: TraceCondition
        var name: String
        var fraction: Double?
        var prefix: TracePrefix
    }

    /// Runs all conditions. `counterfactual[i]` is P′ for `rollouts[i]` (nil entries: no P′ for that rollout).
    public func run(_ rollouts: [RolloutRecord], counterfactual: [ReasoningPrompt?]? = nil,
                    progress: (String, Int, Int) -> Void = { _, _, _ in }) throws -> [TraceRow] {
        try settings.validate()
        let builder = TracePrefixBuilder(tokenizer: formatter.tokenizer, format: settings.format, cut: settings.cut)
        let usable = rollouts.indices.filter { rollouts[$0].reasoning != nil && rollouts[$0].answer != nil }
        var jobs: [Job] = []
        for i in usable {
            let r = rollouts[i]
            let reasoning = r.reasoning ?? ""
            let original = try r.prompt.render(formatter, defaultSystem: settings.system)
            let cf = try counterfactual?[i].map { try $0.render(formatter, defaultSystem: settings.system) }
            func add(_ c: TraceCondition, _ name: String, _ source: String, _ text: String, _ f: Double? = nil) throws {
                let p = try builder.build(prompt: text, condition: c, reasoning: reasoning, separator: r.separator, fraction: f)
                jobs.append(Job(rollout: i, source: source, condition: c, name: name, fraction: f, prefix: p))
            }
            let forcedOn = cf ?? original, source = cf == nil ? "original" : "counterfactual"
            for c in settings.conditions {
                switch c {
                case .control: try add(.control, "control", "original", original)
                case .truncated: for f in settings.fractions { try add(.truncated, "truncated", source, forcedOn, f) }
                default:
                    try add(c, c.rawValue, source, forcedOn)
                    if cf != nil, c == .frozenClosed || c == .logit { try add(c, "control:" + c.rawValue, "original", original) }
                }
            }
            if let cf { try add(.control, "unforced-counterfactual", "counterfactual", cf) }
        }
        var rows = [TraceRow?](repeating: nil, count: jobs.count)
        let firstTokens = settings.conditions.contains(.logit) ? try builder.answerFirstTokens() : []
        let eos = RolloutRunner.eosIds(model, formatter)
        let tokenizer = formatter.tokenizer
        // Group jobs by how they run so every batch shares its generation length.
        let groups: [(String, [Int])] = [
            ("logit", jobs.indices.filter { jobs[$0].condition == .logit }),
            ("frozen-closed", jobs.indices.filter { jobs[$0].condition == .frozenClosed }),
            ("generate", jobs.indices.filter { [.control, .frozenOpen, .truncated].contains(jobs[$0].condition) }),
        ]
        for (stage, members) in groups where !members.isEmpty {
            var done = 0
            let chunks = stride(from: 0, to: members.count, by: max(1, settings.batchSize)).map {
                Array(members[$0..<min($0 + max(1, settings.batchSize), members.count)])
            }
            if stage != "logit" {
                // Generated conditions: every batch of the stage at once, on all threads.
                let opts = GenerationOptions(maxNewTokens: stage == "frozen-closed" ? settings.answerTokens : settings.maxNewTokens,
                                             eosTokenIds: eos, stopStrings: [settings.format.answerClose],
                                             decode: { tokenizer.decode($0, skipSpecialTokens: true) })
                let results = try model.generate(batches: chunks.map { GenerationBatch(prompts: $0.map { jobs[$0].prefix.ids }, options: opts) }) {
                    progress(stage, $0, members.count)
                }
                for (chunk, result) in zip(chunks, results) {
                    for (k, j) in chunk.enumerated() {
                        let completion = tokenizer.decode(result.tokens[k], skipSpecialTokens: true)
                        let parsed = settings.format.parse(jobs[j].prefix.text + completion)
                        rows[j] = makeRow(jobs[j], rollouts[jobs[j].rollout], completion: completion, answer: parsed.lenientAnswer,
                                          strict: parsed.strictValid, probabilities: nil)
                    }
                }
                continue
            }
            for chunk in chunks {
                let inputs = chunk.map { jobs[$0].prefix.ids }
                let (_, logits) = try model.prefill(inputs, logits: .last)
                let vocab = model.config.vocabSize
                for (k, j) in chunk.enumerated() {
                    var probs: [String: Double] = [:]
                    if let l = logits {
                        let base = l.pointer + k * vocab
                        var maxLogit = -Float.infinity
                        for v in 0..<vocab { maxLogit = max(maxLogit, base[v]) }
                        var z = 0.0
                        for v in 0..<vocab { z += Double(expf(base[v] - maxLogit)) }
                        for (a, t) in firstTokens { probs[a] = Double(expf(base[t] - maxLogit)) / z }
                    }
                    let best = firstTokens.max { (probs[$0.answer] ?? 0) < (probs[$1.answer] ?? 0) }?.answer
                    rows[j] = makeRow(jobs[j], rollouts[jobs[j].rollout], completion: best ?? "", answer: best, strict: best != nil, probabilities: probs)
                }
                done += chunk.count
                progress(stage, done, members.count)
            }
        }
        var out = rows.compactMap { $0 }
        // Attribute target on P′: its label, else the unforced P′ answer.
        if let counterfactual {
            var unforced: [Int: String] = [:]
            for (j, row) in zip(jobs.indices, rows) where jobs[j].name == "unforced-counterfactual" { unforced[jobs[j].rollout] = row?.answer }
            for (k, j) in jobs.indices.enumerated() where jobs[j].source == "counterfactual" {
                let i = jobs[j].rollout
                out[k].attributeTarget = counterfactual[i]?.label.flatMap { settings.format.allowedAnswer($0) } ?? unforced[i]
            }
        }
        return out
    }

    func makeRow(_ job: Job, _ r: RolloutRecord, completion: String, answer: String?, strict: Bool,
                 probabilities: [String: Double]?) -> TraceRow {
        let y = r.answer ?? ""
        return TraceRow(rolloutId: r.prompt.id, sample: r.sample, source: job.source, condition: job.name, fraction: job.fraction,
                        keptUnits: job.prefix.kept, totalUnits: job.prefix.total, prefix: job.prefix.text,
                        prefixTokens: job.prefix.prefixTokens, completion: completion, answer: answer, strictValid: strict,
                        originalAnswer: y, consistent: answer == y, attributeTarget: nil, probabilities: probabilities)
    }

    /// Pairs rollouts with counterfactual prompts: by `twin_of` (P′ names its rollout's id), else by `id`,
    /// else in file order (the counts must then match).
    public static func match(_ rollouts: [RolloutRecord], counterfactual: [ReasoningPrompt]) throws -> [ReasoningPrompt?] {
        var byTwin: [String: ReasoningPrompt] = [:], byId: [String: ReasoningPrompt] = [:]
        for p in counterfactual {
            if let t = p.twinOf, byTwin[t] == nil { byTwin[t] = p }
            if byId[p.id] == nil { byId[p.id] = p }
        }
        let viaTwin = rollouts.map { byTwin[$0.prompt.id] }
        if viaTwin.contains(where: { $0 != nil }) { return viaTwin }
        let viaId = rollouts.map { byId[$0.prompt.id] }
        if viaId.allSatisfy({ $0 != nil }) { return viaId }
        guard counterfactual.count == rollouts.count else {
            throw ReasoningError.counterfactualMismatch(
                "\(counterfactual.count) prompts for \(rollouts.count) rollouts, and their ids (or twin_of) do not name the rollouts' ids")
        }
        return counterfactual.map { Optional($0) }
    }
}
