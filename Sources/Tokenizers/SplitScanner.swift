import Foundation

/// Hand-written matchers for the split regexes real byte-level models ship, recognised by their
/// exact pattern string. They return the same matches as the regex (`find_iter`) would, without
/// running a regex engine per character.
enum SplitScanner {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Llama-3 (`maxDigits` 3) and Qwen2 / Qwen-1 (`maxDigits` 1):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama(maxDigits: Int)

    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The scanner for `pattern`, or nil when it is not one of the known patterns.
    init?(pattern: String) {
        switch pattern {
        case Self.gpt2Pattern: self = .gpt2
        case Self.llama3Pattern: self = .llama(maxDigits: 3)
        case Self.qwen2Pattern: self = .llama(maxDigits: 1)
        default: return nil
        }
    }

    /// Byte ranges of the matches in `text`'s UTF-8, in order. The patterns cover every character,
    /// so the ranges tile the text.
    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(bytes.count / 4 + 1)
        var i = 0
        let n = bytes.count
        while i < n {
            let end: Int
            switch self {
            case .gpt2: end = Self.gpt2Match(bytes, i, n)
            case .llama(let maxDigits): end = Self.llamaMatch(bytes, i, n, maxDigits)
            }
            out.append(i..<end)
            i = end
        }
        return out
    }

    @inline(__always)
    static func cls(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt8, Int) {
        let (v, len) = decodeUTF8(p, i)
        return (UnicodeClass.of(v), len)
    }

    /// End of the run of characters starting at `i` whose class satisfies `pred`.
    @inline(__always)
    static func run(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int, _ pred: (UInt8) -> Bool) -> Int {
        var j = i
        while j < n {
            let (c, len) = cls(p, j)
            if !pred(c) { break }
            j += len
        }
        return j
    }

    /// Length of a contraction (`'s`, `'ll`, ...) at `i`, or 0. `ignoreCase` follows `(?i:...)`,
    /// whose simple case folding also lets U+017F (long s) match `s`.
    @inline(__always)
    static func contraction(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int, ignoreCase: Bool) -> Int {
        guard p[i] == 0x27, i + 1 < n else { return 0 }
        func lower(_ b: UInt8) -> UInt8 { ignoreCase && b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
        let a = lower(p[i + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        if ignoreCase && a == 0xC5 && i + 2 < n && p[i + 2] == 0xBF { return 3 }  // ſ
        if i + 2 < n {
            let b = lower(p[i + 2])
            if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        }
        return 0
    }

    /// `\s+(?!\S)|\s+` at a whitespace character: the run, less its last character when a
    /// non-space follows and the run is longer than one character.
    @inline(__always)
    static func whitespaceRun(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        var j = i
        var lastStart = i
        while j < n {
            let (c, len) = cls(p, j)
            if c & UnicodeClass.space == 0 { break }
            lastStart = j
            j += len
        }
        if j == n || lastStart == i { return j }
        return lastStart
    }

    static func gpt2Match(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        let c = contraction(p, i, n, ignoreCase: false)
        if c > 0 { return i + c }
        var j = i
        if p[i] == 0x20 && i + 1 < n { j = i + 1 }
        let (k, _) = cls(p, j)
        if j < n && (j > i || p[i] != 0x20) {
            if k & UnicodeClass.letter != 0 { return run(p, j, n) { $0 & UnicodeClass.letter != 0 } }
            if k & UnicodeClass.number != 0 { return run(p, j, n) { $0 & UnicodeClass.number != 0 } }
            if k & (UnicodeClass.space | UnicodeClass.letter | UnicodeClass.number) == 0 {
                return run(p, j, n) { $0 & (UnicodeClass.space | UnicodeClass.letter | UnicodeClass.number) == 0 }
            }
        }
        return whitespaceRun(p, i, n)
    }

    static func llamaMatch(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int, _ maxDigits: Int) -> Int {
        let c = contraction(p, i, n, ignoreCase: true)
        if c > 0 { return i + c }
        let (k0, len0) = cls(p, i)
        let lnMask = UnicodeClass.letter | UnicodeClass.number
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if k0 & UnicodeClass.letter != 0 { return run(p, i, n) { $0 & UnicodeClass.letter != 0 } }
        if k0 & lnMask == 0 && p[i] != 0x0D && p[i] != 0x0A && i + len0 < n {
            let (k1, _) = cls(p, i + len0)
            if k1 & UnicodeClass.letter != 0 { return run(p, i + len0, n) { $0 & UnicodeClass.letter != 0 } }
        }
        // \p{N}{1,maxDigits}
        if k0 & UnicodeClass.number != 0 {
            var j = i, count = 0
            while j < n && count < maxDigits {
                let (k, len) = cls(p, j)
                if k & UnicodeClass.number == 0 { break }
                j += len
                count += 1
            }
            return j
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let otherMask = UnicodeClass.space | lnMask
        var j = i
        if p[i] == 0x20 && i + 1 < n { j = i + 1 }
        if j < n {
            let (k, _) = cls(p, j)
            if k & otherMask == 0 {
                var e = run(p, j, n) { $0 & otherMask == 0 }
                while e < n && (p[e] == 0x0D || p[e] == 0x0A) { e += 1 }
                return e
            }
        }
        // Whitespace at i: `\s*[\r\n]+` ends after the last CR/LF of the run; else `\s+(?!\S)|\s+`.
        var e = i
        var afterNewline = -1
        while e < n {
            let (k, len) = cls(p, e)
            if k & UnicodeClass.space == 0 { break }
            if p[e] == 0x0D || p[e] == 0x0A { afterNewline = e + 1 }
            e += len
        }
        if afterNewline > 0 { return afterNewline }
        return whitespaceRun(p, i, n)
    }
}
