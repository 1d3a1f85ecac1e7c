import Basics
import Foundation

/// A small, seedable generator (xoshiro256**), so sampled runs repeat exactly for a given seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// The state is the first four outputs of `SplitMix64(seed:)`, as xoshiro's authors recommend.
    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s = (seeder.next(), seeder.next(), seeder.next(), seeder.next())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3; s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }
}

/// Picks the next token from a row of logits: greedy at temperature 0, otherwise
/// temperature → top-k → top-p (nucleus) → a draw from the seeded generator.
public struct Sampler: Sendable {
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    private var rng: SeededGenerator

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        rng = SeededGenerator(seed: seed)
    }

    public var isGreedy: Bool { temperature <= 0 }

    /// The index of the largest logit (the first one on ties, as `torch.argmax`).
    public static func argmax(_ x: UnsafePointer<Float>, _ n: Int) -> Int {
        var best = 0
        var v = x[0]
        for i in 1..<n where x[i] > v { v = x[i]; best = i }
        return best
    }

    public mutating func pick(_ logits: UnsafePointer<Float>, count n: Int) -> Int {
        if isGreedy { return Self.argmax(logits, n) }
        var order = Array(0..<n)
        order.sort { logits[$0] > logits[$1] }
        if topK > 0 && topK < n { order.removeLast(n - topK) }
        let maxL = logits[order[0]] / temperature
        var probs = order.map { Double(expf(logits[$0] / temperature - maxL)) }
        let total = probs.reduce(0, +)
        probs = probs.map { $0 / total }
        if topP < 1 {
            var cum = 0.0, keep = 0
            while keep < probs.count { cum += probs[keep]; keep += 1; if cum >= Double(topP) { break } }
            probs.removeLast(probs.count - keep)
            let s = probs.reduce(0, +)
            probs = probs.map { $0 / s }
        }
        var u = Double.random(in: 0..<1, using: &rng)
        for (i, p) in probs.enumerated() {
            u -= p
            if u < 0 { return order[i] }
        }
        return order[probs.count - 1]
    }
}
