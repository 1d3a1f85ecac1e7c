import Foundation

/// GPT-2's reversible byte ↔ printable-character mapping used by byte-level BPE.
enum ByteLevel {
    /// Character standing for each byte.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 0
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(256 + extra) ?? " "
                extra += 1
            }
        }
        return table
    }()

    /// The same characters as UTF-8 strings, for building token strings quickly.
    static let byteToString: [String] = byteToScalar.map { String($0) }

    /// Inverse of `byteToScalar`, indexed by scalar value (all values are below 0x144).
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x200)
        for (b, s) in byteToScalar.enumerated() { table[Int(s.value)] = Int16(b) }
        return table
    }()

    /// Maps every UTF-8 byte of `s` to its character.
    static func encode(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for b in s.utf8 { out.append(byteToScalar[Int(b)]) }
        return String(out)
    }

    /// Maps `bytes` to their characters.
    static func encode<C: Collection>(bytes: C) -> String where C.Element == UInt8 {
        var out = String.UnicodeScalarView()
        for b in bytes { out.append(byteToScalar[Int(b)]) }
        return String(out)
    }

    /// The bytes a token stands for, or nil when one of its characters is not in the mapping.
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard s.value < 0x200 else { return nil }
            let b = scalarToByte[Int(s.value)]
            guard b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }
}
