import Foundation
import Models
import TensorKit
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

    /// Greedy completions of `prompts` (token ids) with optional hooks, batched; `progress(done)` per batch.
    public func complete(_ prompts: [[Int]], hooks: Hooks?, progress: (Int) -> Void = { _ in }) throws -> [[Int]] {
        var out: [[Int]] = []
        var start = 0
        while start < prompts.count {
            let chunk = Array(prompts[start..<min(prompts.count, start + batchSize)])
            let r = try model.generate(chunk, options: GenerationOptions(maxNewTokens: maxNewTokens, eosTokenIds: eosTokenIds),
                                       hooks: hooks)
            out += r.tokens
            start += chunk.count
            progress(start)
        }
        return out
    }

    /// Text of a completion (special tokens and a trailing EOS dropped).
    public func text(_ ids: [Int]) -> String {
        tokenizer.decode(ids.filter { !eosTokenIds.contains($0) }, skipSpecialTokens: true)
    }

    /// Mean KL(baseline ‖ hooked) of the last-position distributions over `prompts`.
    public func meanKL(_ prompts: [[Int]], hooks: Hooks) throws -> Double {
        let runner = BatchRunner(model: model, batchSize: batchSize)
        let base = try runner.lastLogits(prompts), other = try runner.lastLogits(prompts, hooks: hooks)
        let v = model.config.vocabSize
        var s = 0.0
        for i in 0..<prompts.count { s += RefusalMetrics.kl(base.pointer + i * v, other.pointer + i * v, vocab: v) }
        return s / Double(max(1, prompts.count))
    }

    /// Mean cross-entropy of `responses[i]` after `prompts[i]` (response tokens only), token-weighted.
    public func crossEntropy(prompts: [[Int]], responses: [[Int]], hooks: Hooks?) throws -> Double {
        var total = 0.0, count = 0
        let v = model.config.vocabSize
        for i in 0..<prompts.count where !responses[i].isEmpty {
            let seq = prompts[i] + responses[i]
            let (_, logits) = try model.prefill([seq], hooks: hooks, logits: .all)
            guard let logits else { continue }
            let start = prompts[i].count - 1
            let ce = RefusalMetrics.crossEntropy(logits.pointer + start * v, vocab: v, targets: responses[i])
            total += ce * Double(responses[i].count)
            count += responses[i].count
        }
        return count == 0 ? .nan : total / Double(count)
    }
}
