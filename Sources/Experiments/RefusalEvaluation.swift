import Foundation
import Models
import Compute
import Tokenizers

/// One greedy completion under one condition.
public struct CompletionRecord: Codable, Sendable {
    public var condition: String
    public var prompt: String
    public var completion: String
    public var refusal: Bool
    /// The generated token ids.
    public var tokens: [Int]
}

/// Held-out evaluation of a selected direction (SPEC §3.8): greedy completions under baseline,
/// ablation, subtraction and addition, refusal-substring rates, KL and cross-entropy on harmless prompts.
public struct RefusalEvaluator {
    public let model: LanguageModel
    public let tokenizer: Tokenizer
    public var maxNewTokens: Int
    public var batchSize: Int
    public var eosTokenIds: Set<Int>

    public init(model: LanguageModel, tokenizer: Tokenizer, maxNewTokens: Int, batchSize: Int) {
        self.model = model
        self.tokenizer = tokenizer
        self.maxNewTokens = maxNewTokens
        self.batchSize = max(1, batchSize)
        eosTokenIds = Set(model.config.eosTokenIds + [tokenizer.eosTokenId].compactMap { $0 })
    }

    /// Greedy completions of `prompts` (token ids) with optional edits, batched; `progress(done)` per batch.
    public func complete(_ prompts: [[Int]], edits: [ActivationEdit], progress: (Int) -> Void = { _ in }) throws -> [[Int]] {
        try complete([(prompts, edits)], progress: progress)[0]
    }

    /// Greedy completions of several prompt sets, each with its own edits: all their batches form one list
    /// of jobs run on every thread at once (each single-threaded), so small models keep every core busy.
    /// A batch's tokens do not depend on which thread runs it. `progress(done)` counts prompts, after each batch.
    public func complete(_ sets: [(prompts: [[Int]], edits: [ActivationEdit])], progress: (Int) -> Void = { _ in }) throws -> [[[Int]]] {
        let options = GenerationOptions(maxNewTokens: maxNewTokens, eosTokenIds: eosTokenIds)
        let perSet = sets.map { GenerationBatch.split($0.prompts, size: batchSize, options: options, edits: $0.edits, even: true) }
        let results = try model.generate(batches: perSet.flatMap { $0 }, progress: progress)
        var out: [[[Int]]] = [], next = 0
        for batches in perSet {
            out.append(results[next..<(next + batches.count)].flatMap(\.tokens))
            next += batches.count
        }
        return out
    }

    /// Text of a completion (special tokens and a trailing EOS dropped).
    public func text(_ ids: [Int]) -> String {
        tokenizer.decode(ids.filter { !eosTokenIds.contains($0) }, skipSpecialTokens: true)
    }
}
