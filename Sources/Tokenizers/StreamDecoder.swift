import Foundation

/// Incremental decoding for streaming generation, following tokenizers' `DecodeStream`:
/// ids are buffered until decoding them yields new text that does not end in an incomplete
/// UTF-8 sequence (U+FFFD); the returned chunk is what the buffer adds beyond the previous
/// prefix, so decoder rules that depend on position (Metaspace's leading space) come out right.
/// One instance per stream; not for concurrent use.
public final class StreamDecoder {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    private var ids: [Int] = []
    private var prefix = ""
    private var prefixIndex = 0

    init(tokenizer: Tokenizer, skipSpecialTokens: Bool) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id; returns the new text, or nil when there is none yet.
    public func feed(_ id: Int) -> String? {
        ids.append(id)
        let string = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        guard string.utf8.count > prefix.utf8.count, !string.hasSuffix("\u{FFFD}") else { return nil }
        // tokenizers raises when the prefix changed; here the text after the common part is emitted instead.
        var common = 0
        if string.utf8.starts(with: prefix.utf8) {
            common = prefix.utf8.count
        } else {
            for (a, b) in zip(string.unicodeScalars, prefix.unicodeScalars) {
                guard a == b else { break }
                common += a.utf8.count
            }
        }
        let newText = String(decoding: string.utf8.dropFirst(common), as: UTF8.self)
        let newPrefixIndex = ids.count - prefixIndex
        ids.removeFirst(prefixIndex)
        prefix = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        prefixIndex = newPrefixIndex
        return newText
    }

    /// Forgets all state, for a new stream.
    public func reset() {
        ids.removeAll()
        prefix = ""
        prefixIndex = 0
    }
}
