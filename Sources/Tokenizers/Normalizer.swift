import Foundation

/// A tokenizer.json `normalizer`: rewrites text before pre-tokenization.
indirect enum Normalizer {
    case sequence([Normalizer])
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)
    case prepend(String)
    case replace(RegexPattern, String)

    init(json: JSONFields) throws {
        let type = try json.type()
        switch type {
        case "Sequence":
            guard let list = try json.objects("normalizers") else {
                throw TokenizerError.missingKey(file: json.file, key: json.keyPath("normalizers"))
            }
            self = .sequence(try list.map(Normalizer.init(json:)))
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "Strip":
            self = .strip(left: try json.bool("strip_left") ?? true, right: try json.bool("strip_right") ?? true)
        case "Prepend":
            self = .prepend(try json.requiredString("prepend"))
        case "Replace":
            self = .replace(try RegexPattern(json: json, key: "pattern"), try json.requiredString("content"))
        default:
            throw TokenizerError.unsupportedType(file: json.file, component: "normalizer", type: type)
        }
    }

    /// True when every scalar is NFC-stable with combining class 0 (NFC_Quick_Check=Yes), so NFC
    /// is the identity: below U+0300, kana, CJK ideographs, Hangul syllables, emoji. Skips ICU for most text.
    static func isSurelyNFC(_ s: String) -> Bool {
        var copy = s
        return copy.withUTF8 { buf in
            if !buf.contains(where: { $0 >= 0xCC }) { return true }
            var i = 0
            while i < buf.count {
                let (v, len) = decodeUTF8(buf, i)
                i += len
                if v < 0x300 || (0x3040...0x3098).contains(v) || (0x309B...0x9FFF).contains(v)
                    || (0xAC00...0xD7A3).contains(v) || (0x1F000...0x1FAFF).contains(v) { continue }
                return false
            }
            return true
        }
    }

    func normalize(_ s: String) -> String {
        switch self {
        case .sequence(let list):
            return list.reduce(s) { $1.normalize($0) }
        case .nfc: return Self.isSurelyNFC(s) ? s : s.precomposedStringWithCanonicalMapping
        case .nfd: return s.decomposedStringWithCanonicalMapping
        case .nfkc: return s.precomposedStringWithCompatibilityMapping
        case .nfkd: return s.decomposedStringWithCompatibilityMapping
        case .lowercase:
            // Per-scalar full lowercase mapping, as Rust's char::to_lowercase (no final-sigma context).
            var out = String.UnicodeScalarView()
            for scalar in s.unicodeScalars {
                if scalar.isASCII {
                    let v = scalar.value
                    out.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(UInt8(v | 0x20)) : scalar)
                } else {
                    out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                }
            }
            return String(out)
        case .strip(let left, let right):
            var scalars = Substring(s).unicodeScalars[...]
            if left { while let f = scalars.first, UnicodeClass.isWhitespace(f) { scalars = scalars.dropFirst() } }
            if right { while let l = scalars.last, UnicodeClass.isWhitespace(l) { scalars = scalars.dropLast() } }
            return String(String.UnicodeScalarView(scalars))
        case .prepend(let p):
            return s.isEmpty ? s : p + s
        case .replace(let pattern, let content):
            return pattern.replace(in: s, with: content)
        }
    }
}
