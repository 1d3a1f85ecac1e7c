import Foundation

/// A Hugging Face tokenizer (tokenizer.json) or Qwen-1 tiktoken tokenizer, producing the same ids
/// and decodes as the `tokenizers` library. Safe to use from several threads at once: the only
/// mutable state is the word cache, which is behind a lock.
public final class Tokenizer: @unchecked Sendable {
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: BPEModel
    let decoder: Decoder?
    let postProcessor: PostProcessor?
    let added: AddedVocabulary
    /// Set when the pre-tokenizer is a known byte-level split: scan bytes directly, cache by raw piece.
    private let fastByteLevel: (scanner: SplitScanner, addPrefixSpace: Bool)?
    private let pieceCache = WordCache()
    private let specialContents: Set<String>

    /// The tokenizer_config.json read alongside, if any.
    public let config: TokenizerConfig?
    /// Number of distinct ids: model vocabulary plus added tokens.
    public let vocabularySize: Int
    /// Id of the configured BOS token, if any.
    public let bosTokenId: Int?
    /// Id of the configured EOS token, if any.
    public let eosTokenId: Int?
    /// Ids of all special added tokens (skipped by `decode(_:skipSpecialTokens: true)`).
    public let specialTokenIds: Set<Int>

    init(normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: BPEModel, decoder: Decoder?,
         postProcessor: PostProcessor?, addedTokens: [AddedToken], config: TokenizerConfig?,
         vocabularySize: Int? = nil, defaultEOS: String? = nil) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.decoder = decoder
        self.postProcessor = postProcessor
        self.added = AddedVocabulary(tokens: addedTokens, normalizer: normalizer)
        self.config = config
        self.specialContents = Set(addedTokens.filter { $0.special }.map { $0.content })
        self.specialTokenIds = Set(addedTokens.filter { $0.special }.map { $0.id })
        var extra = 0
        for t in addedTokens where model.vocab[t.content] == nil { extra += 1 }
        self.vocabularySize = vocabularySize ?? (model.vocab.count + extra)
        switch preTokenizer {
        case .byteLevel(let prefix, true)?:
            fastByteLevel = (.gpt2, prefix)
        case .sequence(let list)? where list.count == 2:
            if case .split(let pattern, .isolated, false) = list[0], case .scanner(let s) = pattern.kind,
               case .byteLevel(false, false) = list[1] {
                fastByteLevel = (s, false)
            } else {
                fastByteLevel = nil
            }
        default:
            fastByteLevel = nil
        }
        let lookup: (String?) -> Int? = { name in
            guard let name else { return nil }
            return addedTokens.first { $0.content == name }?.id ?? model.vocab[name]
        }
        self.bosTokenId = lookup(config?.bosToken)
        self.eosTokenId = lookup(config?.eosToken ?? defaultEOS)
    }

    /// Reads a tokenizer.json document. `file` names it in error messages.
    public convenience init(tokenizerJSON: Data, config: TokenizerConfig? = nil) throws {
        try self.init(tokenizerJSON: tokenizerJSON, config: config, file: "tokenizer.json")
    }

    convenience init(tokenizerJSON: Data, config: TokenizerConfig?, file: String) throws {
        let json = try JSONObject.parse(tokenizerJSON, file: file)
        let modelJSON = try json.requiredObject("model")
        let model = try BPEModel(json: modelJSON)
        let normalizer = try json.object("normalizer").map(Normalizer.init(json:))
        let pre = try json.object("pre_tokenizer").map(PreTokenizer.init(json:))
        try TextGrowth.check(normalizer: normalizer, preTokenizer: pre, file: file)
        let decoder = try json.object("decoder").map(Decoder.init(json:))
        let post = try json.object("post_processor").map(PostProcessor.init(json:))
        // Like tokenizers, the `id` written in the file is not trusted: a token in the model
        // vocabulary keeps its model id, others are numbered after the vocabulary, in order.
        var added: [AddedToken] = []
        var maxAdded: Int?
        for entry in try json.objects("added_tokens") ?? [] {
            var token = try AddedToken(json: entry, id: try entry.int("id") ?? 0)
            if let existing = added.first(where: { $0.content == token.content }) {
                token.id = existing.id
            } else if let id = model.vocab[token.content] {
                token.id = id
            } else if let m = maxAdded, m >= model.vocab.count {
                token.id = m + 1
            } else {
                token.id = model.vocab.count
            }
            maxAdded = max(maxAdded ?? token.id, token.id)
            added.append(token)
        }
        self.init(normalizer: normalizer, preTokenizer: pre, model: model, decoder: decoder, postProcessor: post,
                  addedTokens: added, config: config)
    }

    /// Loads `tokenizer.json` (or, failing that, Qwen-1's `qwen.tiktoken`) and `tokenizer_config.json` from a folder.
    public static func load(directory: URL) throws -> Tokenizer {
        let config = try TokenizerConfig.load(directory: directory)
        let jsonURL = directory.appendingPathComponent("tokenizer.json")
        let tiktokenURL = directory.appendingPathComponent("qwen.tiktoken")
        let fm = FileManager.default
        if fm.fileExists(atPath: jsonURL.path) {
            let data = try readFile(jsonURL)
            return try Tokenizer(tokenizerJSON: data, config: config, file: jsonURL.path)
        }
        if fm.fileExists(atPath: tiktokenURL.path) {
            return try QwenTiktoken.makeTokenizer(data: try readFile(tiktokenURL), file: tiktokenURL.path, config: config)
        }
        throw TokenizerError.missingTokenizerFiles(directory: directory.path)
    }

    static func readFile(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    /// Token ids of `text`. Added/special tokens written in the text are recognised;
    /// `addSpecialTokens` applies the post-processor (e.g. a BOS token).
    public func encode(_ text: String, addSpecialTokens: Bool = false) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        let segments: [Segment]
        if added.isEmpty {
            let norm = normalizer?.normalize(text) ?? text
            segments = norm.isEmpty ? [] : [.text(Piece(text: norm, atStart: true))]
        } else {
            segments = added.split(text, normalizer: normalizer)
        }
        for seg in segments {
            switch seg {
            case .token(let id): ids.append(id)
            case .text(let piece): encodePiece(piece, into: &ids)
            }
        }
        if addSpecialTokens, let post = postProcessor { return post.process(ids) }
        return ids
    }

    private func encodePiece(_ piece: Piece, into ids: inout [Int]) {
        if let (scanner, addPrefixSpace) = fastByteLevel {
            var text = piece.text
            if addPrefixSpace && !text.hasPrefix(" ") { text = " " + text }
            text.withUTF8 { buf in
                for r in scanner.matches(buf) {
                    let raw = UnsafeBufferPointer(rebasing: buf[r])
                    let key = String(decoding: raw, as: UTF8.self)
                    if let hit = pieceCache.get(key) {
                        ids.append(contentsOf: hit)
                        continue
                    }
                    let toks = model.tokenize(ByteLevel.encode(bytes: raw), cache: false)
                    if r.count < 256 { pieceCache.set(key, toks) }
                    ids.append(contentsOf: toks)
                }
            }
            return
        }
        guard let pre = preTokenizer else {
            ids.append(contentsOf: model.tokenize(piece.text))
            return
        }
        for p in pre.run([piece]) { ids.append(contentsOf: model.tokenize(p.text)) }
    }

    /// Text of `ids`, through the decoder. Unknown ids are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let t = added.decodeForm[id] ?? model.idToToken[id] else { continue }
            if skipSpecialTokens && specialContents.contains(t) { continue }
            tokens.append(t)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens)
    }

    /// Id of a token string (added tokens first, then the model vocabulary; byte-level spelling for byte-level models).
    public func id(forToken token: String) -> Int? {
        added.byContent[token] ?? model.vocab[token]
    }

    /// Token string of an id (added tokens first, then the model vocabulary).
    public func token(forId id: Int) -> String? {
        added.byId[id]?.content ?? model.idToToken[id]
    }

    /// A decoder for streaming generation: feed ids one at a time, get text when it is complete UTF-8.
    public func makeStreamDecoder(skipSpecialTokens: Bool = false) -> StreamDecoder {
        StreamDecoder(tokenizer: self, skipSpecialTokens: skipSpecialTokens)
    }
}
