import Foundation

/// SplitMix64: the same inputs on every run and machine, so a failure is reproducible.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` floats uniform in `[-scale, scale)` (24 random bits each, so exactly representable before scaling).
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in (Float(next() >> 40) * 0x1p-23 - 1) * scale }
    }

    /// A `rows × cols` grid of such floats.
    mutating func grid(_ rows: Int, _ cols: Int, scale: Float = 1) -> Grid {
        Grid(rows: rows, cols: cols, floats: floats(rows * cols, scale: scale))
    }
}
