import Foundation

/// An upper bound on how much a normalizer or pre-tokenizer can lengthen text: `bytes out ≤ factor · bytes in
/// + extra`. A `tokenizer.json` from a download can chain a thousand `ByteLevel` stages (each doubles the bytes
/// above 0x7F) or `Replace` rules, which would grow a short prompt beyond any memory; the bound lets loading
/// refuse such a file with a clear error instead of encoding for ever.
struct TextGrowth {
    var factor: Double
    var extra: Double

    static let none = TextGrowth(factor: 1, extra: 0)

    /// Text through `self`, then through `next`.
    func then(_ next: TextGrowth) -> TextGrowth {
        TextGrowth(factor: next.factor * factor, extra: next.factor * extra + next.extra)
    }

    /// Bounds a real tokenizer stays far below (NFKC then Metaspace, among the largest in use, is 11 · 3).
    static let maxFactor: Double = 4096
    static let maxExtra: Double = 1_048_576

    /// Throws when the normalizer and pre-tokenizer together could grow text beyond the bounds above.
    static func check(normalizer: Normalizer?, preTokenizer: PreTokenizer?, file: String) throws {
        let total = (normalizer?.growth ?? .none).then(preTokenizer?.growth ?? .none)
        guard total.factor <= maxFactor, total.extra <= maxExtra else {
            throw TokenizerError.invalidValue(
                file: file, key: "normalizer/pre_tokenizer",
                reason: "the stages could lengthen a text up to \(Self.describe(total.factor)) times "
                    + "(at most \(Int(maxFactor)) allowed; e.g. many ByteLevel, Metaspace or Replace stages in a Sequence)")
        }
    }

    private static func describe(_ x: Double) -> String {
        x < 1e15 ? String(Int(x)) : String(format: "%.1e", x)
    }
}

extension Normalizer {
    /// Per stage, bytes of UTF-8 out per byte in, worst case: a canonical decomposition of a 2-byte letter
    /// with its marks stays under 3 bytes per byte; a compatibility one (U+FDFA, 3 bytes → 18 scalars, 33 bytes)
    /// under 11; full lowercase (İ, 2 bytes → 3) under 2; `Replace` can insert its content at every position.
    var growth: TextGrowth {
        switch self {
        case .sequence(let list): return list.reduce(TextGrowth.none) { $0.then($1.growth) }
        case .nfc, .nfd: return TextGrowth(factor: 3, extra: 0)
        case .nfkc, .nfkd: return TextGrowth(factor: 11, extra: 0)
        case .lowercase: return TextGrowth(factor: 2, extra: 0)
        case .strip: return .none
        case .prepend(let p): return TextGrowth(factor: 1, extra: Double(p.utf8.count))
        case .replace(_, let content):
            let c = Double(content.utf8.count)
            return TextGrowth(factor: 1 + c, extra: c)
        }
    }
}

extension PreTokenizer {
    /// `ByteLevel` maps each byte to a scalar of at most 2 bytes (after an optional leading space);
    /// `Metaspace` replaces each space (1 byte) with its replacement and may prepend one; splits add nothing.
    var growth: TextGrowth {
        switch self {
        case .sequence(let list): return list.reduce(TextGrowth.none) { $0.then($1.growth) }
        case .byteLevel: return TextGrowth(factor: 2, extra: 2)
        case .metaspace(let replacement, _, _):
            let r = Double(replacement.utf8.count)
            return TextGrowth(factor: max(1, r), extra: r)
        case .split, .digits, .punctuation, .whitespace, .whitespaceSplit, .bert: return .none
        }
    }
}
