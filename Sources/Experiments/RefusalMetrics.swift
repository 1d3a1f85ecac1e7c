import Foundation
import Models
import Compute

/// Scores computed from next-token distributions (SPEC §3.3, §3.4, §3.8), in Float64 as the reference does.
public enum RefusalMetrics {
    /// `log Σ exp(logits)` of a row.
    public static func logSumExp(_ logits: UnsafePointer<Float>, _ n: Int) -> Double {
        var m = -Float.infinity
        for i in 0..<n where logits[i] > m { m = logits[i] }
        let md = Double(m)
        var s = 0.0
        for i in 0..<n { s += exp(Double(logits[i]) - md) }
        return md + log(s)
    }

    /// `log(P + 1e-8) − log(1 − P + 1e-8)` with `P` the probability mass of the refusal tokens.
    public static func refusalScore(_ logits: UnsafePointer<Float>, vocab: Int, refusalTokens: [Int]) -> Double {
        refusalScore(logits, logSumExp: logSumExp(logits, vocab), refusalTokens: refusalTokens)
    }

    static func refusalScore(_ logits: UnsafePointer<Float>, logSumExp lse: Double, refusalTokens: [Int]) -> Double {
        let mass = refusalTokens.reduce(0.0) { $0 + exp(Double(logits[$1]) - lse) }
        return log(mass + 1e-8) - log(1 - mass + 1e-8)
    }

    /// A baseline next-token distribution prepared for many `KL(P ‖ Q)` evaluations against it.
    public struct Reference {
        /// `p[i]`.
        let p: [Double]
        /// `Σ p log p`.
        let pLogP: Double
        /// `Σ p` (1 up to rounding).
        let mass: Double

        public init(_ logits: UnsafePointer<Float>, vocab: Int) {
            let lse = RefusalMetrics.logSumExp(logits, vocab)
            var p = [Double](repeating: 0, count: vocab)
            var plp = 0.0, mass = 0.0
            for i in 0..<vocab {
                let lp = Double(logits[i]) - lse
                let e = exp(lp)
                p[i] = e
                if e > 0 { plp += e * lp; mass += e }
            }
            self.p = p; pLogP = plp; self.mass = mass
        }

        /// `KL(P ‖ Q) = Σ p (log p − log q)` with `log q = logits − logsumexp(logits)`:
        /// one exponential per entry (for the normaliser) instead of a second softmax.
        public func kl(_ logits: UnsafePointer<Float>, logSumExp lse: Double? = nil) -> Double {
            let n = p.count
            let lse = lse ?? RefusalMetrics.logSumExp(logits, n)
            var pl = 0.0
            p.withUnsafeBufferPointer { pp in
                for i in 0..<n where pp[i] > 0 { pl += pp[i] * Double(logits[i]) }
            }
            return pLogP - pl + lse * mass
        }
    }

    /// `KL(P ‖ Q) = Σ p (log p − log q)` of two logits rows.
    public static func kl(_ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>, vocab: Int) -> Double {
        Reference(p, vocab: vocab).kl(q)
    }

    /// Mean cross-entropy (nats/token) of `targets` given the logits rows that predict them.
    public static func crossEntropy(_ logits: UnsafePointer<Float>, vocab: Int, targets: [Int]) -> Double {
        var total = 0.0
        for (i, t) in targets.enumerated() {
            // log softmax of the target: x[t] − (m + log Σ exp(x − m)), the normaliser summed in Float64.
            let x = logits + i * vocab
            var m = -Float.infinity
            for j in 0..<vocab where x[j] > m { m = x[j] }
            var s: Double = 0
            for j in 0..<vocab { s += Double(expf(x[j] - m)) }
            total -= Double(x[t] - (m + Float(log(s))))
        }
        return targets.isEmpty ? 0 : total / Double(targets.count)
    }
}

/// Runs prompts through a model in batches and hands back last-position logits.
public struct BatchRunner {
    public let model: LanguageModel
    public var batchSize: Int

    public init(model: LanguageModel, batchSize: Int = 32) {
        self.model = model
        self.batchSize = max(1, batchSize)
    }

    /// Last-position logits `[prompts.count × vocab]`.
    public func lastLogits(_ prompts: [[Int]], edits: [ActivationEdit] = []) throws -> FloatBuffer {
        let v = model.config.vocabSize
        let out = FloatBuffer(count: prompts.count * v)
        var start = 0
        while start < prompts.count {
            let chunk = Array(prompts[start..<min(prompts.count, start + batchSize)])
            let (_, logits) = try model.prefill(chunk, edits: edits, logits: .last)
            if let logits { (out.pointer + start * v).update(from: logits.pointer, count: chunk.count * v) }
            start += chunk.count
        }
        return out
    }

    /// Mean refusal score of a prompt set.
    public func meanRefusalScore(_ prompts: [[Int]], refusalTokens: [Int], edits: [ActivationEdit] = []) throws -> Double {
        let scores = try refusalScores(prompts, refusalTokens: refusalTokens, edits: edits)
        return scores.reduce(0, +) / Double(max(1, scores.count))
    }

    public func refusalScores(_ prompts: [[Int]], refusalTokens: [Int], edits: [ActivationEdit] = []) throws -> [Double] {
        let logits = try lastLogits(prompts, edits: edits)
        let v = model.config.vocabSize
        return (0..<prompts.count).map { RefusalMetrics.refusalScore(logits.pointer + $0 * v, vocab: v, refusalTokens: refusalTokens) }
    }

    /// Mean `resid_pre` of every layer at negative `positions`, in Float64: `[P, L, d]`.
    public func residPreMeans(_ prompts: [[Int]], positions: [Int]) throws -> [Double] {
        try ActivationCapture(model: model, batchSize: batchSize).residPreMeans(prompts, offsets: positions)
    }
}
