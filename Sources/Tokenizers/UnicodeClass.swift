import Foundation

/// Character classes the split patterns need (`\p{L}`, `\p{N}`, `\s`), looked up from a table
/// for the Basic Multilingual Plane so the pre-tokenizer scan never asks ICU per character.
enum UnicodeClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4
    /// Regex `\w` as the Rust `regex` crate defines it (alphabetic, marks, decimal digits, connector punctuation).
    static let word: UInt8 = 8
    /// Unicode punctuation (general category P*) or ASCII punctuation.
    static let punctuation: UInt8 = 16

    /// Class bits for U+0000...U+FFFF, built once on first use (static lets are lazy and thread-safe).
    static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for v in 0..<0x10000 {
            if let s = Unicode.Scalar(UInt32(v)) { table[v] = compute(s) }
        }
        return table
    }()

    static func compute(_ s: Unicode.Scalar) -> UInt8 {
        let p = s.properties
        var bits: UInt8 = 0
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            bits |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            bits |= number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            bits |= punctuation
        default:
            break
        }
        if s.isASCII && (0x21...0x2F ~= s.value || 0x3A...0x40 ~= s.value || 0x5B...0x60 ~= s.value || 0x7B...0x7E ~= s.value) {
            bits |= punctuation
        }
        if p.isWhitespace { bits |= space }
        if p.isAlphabetic || p.generalCategory == .decimalNumber || p.generalCategory == .connectorPunctuation
            || p.generalCategory == .nonspacingMark || p.generalCategory == .spacingMark
            || p.generalCategory == .enclosingMark || p.isJoinControl {
            bits |= word
        }
        return bits
    }

    @inline(__always)
    static func of(_ v: UInt32) -> UInt8 {
        if v < 0x10000 { return bmp[Int(v)] }
        guard let s = Unicode.Scalar(v) else { return 0 }
        return compute(s)
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool { of(s.value) & space != 0 }
}

/// Decodes the scalar starting at byte `i` of valid UTF-8 (Swift strings always are).
@inline(__always)
func decodeUTF8(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (value: UInt32, length: Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2) }
    if b0 < 0xF0 {
        return ((b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F), 3)
    }
    return ((b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6
            | UInt32(p[i + 3] & 0x3F), 4)
}
