import Basics
import Foundation

/// The BPE model of tokenizer.json (and, in `tiktoken` mode, Qwen-1's rank file).
final class BPEModel: @unchecked Sendable {
    /// How the rank of merging two adjacent symbols is found.
    enum MergeMode {
        /// From the `merges` list: rank = position in the list.
        case mergeList
        /// tiktoken: two parts merge when their concatenation is a token; rank = that token's id.
        case tiktoken
    }

    let vocab: [String: Int]
    let idToToken: [Int: String]
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    let mode: MergeMode
    let unkId: Int?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let continuingSubwordPrefix: String?
    let endOfWordSuffix: String?
    /// Ids of `<0x00>`...`<0xFF>` when byte fallback is on and all exist.
    private let byteIds: [Int]?
    private let cache = WordCache()

    init(vocab: [String: Int], merges: [UInt64: UInt64], mode: MergeMode, unkToken: String? = nil,
         fuseUnk: Bool = false, byteFallback: Bool = false, ignoreMerges: Bool = false,
         continuingSubwordPrefix: String? = nil, endOfWordSuffix: String? = nil) {
        self.vocab = vocab
        var inverse: [Int: String] = [:]
        inverse.reserveCapacity(vocab.count)
        for (t, i) in vocab { inverse[i] = t }
        self.idToToken = inverse
        self.merges = merges
        self.mode = mode
        self.unkId = unkToken.flatMap { vocab[$0] }
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.endOfWordSuffix = endOfWordSuffix
        if byteFallback {
            let ids = (0..<256).compactMap { vocab[String(format: "<0x%02X>", $0)] }
            byteIds = ids.count == 256 ? ids : nil
        } else {
            byteIds = nil
        }
    }

    /// Reads `model` of tokenizer.json (type BPE).
    convenience init(json: JSONFields) throws {
        let type = try json.string("type") ?? "BPE"
        guard type == "BPE" else {
            throw TokenizerError.unsupportedType(file: json.file, component: "model", type: type)
        }
        if let dropout = try json.double("dropout"), dropout > 0 {
            throw json.invalid("dropout", "BPE dropout is not supported (deterministic encoding only)")
        }
        guard let rawVocab = try json.object("vocab")?.members else {
            throw TokenizerError.missingKey(file: json.file, key: json.keyPath("vocab"))
        }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(rawVocab.count)
        for (token, value) in rawVocab {
            guard let id = value.wholeNumber, id >= 0 else {
                throw json.invalid("vocab", "id of '\(token)' is not a non-negative integer")
            }
            vocab[token] = id
        }
        let prefix = try json.string("continuing_subword_prefix")
        let prefixBytes = prefix?.utf8.count ?? 0
        var merges: [UInt64: UInt64] = [:]
        let rawMerges = try json.array("merges") ?? []
        merges.reserveCapacity(rawMerges.count)
        for (rank, entry) in rawMerges.enumerated() {
            let a: String, b: String
            if let s = entry.string {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw json.invalid("merges[\(rank)]", "expected \"a b\", got \"\(s)\"") }
                a = String(parts[0]); b = String(parts[1])
            } else if let pair = entry.array, pair.count == 2, let x = pair[0].string, let y = pair[1].string {
                a = x; b = y
            } else {
                throw json.invalid("merges[\(rank)]", "expected \"a b\" or [\"a\", \"b\"]")
            }
            guard let ia = vocab[a], let ib = vocab[b] else {
                throw json.invalid("merges[\(rank)]", "merge token not in vocab: '\(vocab[a] == nil ? a : b)'")
            }
            let bTail = String(decoding: b.utf8.dropFirst(min(prefixBytes, b.utf8.count)), as: UTF8.self)
            guard let merged = vocab[a + bTail] else {
                throw json.invalid("merges[\(rank)]", "merged token not in vocab: '\(a + bTail)'")
            }
            let key = UInt64(ia) << 32 | UInt64(ib)
            if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(merged) }
        }
        self.init(vocab: vocab, merges: merges, mode: .mergeList, unkToken: try json.string("unk_token"),
                  fuseUnk: try json.bool("fuse_unk") ?? false, byteFallback: try json.bool("byte_fallback") ?? false,
                  ignoreMerges: try json.bool("ignore_merges") ?? false,
                  continuingSubwordPrefix: prefix, endOfWordSuffix: try json.string("end_of_word_suffix"))
    }

    /// Ids for one pre-tokenized word, cached.
    /// `cache: false` when the caller caches under its own key.
    func tokenize(_ word: String, cache useCache: Bool = true) -> [Int] {
        if word.isEmpty { return [] }
        if ignoreMerges, let id = vocab[word] { return [id] }
        if useCache, let hit = cache.get(word) { return hit }
        let ids = mergeWord(word)
        if useCache && word.utf8.count < 256 { cache.set(word, ids) }
        return ids
    }

    /// Initial symbols (characters with prefix/suffix, byte fallback, unknowns), then merges.
    private func mergeWord(_ word: String) -> [Int] {
        var symbols: [Int] = []
        symbols.reserveCapacity(word.utf8.count)
        var pendingUnk = false
        let scalars = word.unicodeScalars
        var index = scalars.startIndex
        var first = true
        while index != scalars.endIndex {
            let scalar = scalars[index]
            index = scalars.index(after: index)
            var s = String(scalar)
            if !first, let p = continuingSubwordPrefix { s = p + s }
            if index == scalars.endIndex, let suffix = endOfWordSuffix { s += suffix }
            first = false
            if let id = vocab[s] {
                if pendingUnk, let unk = unkId { symbols.append(unk); pendingUnk = false }
                symbols.append(id)
                continue
            }
            if let byteIds {
                // tokenizers leaves a pending <unk> pending here (it is emitted later).
                for b in s.utf8 { symbols.append(byteIds[Int(b)]) }
                continue
            }
            if let unk = unkId {
                if pendingUnk && !fuseUnk { symbols.append(unk) }
                pendingUnk = true
            }
        }
        if pendingUnk, let unk = unkId { symbols.append(unk) }
        mergeAll(&symbols)
        return symbols
    }

    @inline(__always)
    private func pairValue(_ a: Int, _ b: Int) -> UInt64 {
        switch mode {
        case .mergeList:
            return merges[UInt64(a) << 32 | UInt64(b)] ?? .max
        case .tiktoken:
            guard let x = idToToken[a], let y = idToToken[b], let id = vocab[x + y] else { return .max }
            return UInt64(id) << 32 | UInt64(id)
        }
    }

    /// Repeatedly merges the lowest-ranked adjacent pair (leftmost on ties), which is what the
    /// priority-queue loop of tokenizers and tiktoken's loop both compute.
    private func mergeAll(_ symbols: inout [Int]) {
        guard symbols.count > 1 else { return }
        var ranks = [UInt64](repeating: .max, count: symbols.count - 1)
        for i in 0..<(symbols.count - 1) { ranks[i] = pairValue(symbols[i], symbols[i + 1]) }
        while true {
            var best = UInt64.max
            var pos = -1
            for i in 0..<ranks.count where ranks[i] < best {
                best = ranks[i]
                pos = i
            }
            if pos < 0 { break }
            symbols[pos] = Int(best & 0xFFFF_FFFF)
            symbols.remove(at: pos + 1)
            ranks.remove(at: pos)
            if pos > 0 { ranks[pos - 1] = pairValue(symbols[pos - 1], symbols[pos]) }
            if pos < ranks.count { ranks[pos] = pairValue(symbols[pos], symbols[pos + 1]) }
        }
    }
}
