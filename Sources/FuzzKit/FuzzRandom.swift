import Foundation
import Experiments

/// The harness's deterministic random source: SplitMix64 seeded from (run seed, kind, case index),
/// so a case can be regenerated alone, in any process, from its three numbers.
public struct FuzzRandom {
    private var generator: SplitMix64

    public init(seed: UInt64, kind: FuzzKind, index: Int) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325   // FNV-1a of the kind name, mixed with seed and index
        for b in kind.rawValue.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        generator = SplitMix64(seed: (seed &* 0x9E37_79B9_7F4A_7C15) ^ h ^ (UInt64(truncatingIfNeeded: index) &* 0xD6E8_FEB8_6659_FD93))
    }

    public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in `0..<bound` (0 when bound ≤ 0).
    public mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : generator.index(below: bound) }

    /// Uniform in `range`.
    public mutating func int(in range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }

    /// A random element (`nil` for an empty collection).
    public mutating func pick<C: Collection>(_ items: C) -> C.Element? where C.Index == Int {
        items.isEmpty ? nil : items[items.startIndex + below(items.count)]
    }

    /// A random element of a non-empty array literal.
    public mutating func pick<T>(_ first: T, _ rest: T...) -> T {
        let i = below(rest.count + 1)
        return i == 0 ? first : rest[i - 1]
    }

    /// Small counts are likelier than large ones (1, 2, 3 … up to `max`).
    public mutating func count(max: Int) -> Int { min(max, 1 + Int(Double(max) * pow(Double(next() >> 11) / Double(1 << 53), 3))) }
}

/// Numbers and strings that often break parsers and size arithmetic, as JSON number text.
public enum Interesting {
    public static let integers: [String] = [
        "0", "1", "-1", "2", "3", "4", "7", "8", "15", "16", "17", "31", "32", "63", "64", "255", "256", "257",
        "1023", "1024", "4095", "4096", "4097", "65535", "65536", "1000000", "1000000000", "2147483647", "2147483648",
        "-2147483648", "4294967295", "4294967296", "1099511627776", "9007199254740992", "9007199254740993",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
        "18446744073709551616", "100000000000000000000000000000",
    ]
    public static let reals: [String] = [
        "0.0", "-0.0", "0.5", "-0.5", "1.0", "1.5", "2.0", "4.0", "16.0", "-1.0", "0.25", "0.3125", "0.1", "1e-5",
        "1e-300", "5e-324", "1e-45", "1e38", "3.4e38", "3.5e38", "1e300", "1.7976931348623157e308", "1e309", "-1e309",
        "1e400", "NaN", "Infinity", "-Infinity", "1E2", "1.0e+2", "0.0000000000000000000001", "12345678901234567890.5",
    ]
    public static let strings: [String] = [
        "", " ", "a", "null", "true", "0", "-1", "1e400", "\u{0}", "\u{FEFF}", "\u{202E}", "é", "💥", "\\", "\"",
        "{", "}", "[", "]", "{{", "{%", "%}", "\n", "\r\n", "\t", String(repeating: "a", count: 1000),
        String(repeating: "💥", count: 300), "../../etc/passwd", "/dev/zero", "%s%n", "\u{D7FF}", "\u{E000}",
    ]
}
