import Foundation

/// Unstructured mutations of bytes, for what the structure-aware mutators cannot reach: bit flips,
/// interesting bytes (invalid UTF-8, NUL, delimiters), inserted, deleted and repeated runs,
/// truncation, and little-endian integers overwritten with boundary values.
public enum ByteMutator {
    /// Bytes that tend to matter: invalid UTF-8 lead/continuation bytes, NUL, delimiters, line ends.
    static let special: [UInt8] = [0x00, 0xFF, 0xFE, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xF8, 0x80, 0xBF,
                                   0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x0A, 0x0D, 0x25, 0x7C, 0x20]

    /// `count` mutations of `data` (never longer than `maxLength`).
    public static func mutate(_ data: Data, count: Int, rng: inout FuzzRandom, maxLength: Int = 4 << 20) -> Data {
        var bytes = [UInt8](data)
        for _ in 0..<count { mutateOnce(&bytes, rng: &rng, maxLength: maxLength) }
        return Data(bytes)
    }

    static func mutateOnce(_ b: inout [UInt8], rng: inout FuzzRandom, maxLength: Int) {
        let n = b.count
        switch rng.below(9) {
        case 0 where n > 0:
            b[rng.below(n)] ^= UInt8(1) << UInt8(rng.below(8))
        case 1 where n > 0:
            b[rng.below(n)] = rng.pick(special)!
        case 2:
            b.insert(rng.pick(special)!, at: rng.below(n + 1))
        case 3 where n > 0:
            let start = rng.below(n)
            b.removeSubrange(start..<min(n, start + rng.count(max: 64)))
        case 4 where n > 0:
            let start = rng.below(n), len = min(n - start, rng.count(max: 256))
            let run = Array(b[start..<(start + len)])
            let times = rng.pick(1, 2, 16, 4096)
            guard n + run.count * times <= maxLength else { return }
            b.insert(contentsOf: Array([[UInt8]](repeating: run, count: times).joined()), at: rng.below(n + 1))
        case 5 where n > 0:
            b.removeSubrange(rng.below(n)..<n)   // truncate
        case 6 where n >= 8:
            // Overwrite an aligned little-endian u32/u64 with a boundary value.
            let width = rng.chance(0.5) ? 4 : 8
            let at = rng.below(n - width + 1)
            let values: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                    0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, UInt64.max,
                                    UInt64(n), UInt64(n) &+ 1, UInt64(n) &- 8]
            var v = rng.pick(values)!
            for i in 0..<width { b[at + i] = UInt8(truncatingIfNeeded: v); v >>= 8 }
        case 7 where n > 1:
            // Splice: copy one run over another.
            let from = rng.below(n), to = rng.below(n), len = min(n - max(from, to), rng.count(max: 128))
            for i in 0..<len { b[to + i] = b[from + i] }
        default:
            guard n < maxLength else { return }
            b.append(contentsOf: (0..<rng.count(max: 32)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
    }
}
