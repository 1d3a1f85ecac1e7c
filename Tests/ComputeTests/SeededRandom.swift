import Basics
import Foundation

/// Test data from SplitMix64: the same inputs on every run and machine, so a failure is reproducible.
struct SeededRandom: RandomNumberGenerator {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    /// `count` floats uniform in `[-scale, scale)` (24 random bits each, so exactly representable before scaling).
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in (Float(next() >> 40) * 0x1p-23 - 1) * scale }
    }

    /// A `rows × cols` grid of such floats.
    mutating func grid(_ rows: Int, _ cols: Int, scale: Float = 1) -> Grid {
        Grid(rows: rows, cols: cols, floats: floats(rows * cols, scale: scale))
    }
}
