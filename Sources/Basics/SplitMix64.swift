/// SplitMix64 (Steele, Lea & Flood 2014): the one seeded generator of Steer (prompt-set shuffles,
/// profile sets, the sampler's seeding, the fuzzing harness, test data).
///
/// `next()`: `state += 0x9E3779B97F4A7C15; z = state;
/// z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31)`
/// (all arithmetic modulo 2^64). The same seed gives the same sequence on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` (bound > 0) by rejection: draws `r = next()` until
    /// `r < 2^64 - (2^64 mod bound)`, then returns `r mod bound`.
    public mutating func index(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let m = UInt64(bound)
        let excess = (UInt64.max % m &+ 1) % m  // 2^64 mod m
        let limit = UInt64.max &- excess &+ 1   // 2^64 - excess, wraps to 0 when excess == 0
        while true {
            let r = next()
            if excess == 0 || r < limit { return Int(r % m) }
        }
    }

    /// Fisher–Yates: for `i` from `n-1` down to 1, swap element `i` with element `index(below: i + 1)`.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, through: 1, by: -1) {
            items.swapAt(i, index(below: i + 1))
        }
    }

    /// The permutation of `0..<count` that `shuffle` applies for `seed`.
    public static func permutation(count: Int, seed: UInt64) -> [Int] {
        var generator = SplitMix64(seed: seed)
        var order = Array(0..<max(count, 0))
        generator.shuffle(&order)
        return order
    }
}
