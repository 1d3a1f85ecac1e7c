import Foundation

/// Qwen-1 (Qwen-1.8B/7B-Chat) tokenizer from `qwen.tiktoken`, as `tokenization_qwen.py` builds it:
/// NFC, its split pattern (the Qwen2 one), tiktoken BPE over the ranks, and the special tokens
/// `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`, `<|extra_0|>`...`<|extra_204|>` numbered right after the ranks.
enum QwenTiktoken {
    static let specialNames = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + (0..<205).map { "<|extra_\($0)|>" }

    static func makeTokenizer(data: Data, file: String, config: TokenizerConfig?) throws -> Tokenizer {
        var vocab: [String: Int] = [:]
        var lineNumber = 0
        var maxRank = -1
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine[...]
            if line.isEmpty { continue }
            let parts = line.split(separator: UInt8(ascii: " "))
            guard parts.count == 2 else {
                throw TokenizerError.invalidTiktokenLine(file: file, line: lineNumber, reason: "expected 'BASE64 RANK'")
            }
            guard let bytes = Data(base64Encoded: Data(parts[0])) else {
                throw TokenizerError.invalidTiktokenLine(file: file, line: lineNumber, reason: "bad base64")
            }
            guard let rank = Int(String(decoding: parts[1], as: UTF8.self)), rank >= 0 else {
                throw TokenizerError.invalidTiktokenLine(file: file, line: lineNumber, reason: "bad rank")
            }
            vocab[ByteLevel.encode(bytes: bytes)] = rank
            maxRank = max(maxRank, rank)
        }
        guard !vocab.isEmpty else {
            throw TokenizerError.invalidTiktokenLine(file: file, line: lineNumber, reason: "no ranks in file")
        }
        // tokenization_qwen.py: SPECIAL_START_ID = number of ranks (151643 for the real file).
        let start = vocab.count
        let specials = specialNames.enumerated().map { AddedToken(id: start + $0.offset, content: $0.element, special: true) }
        let model = BPEModel(vocab: vocab, merges: [:], mode: .tiktoken, ignoreMerges: true)
        let pre = PreTokenizer.sequence([
            .split(RegexPattern(scanner: .llama(maxDigits: 1), source: SplitScanner.qwen2Pattern), .isolated, invert: false),
            .byteLevel(addPrefixSpace: false, useRegex: false),
        ])
        return Tokenizer(normalizer: .nfc, preTokenizer: pre, model: model, decoder: .byteLevel, postProcessor: nil,
                         addedTokens: specials, config: config,
                         vocabularySize: max(maxRank + 1, start) + specials.count, defaultEOS: "<|endoftext|>")
    }
}
