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
        let perSet = sets.map { GenerationBatch.split($0.prompts, size: batchSize, options: options, edits: $0.edits) }
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

    /// Mean KL(baseline ‖ hooked) of the last-position distributions over `prompts`.
    public func meanKL(_ prompts: [[Int]], edits: [ActivationEdit]) throws -> Double {
        let runner = BatchRunner(model: model, batchSize: batchSize)
        let base = try runner.lastLogits(prompts), other = try runner.lastLogits(prompts, edits: edits)
        let v = model.config.vocabSize
        var s = 0.0
        for i in 0..<prompts.count { s += RefusalMetrics.kl(base.pointer + i * v, other.pointer + i * v, vocab: v) }
        return s / Double(max(1, prompts.count))
    }

    /// Mean cross-entropy of `responses[i]` after `prompts[i]` (response tokens only), token-weighted.
    /// Prompts run on every thread at once; the total is summed in prompt order.
    public func crossEntropy(prompts: [[Int]], responses: [[Int]], edits: [ActivationEdit]) throws -> Double {
        let v = model.config.vocabSize
        var perPrompt = [(ce: Double, count: Int)](repeating: (0, 0), count: prompts.count)
        let lock = NSLock()
        try model.backend.jobs(prompts.count) { i in
            guard !responses[i].isEmpty else { return }
            let (_, logits) = try model.prefill([prompts[i] + responses[i]], edits: edits, logits: .all)
            guard let logits else { return }
            let ce = RefusalMetrics.crossEntropy(logits.pointer + (prompts[i].count - 1) * v, vocab: v, targets: responses[i])
            lock.lock(); perPrompt[i] = (ce * Double(responses[i].count), responses[i].count); lock.unlock()
        }
        let count = perPrompt.reduce(0) { $0 + $1.count }
        return count == 0 ? .nan : perPrompt.reduce(0) { $0 + $1.ce } / Double(count)
    }
}
