import Foundation

/// A tokenizer.json `decoder`: turns token strings back into text. Each step maps a list of
/// token strings to a new list (`decode_chain` in tokenizers); the results are concatenated.
indirect enum Decoder {
    case sequence([Decoder])
    case byteLevel
    case metaspace(replacement: Unicode.Scalar, prependScheme: PreTokenizer.PrependScheme)
    case replace(RegexPattern, String)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case bpeSuffix(String)

    init(json: JSONFields) throws {
        let type = try json.type()
        switch type {
        case "Sequence":
            guard let list = try json.objects("decoders") else {
                throw TokenizerError.missingKey(file: json.file, key: json.keyPath("decoders"))
            }
            self = .sequence(try list.map(Decoder.init(json:)))
        case "ByteLevel":
            self = .byteLevel
        case "Metaspace":
            let rep = try json.string("replacement") ?? "▁"
            guard rep.unicodeScalars.count == 1, let scalar = rep.unicodeScalars.first else {
                throw json.invalid("replacement", "expected one character")
            }
            var scheme = PreTokenizer.PrependScheme.always
            if let raw = try json.string("prepend_scheme") {
                guard let s = PreTokenizer.PrependScheme(rawValue: raw) else {
                    throw json.invalid("prepend_scheme", "unknown '\(raw)'")
                }
                scheme = s
            } else if let legacy = try json.bool("add_prefix_space") {
                scheme = legacy ? .always : .never
            }
            self = .metaspace(replacement: scalar, prependScheme: scheme)
        case "Replace":
            self = .replace(try RegexPattern(json: json, key: "pattern"), try json.requiredString("content"))
        case "ByteFallback":
            self = .byteFallback
        case "Fuse":
            self = .fuse
        case "Strip":
            let content = try json.string("content") ?? " "
            guard content.unicodeScalars.count == 1, let scalar = content.unicodeScalars.first else {
                throw json.invalid("content", "expected one character")
            }
            self = .strip(content: scalar, start: try json.int("start") ?? 0, stop: try json.int("stop") ?? 0)
        case "BPEDecoder":
            self = .bpeSuffix(try json.string("suffix") ?? "</w>")
        default:
            throw TokenizerError.unsupportedType(file: json.file, component: "decoder", type: type)
        }
    }

    func decode(_ tokens: [String]) -> String { decodeChain(tokens).joined() }

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .sequence(let list):
            return list.reduce(tokens) { $1.decodeChain($0) }
        case .byteLevel:
            // A token whose characters are not all byte-level contributes its own UTF-8 bytes.
            var bytes: [UInt8] = []
            for t in tokens { bytes.append(contentsOf: ByteLevel.decode(t) ?? Array(t.utf8)) }
            return [String(decoding: bytes, as: UTF8.self)]
        case .metaspace(let rep, let scheme):
            return tokens.enumerated().map { i, token in
                var out = String.UnicodeScalarView()
                for s in token.unicodeScalars {
                    if s == rep {
                        if i == 0 && scheme != .never { continue }
                        out.append(" ")
                    } else {
                        out.append(s)
                    }
                }
                return String(out)
            }
        case .replace(let pattern, let content):
            return tokens.map { pattern.replace(in: $0, with: content) }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    out.append(contentsOf: Array(repeating: "\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for t in tokens {
                if let b = Self.byteToken(t) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                let chars = Array(token.unicodeScalars)
                var lo = 0
                while lo < min(start, chars.count) && chars[lo] == content { lo += 1 }
                var hi = chars.count
                var removed = 0
                while removed < stop && hi > lo && chars[hi - 1] == content { hi -= 1; removed += 1 }
                var view = String.UnicodeScalarView()
                view.append(contentsOf: chars[lo..<hi])
                return String(view)
            }
        case .bpeSuffix(let suffix):
            return tokens.enumerated().map { i, t in
                t.replacingOccurrences(of: suffix, with: i == tokens.count - 1 ? "" : " ")
            }
        }
    }

    /// The byte of a `<0xXX>` token.
    static func byteToken(_ t: String) -> UInt8? {
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }
}
