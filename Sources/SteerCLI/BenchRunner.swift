import Compute
import Foundation
import ModelFormats
import Models

/// The timed parts of `steer bench`: prefill and decode runs of one model, each repeated after an
/// untimed warm-up, and the arithmetic and memory traffic they imply.
struct BenchRunner {
    let model: LanguageModel
    let repeats: Int
    private var rng = SeededGenerator(seed: 1)

    init(model: LanguageModel, repeats: Int) {
        self.model = model; self.repeats = repeats
    }

    /// `count` prompts of `tokens` random ids (seeded: the same ids every invocation).
    mutating func prompts(_ count: Int, _ tokens: Int) -> [[Int]] {
        let vocab = model.config.vocabSize
        return (0..<count).map { _ in (0..<tokens).map { _ in Int.random(in: 0..<vocab, using: &rng) } }
    }

    /// Tokens/s of one batched forward of `prompts` computing each prompt's last-position logits.
    func prefill(_ prompts: [[Int]]) throws -> BenchSample {
        let tokens = Double(prompts.reduce(0) { $0 + $1.count })
        _ = try model.prefill(prompts, logits: .last)
        return BenchSample(try (0..<repeats).map { _ in
            let t0 = Date()
            _ = try model.prefill(prompts, logits: .last)
            return tokens / Date().timeIntervalSince(t0)
        })
    }

    /// Tokens/s of greedy decoding: from the first sampled token (after the prefill) to the last, as
    /// the transformers reference times it: `batch · (newTokens − 1)` tokens.
    func decode(_ prompts: [[Int]], newTokens: Int) throws -> BenchSample {
        let b = prompts.count
        _ = try model.generate(prompts, options: GenerationOptions(maxNewTokens: min(4, newTokens)))
        return BenchSample(try (0..<repeats).map { _ in
            var first: Date?, last = Date()
            _ = try model.generate(prompts, options: GenerationOptions(maxNewTokens: newTokens)) { row, _ in
                if first == nil { first = Date() }
                if row == b - 1 { last = Date() }
            }
            let seconds = last.timeIntervalSince(first ?? last)
            return seconds > 0 ? Double(b * (newTokens - 1)) / seconds : 0
        })
    }

    /// Floating-point operations of a prefill of `prompts` × `tokens`: the matrix products of every
    /// block (a routed MLP counts its router and its active experts), causal attention (scores and
    /// weighted values), the output head for the last positions.
    func prefillFLOPs(prompts: Int, tokens: Int) -> Double {
        let c = model.config, t = Double(tokens), p = Double(prompts)
        var flops = 2 * p * Double(c.vocabSize * c.hiddenSize)
        for b in c.blocks {
            let a = b.attention
            let mlp = b.mlp.experts.map { $0.experts + 3 * $0.width * $0.active } ?? 3 * b.mlp.width
            let params = Double(c.hiddenSize * (a.qkvWidth + a.qDim + mlp))
            flops += 2 * params * p * t + 4 * Double(a.qDim) * p * t * (t + 1) / 2
        }
        return flops
    }

    /// The weight matrices one decode step reads: every block's projections and the output head; a
    /// routed MLP its router and the first `active` of its experts (as if all were the same size).
    /// Norms, biases and the key/value cache are left out.
    var decodeWeights: [Weight] {
        var list = [model.outputHead]
        for (b, spec) in zip(model.blocks, model.config.blocks) {
            list += b.qkv + [b.o] + b.gateUp + (b.down.map { [$0] } ?? [])
            if let e = b.experts, let s = spec.mlp.experts {
                list.append(e.router)
                for i in 0..<min(s.active, e.gateUp.count, e.down.count) { list += e.gateUp[i] + [e.down[i]] }
            }
        }
        return list
    }

    /// Bytes of `decodeWeights`, in the dtype the backend holds them.
    var decodeBytesPerStep: Double {
        decodeWeights.reduce(0) { $0 + Double($1.rows * $1.cols * $1.dtype.byteSize) }
    }
}
