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
    /// With a checkpoint, finished generation batches are kept there and read back by a rerun.
    public func run(_ rollouts: [RolloutRecord], counterfactual: [ReasoningPrompt?]? = nil, checkpoint: GenerationCheckpoint? = nil,
                    progress: (String, Int, Int) -> Void = { _, _, _ in }) throws -> [TraceRow] {
        try settings.validate()
        let tokenizer = formatter.tokenizer
        let builder = TracePrefixBuilder(tokenizer: tokenizer, format: settings.format, cut: settings.cut)
        var cuts = [RolloutCuts?](repeating: nil, count: rollouts.count)
        for (i, r) in rollouts.enumerated() where r.reasoning != nil && r.answer != nil {
            guard let c = try RolloutCuts(record: r, format: settings.format, tokenizer: tokenizer) else {
                throw ReasoningError.badFormat("rollout '\(r.prompt.id)' (sample \(r.sample)) has a reasoning span and an answer, but the "
                                               + "text its tokens decode to has none in this format; use the --tags/--answers of 'steer rollouts'")
            }
            cuts[i] = c
        }
        var jobs: [Job] = []
        for (i, r) in rollouts.enumerated() {
            guard let c = cuts[i] else { continue }
            let original = tokenizer.encode(try r.prompt.render(formatter, defaultSystem: settings.system))
            let cf = try counterfactual?[i].map { tokenizer.encode(try $0.render(formatter, defaultSystem: settings.system)) }
            func add(_ cond: TraceCondition, _ name: String, _ source: String, _ prompt: [Int], _ f: Double? = nil) throws {
                let p = try builder.build(promptIds: prompt, condition: cond, rollout: c, fraction: f)
                jobs.append(Job(rollout: i, source: source, condition: cond, name: name, fraction: f, prefix: p))
            }
            // On P′ the forced tokens are still the rollout's on P: that is the experiment.
            let forcedOn = cf ?? original, source = cf == nil ? "original" : "counterfactual"
            for cond in settings.conditions {
                switch cond {
                case .control: try add(.control, "control", "original", original)
                case .truncated: for f in settings.fractions { try add(.truncated, "truncated", source, forcedOn, f) }
                default:
                    try add(cond, cond.rawValue, source, forcedOn)
                    if cf != nil, cond == .frozenClosed || cond == .logit { try add(cond, "control:" + cond.rawValue, "original", original) }
                }
            }
            if let cf { try add(.control, "unforced-counterfactual", "counterfactual", cf) }
        }
        var rows = [TraceRow?](repeating: nil, count: jobs.count)
        let eos = RolloutRunner.eosIds(model, formatter)
        // Group jobs by how they run so every batch shares its generation length.
        let groups: [(String, [Int])] = [
            ("logit", jobs.indices.filter { jobs[$0].condition == .logit }),
            ("frozen-closed", jobs.indices.filter { jobs[$0].condition == .frozenClosed }),
            ("generate", jobs.indices.filter { [.control, .frozenOpen, .truncated].contains(jobs[$0].condition) }),
        ]
        for (stage, members) in groups where !members.isEmpty {
            let chunks = stride(from: 0, to: members.count, by: max(1, settings.batchSize)).map {
                Array(members[$0..<min($0 + max(1, settings.batchSize), members.count)])
            }
            if stage == "logit" {
                try scoreAnswers(chunks, jobs: jobs, cuts: cuts, builder: builder) { j, best, probs in
                    rows[j] = makeRow(jobs[j], rollouts[jobs[j].rollout], cuts[jobs[j].rollout], completion: best ?? "", answer: best,
                                      strict: best != nil, probabilities: probs)
                } progress: { progress(stage, $0, members.count) }
                continue
            }
            // Generated conditions: every batch of the stage at once, on all threads.
            let opts = GenerationOptions(maxNewTokens: stage == "frozen-closed" ? settings.answerTokens : settings.maxNewTokens,
                                         eosTokenIds: eos, stopStrings: [settings.format.answerClose],
                                         decode: { tokenizer.decode($0, skipSpecialTokens: true) })
            let batches = chunks.map { GenerationBatch(prompts: $0.map { jobs[$0].prefix.ids }, options: opts) }
            let results = try GenerationCheckpoint.generate(model, batches, checkpoint: checkpoint, stage: stage) {
                progress(stage, $0, members.count)
            }
            for (chunk, result) in zip(chunks, results) {
                for (k, j) in chunk.enumerated() {
                    let new = result.tokens[k]
                    // The answer is read from the forced ids and the new ones decoded together (the cut may have
                    // left the answer's first token, `>approve`, to the model).
                    let parsed = settings.format.parse(tokenizer.decode(jobs[j].prefix.forcedIds + new, skipSpecialTokens: true))
                    rows[j] = makeRow(jobs[j], rollouts[jobs[j].rollout], cuts[jobs[j].rollout],
                                      completion: tokenizer.decode(new, skipSpecialTokens: true), answer: parsed.lenientAnswer,
                                      strict: parsed.strictValid, probabilities: nil)
                }
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

    /// The logit variant: one prefill per chunk; each row's answer is the one whose first token (as it follows the
    /// cut) is more probable. `row(job, best answer, probabilities)` per row.
    func scoreAnswers(_ chunks: [[Int]], jobs: [Job], cuts: [RolloutCuts?], builder: TracePrefixBuilder,
                      row: (Int, String?, [String: Double]) -> Void, progress: (Int) -> Void) throws {
        var firstTokens: [String: [(answer: String, token: Int)]] = [:]
        var done = 0
        for chunk in chunks {
            let (_, logits) = try model.prefill(chunk.map { jobs[$0].prefix.ids }, logits: .last)
            let vocab = model.config.vocabSize
            for (k, j) in chunk.enumerated() {
                let gap = cuts[jobs[j].rollout]?.answerGap ?? ""
                if firstTokens[gap] == nil { firstTokens[gap] = try builder.answerFirstTokens(gap: gap) }
                let candidates = firstTokens[gap] ?? []
                var probs: [String: Double] = [:]
                if let l = logits {
                    let base = l.pointer + k * vocab
                    var maxLogit = -Float.infinity
                    for v in 0..<vocab { maxLogit = max(maxLogit, base[v]) }
                    var z = 0.0
                    for v in 0..<vocab { z += Double(expf(base[v] - maxLogit)) }
                    for (a, t) in candidates { probs[a] = Double(expf(base[t] - maxLogit)) / z }
                }
                row(j, candidates.max { (probs[$0.answer] ?? 0) < (probs[$1.answer] ?? 0) }?.answer, probs)
            }
            done += chunk.count
            progress(done)
        }
    }

    func makeRow(_ job: Job, _ r: RolloutRecord, _ cuts: RolloutCuts?, completion: String, answer: String?, strict: Bool,
                 probabilities: [String: Double]?) -> TraceRow {
        let y = r.answer ?? ""
        let p = job.prefix
        let forced = p.cutToken != nil
        return TraceRow(rolloutId: r.prompt.id, sample: r.sample, source: job.source, condition: job.name, fraction: job.fraction,
                        keptUnits: p.kept, totalUnits: p.total, prefix: p.text, prefixTokens: p.prefixTokens,
                        forcedIds: forced ? p.forcedIds : nil, cutToken: p.cutToken, cutChar: p.cutChar, targetChar: p.targetChar,
                        retokenized: forced && cuts?.retokenized == true ? true : nil, completion: completion, answer: answer,
                        strictValid: strict, originalAnswer: y, consistent: answer == y, attributeTarget: nil, probabilities: probabilities)
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
