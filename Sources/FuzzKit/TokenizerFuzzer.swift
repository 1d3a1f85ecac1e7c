import Foundation
import Tokenizers

/// `tokenizer.json` (normalizers, pre-tokenizers with hostile `Split` regexes, models, decoders,
/// post-processors, added tokens), `tokenizer_config.json` and Qwen-1's `qwen.tiktoken`, mutated;
/// the tokenizer is loaded from its folder and encodes and decodes sample texts and ids.
enum TokenizerFuzzer: FuzzTarget {
    static func make(_ c: inout FuzzCase, rng: inout FuzzRandom, seeds: FuzzSeeds) {
        guard let seed = rng.pick(seeds.tokenizers) else { return }
        for (name, data) in seed.files { c.files[name] = .bytes(data) }
        if let json = seed.files["tokenizer.json"], rng.chance(0.9) {
            c.files["tokenizer.json"] = .bytes(mutateTokenizerJSON(json, rng: &rng))
        } else if let tiktoken = seed.files["qwen.tiktoken"] {
            c.files["qwen.tiktoken"] = .bytes(ByteMutator.mutate(tiktoken, count: rng.count(max: 4), rng: &rng))
        }
        if let config = seed.files["tokenizer_config.json"], rng.chance(0.15) {
            let tree = FuzzJSON.parse(config) ?? .object([])
            c.files["tokenizer_config.json"] = .bytes(JSONMutator(vocabulary: configVocabulary).mutate(tree, count: rng.count(max: 2), rng: &rng).data())
        }
        maybeSpecial(&c, rng.pick("tokenizer.json", "tokenizer_config.json"), p: 0.01, rng: &rng)
        let texts = (0..<rng.int(in: 1...4)).map { _ in sampleText(rng: &rng) }
        c.params["texts"] = FuzzJSON.array(texts.map(FuzzJSON.string)).text()
    }

    static func mutateTokenizerJSON(_ data: Data, rng: inout FuzzRandom) -> Data {
        guard var tree = FuzzJSON.parse(data), rng.chance(0.92) else {
            return ByteMutator.mutate(data, count: rng.count(max: 4), rng: &rng)
        }
        let mutator = JSONMutator(vocabulary: vocabulary)
        for _ in 0..<rng.count(max: 3) {
            let part = rng.pick("normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens", "model", "", "")
            if part.isEmpty {
                tree = mutator.mutate(tree, count: 1, rng: &rng)
            } else if rng.chance(0.3), let whole = vocabulary[part].flatMap({ rng.pick($0) }) {
                tree = tree.replacingMember(part) { _ in whole }
            } else {
                tree = tree.replacingMember(part) { node in mutator.mutate(node ?? .null, count: 1, rng: &rng) }
            }
        }
        return tree.data(pretty: rng.chance(0.3))
    }

    static func run(_ c: FuzzCase, folder: URL) throws {
        let tokenizer = try Tokenizer.load(directory: folder)
        let texts = (try? JSONSerialization.jsonObject(with: Data((c.params["texts"] ?? "[]").utf8))) as? [String] ?? []
        for (i, text) in texts.enumerated() {
            let ids = tokenizer.encode(text, addSpecialTokens: i % 2 == 1)
            _ = tokenizer.decode(ids)
            _ = tokenizer.decode(ids, skipSpecialTokens: true)
            let stream = tokenizer.makeStreamDecoder()
            for id in ids.prefix(64) { _ = stream.feed(id) }
        }
        let v = tokenizer.vocabularySize
        _ = tokenizer.decode([0, 1, v - 1, v, v + 7, -1, Int.max, Int.min])
        _ = tokenizer.token(forId: v)
        _ = tokenizer.id(forToken: "")
    }

    /// A text to encode: fixture-like prose, special-token strings, odd Unicode, or long runs.
    static func sampleText(rng: inout FuzzRandom) -> String {
        switch rng.below(6) {
        case 0: return rng.pick(samples)!
        case 1: return String(repeating: rng.pick("a", " ", "ab", "1", "é", "\n", "💥", "aa!"), count: rng.pick(10, 26, 30, 100, 5000))
        case 2: return rng.pick(samples)! + "<|im_start|><s></s><|endoftext|>[UNK]<unk>" + rng.pick(samples)!
        default:
            let palette: [Unicode.Scalar] = ["a", "Z", " ", "\n", "\r", "\t", "'", "1", "!", "é", "ß", "ı", "İ", "中", "😀", "\u{301}",
                                             "\u{200D}", "\u{FEFF}", "\u{0}", "▁", "Ġ", "\u{10FFFF}", "\u{D7FF}", "ﬁ", "Ⅻ", "٣"]
            var s = String.UnicodeScalarView()
            for _ in 0..<rng.count(max: 400) { s.append(rng.pick(palette)!) }
            return String(s)
        }
    }

    static let samples = ["Hello, world!", "  leading and trailing  ", "It's 2024: don't stop—ever.", "こんにちは世界", "",
                          "a\r\nb\rc\nd", "12345678901234567890", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "I'M SHOUTING'S",
                          "tabs\tand\u{00A0}nbsp", "emoji 👩‍👩‍👧‍👦 family", "<|im_start|>user\nhi<|im_end|>"]

    static let hostileRegexes = ["(a+)+$", "(a|aa)+$", "(", "[", "\\", "\\p{Foo}", "a{1000000}", "(?<=a)b", "[z-a]",
                                 "(?i:'s|'t)|\\p{L}+|\\s+(?!\\S)", "\\d{1,3}(?=(\\d{3})+(?!\\d))", ".*.*.*=.*", "", "(?:)",
                                 "[^\\s\\p{L}\\p{N}]+", "(\\w+\\s?)*$", "\\p{L}*\\p{L}*\\p{L}*x", "a**", "(?P<n>a)", "\\1"]

    static func split(_ regex: String) -> FuzzJSON {
        .object([("type", .string("Split")), ("pattern", .object([("Regex", .string(regex))])),
                 ("behavior", .string("Isolated")), ("invert", .bool(false))])
    }

    static let vocabulary: [String: [FuzzJSON]] = [
        "pre_tokenizer": hostileRegexes.map(split) + [
            .null, .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true))]),
            .object([("type", .string("Metaspace")), ("replacement", .string("")), ("prepend_scheme", .string("x"))]),
            .object([("type", .string("Sequence")), ("pretokenizers", .array([split("(a+)+$"), .null]))]),
            .object([("type", .string("Digits")), ("individual_digits", .string("yes"))]), .object([("type", .string("Nope"))]),
        ],
        "normalizer": [
            .null, .object([("type", .string("Replace")), ("pattern", .object([("Regex", .string("(a+)+$"))])), ("content", .string("b"))]),
            .object([("type", .string("Replace")), ("pattern", .object([("String", .string(""))])), ("content", .string("xx"))]),
            .object([("type", .string("Prepend")), ("prepend", .string(String(repeating: "▁", count: 1000)))]),
            .object([("type", .string("Sequence")), ("normalizers", .array([.object([("type", .string("NFKC"))]), .null]))]),
        ],
        "decoder": [.null, .object([("type", .string("Strip")), ("content", .string("")), ("start", .number("-1")), ("stop", .number("9223372036854775807"))]),
                    .object([("type", .string("ByteFallback"))]), .object([("type", .string("Fuse"))]),
                    .object([("type", .string("Replace")), ("pattern", .object([("String", .string(""))])), ("content", .string(" "))])],
        "post_processor": [.null, .object([("type", .string("TemplateProcessing")),
            ("single", .array([.object([("SpecialToken", .object([("id", .string("<nope>")), ("type_id", .number("0"))]))]),
                               .object([("Sequence", .object([("id", .string("A")), ("type_id", .number("0"))]))])])),
            ("special_tokens", .object([("<nope>", .object([("id", .string("<nope>")), ("ids", .array([.number("-1"), .number("99999999")])),
                                                            ("tokens", .array([.string("<nope>")]))]))]))])],
        "type": ["BPE", "WordPiece", "Unigram", "WordLevel", "ByteLevel", "Metaspace", "Split", "Sequence", "Whitespace",
                 "NFC", "NFKD", "Lowercase", "Replace", "Strip", "ByteFallback", "Fuse", "TemplateProcessing", "x"].map(FuzzJSON.string),
        "id": Interesting.integers.prefix(30).map(FuzzJSON.number),
        "content": ["", " ", "<s>", "a", "\u{0}", String(repeating: "x", count: 10_000)].map(FuzzJSON.string),
        "behavior": ["Isolated", "Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous", "x"].map(FuzzJSON.string),
        "byte_fallback": [.bool(true), .bool(false)], "fuse_unk": [.bool(true)], "ignore_merges": [.bool(true)],
        "unk_token": [.null, .string(""), .string("<nope>")],
        "continuing_subword_prefix": [.null, .string(""), .string("##")], "end_of_word_suffix": [.null, .string("")],
        "merges": [.array([]), .array([.string("a b")]), .array([.string("a")]), .array([.array([.string("a"), .string("b")])]), .array([.number("1")])],
        "vocab": [.object([]), .object([("a", .number("-1"))]), .object([("a", .number("9223372036854775807"))]), .array([])],
    ]

    static let configVocabulary: [String: [FuzzJSON]] = [
        "bos_token": [.null, .string(""), .number("1"), .object([("content", .number("1"))])],
        "eos_token": [.null, .string("<nope>")],
        "add_bos_token": [.bool(true), .bool(false), .string("yes")],
        "added_tokens_decoder": [.object([("99999999999", .object([("content", .string("x"))]))]), .object([("-1", .object([]))])],
        "model_max_length": [.number("-1"), .number("1e400")],
        "chat_template": [.null, .number("1"), .array([.object([])])],
    ]
}
