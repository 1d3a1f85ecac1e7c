import Foundation
import Models

/// Settings of a rollout run.
public struct RolloutSettings: Sendable, Codable, Equatable {
    /// Completions per prompt (only 1 when greedy).
    public var samples: Int = 1
    /// 0 = greedy.
    public var temperature: Double = 0
    public var topP: Double = 1
    public var seed: UInt64 = 0
    public var maxNewTokens: Int = 256
    public var batchSize: Int = 16
    /// System prompt for rows that have none.
    public var system: String?
    public var format: TraceFormat = .loan

    public init() {}

    enum CodingKeys: String, CodingKey {
        case samples, temperature, topP = "top_p", seed, maxNewTokens = "max_new_tokens", batchSize = "batch_size", system, format
    }
}

/// Generates greedy (or seeded sampled) completions of prompts and parses them into reasoning and answer.
///
/// Greedy rows are batched across prompts. Sampled rows are generated per prompt as one batch of
/// `samples` copies with seed `seed + prompt index`, so a prompt's samples do not depend on the batch size.
public struct RolloutRunner {
    public let model: LanguageModel
    public let formatter: ChatFormatter
    public var settings: RolloutSettings

    public init(model: LanguageModel, formatter: ChatFormatter, settings: RolloutSettings) {
        self.model = model; self.formatter = formatter; self.settings = settings
    }

    /// EOS ids of the model and tokenizer.
    public static func eosIds(_ model: LanguageModel, _ formatter: ChatFormatter) -> Set<Int> {
        Set(model.config.eosTokenIds + [formatter.tokenizer.eosTokenId].compactMap { $0 })
    }

    func options(maxNewTokens: Int, seed: UInt64, stop: [String]) -> GenerationOptions {
        let tokenizer = formatter.tokenizer
        return GenerationOptions(maxNewTokens: maxNewTokens, temperature: Float(settings.temperature), topP: Float(settings.topP),
                                 seed: seed, eosTokenIds: Self.eosIds(model, formatter), stopStrings: stop,
                                 decode: { tokenizer.decode($0, skipSpecialTokens: true) })
    }

    /// Runs every prompt; `progress(done, total)` after each batch. With a checkpoint, finished batches are kept
    /// there and read back by a rerun.
    public func run(_ prompts: [ReasoningPrompt], checkpoint: GenerationCheckpoint? = nil,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> [RolloutRecord] {
        try settings.format.validate()
        guard settings.samples >= 1 else { throw ReasoningError.badFormat("samples must be ≥ 1") }
        let ids = try prompts.map { formatter.tokenizer.encode(try $0.render(formatter, defaultSystem: settings.system)) }
        let stop = [settings.format.answerClose]
        let total = prompts.count * settings.samples
        // Greedy rows: batches across prompts. Sampled rows: one batch per prompt, seeded by its index, so
        // the samples do not depend on batching or threads.
        let batches: [(rows: [Int], batch: GenerationBatch, seed: UInt64?)]
        if settings.temperature == 0 {
            batches = stride(from: 0, to: prompts.count, by: max(1, settings.batchSize)).map { start in
                let rows = Array(start..<min(start + max(1, settings.batchSize), prompts.count))
                return (rows, GenerationBatch(prompts: rows.map { ids[$0] }, options: options(maxNewTokens: settings.maxNewTokens, seed: 0, stop: stop)), nil)
            }
        } else {
            batches = prompts.indices.map { i in
                let seed = settings.seed &+ UInt64(i)
                return ([i], GenerationBatch(prompts: Array(repeating: ids[i], count: settings.samples),
                                             options: options(maxNewTokens: settings.maxNewTokens, seed: seed, stop: stop)), seed)
            }
        }
        let results = try GenerationCheckpoint.generate(model, batches.map(\.batch), checkpoint: checkpoint, stage: "rollouts") {
            progress($0, total)
        }
        var out: [RolloutRecord] = []
        for (b, result) in zip(batches, results) {
            if let seed = b.seed {
                for s in 0..<settings.samples {
                    out.append(record(prompts[b.rows[0]], sample: s, tokens: result.tokens[s], finish: result.finishReasons[s], seed: seed))
                }
            } else {
                for (k, i) in b.rows.enumerated() {
                    out.append(record(prompts[i], sample: 0, tokens: result.tokens[k], finish: result.finishReasons[k], seed: nil))
                }
            }
        }
        return out
    }

    func record(_ p: ReasoningPrompt, sample: Int, tokens: [Int], finish: FinishReason, seed: UInt64?) -> RolloutRecord {
        let text = formatter.tokenizer.decode(tokens, skipSpecialTokens: true)
        var p = p
        // Record the system prompt actually used, so later runs on these rollouts render the same prompt.
        if p.messagesJSON == nil, p.system == nil { p.system = settings.system }
        return RolloutRecord(prompt: p, sample: sample, completion: text, completionTokens: tokens.count, tokens: tokens, finish: finish,
                             parsed: settings.format.parse(text), seed: seed)
    }
}

/// Counts of a rollout run for its summary and report.
public struct RolloutSummary: Sendable, Codable, Equatable {
    public var rows: Int
    public var wellFormed: WilsonInterval
    public var lenientValid: WilsonInterval
    public var answers: [String: Int]
    /// Share of rows whose answer equals the prompt's `label` (rows with a label and an answer only count as correct).
    public var labelAccuracy: WilsonInterval?

    public init(_ records: [RolloutRecord]) {
        rows = records.count
        wellFormed = Statistics.wilson(records.map(\.wellFormed))
        lenientValid = Statistics.wilson(records.map { $0.answer != nil })
        var counts: [String: Int] = [:]
        for r in records { counts[r.answer ?? "invalid", default: 0] += 1 }
        answers = counts
        let labelled = records.filter { $0.prompt.label != nil }
        labelAccuracy = labelled.isEmpty ? nil
            : Statistics.wilson(labelled.map { $0.answer != nil && $0.answer == $0.prompt.label?.lowercased() })
    }

    enum CodingKeys: String, CodingKey {
        case rows, wellFormed = "well_formed", lenientValid = "lenient_valid", answers, labelAccuracy = "label_accuracy"
    }
}
