/// A parsed regular expression. Literals are one-element sets; case-insensitive parts are already folded.
indirect enum RegexNode {
    case empty
    /// One code point from the set.
    case set(ScalarSet)
    case concat([RegexNode])
    /// Alternatives in priority order (the first that lets the whole pattern match wins).
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?, lazy: Bool)
    case assertion(RegexAssertion)
    case look(RegexNode, ahead: Bool, negated: Bool)
}

/// Zero-width tests of a position (Oniguruma's Ruby syntax: `^` and `$` are line anchors).
enum RegexAssertion {
    case lineStart, lineEnd, textStart, textEnd, textEndOrFinalNewline, wordBoundary, notWordBoundary
}

/// Why a pattern does not compile; `offset` counts code points into the pattern.
struct RegexSyntaxError: Error {
    let message: String
    let offset: Int
}

/// Parses the regex syntax of tokenizer.json patterns: Oniguruma's Ruby syntax, which the `tokenizers` library
/// compiles them with. Everything a linear-time engine can run is accepted (classes with ranges, nesting and `&&`,
/// `\p{…}` properties, POSIX brackets, greedy and lazy quantifiers, anchors, lookahead and lookbehind, `(?imx)`);
/// backreferences, atomic groups, possessive quantifiers and `\K` / `\G` are refused with a clear error.
struct RegexParser {
    let p: [Unicode.Scalar]
    var i = 0
    var caseless = false
    var extended = false
    /// Ruby's `m` flag: `.` also matches a newline.
    var dotAll = false
    var depth = 0
    /// Capturing groups opened so far: `\N` beyond them is an octal escape, not a backreference.
    var captures = 0
    /// Groups and classes nested deeper than this are refused (real patterns nest two or three levels).
    static let maxDepth = 100
    /// Oniguruma's largest repeat count.
    static let maxRepeat = 100_000
    /// What `.` matches outside `(?m)`.
    static let notNewline = ScalarSet(0x0A).inverted

    static func parse(_ pattern: String) throws -> RegexNode {
        var parser = RegexParser(p: Array(pattern.unicodeScalars))
        let node = try parser.parseAlternation()
        if parser.i < parser.p.count { throw parser.fail("unmatched close parenthesis") }
        return node
    }

    private init(p: [Unicode.Scalar]) { self.p = p }

    var peek: Unicode.Scalar? { i < p.count ? p[i] : nil }
    func peek(_ k: Int) -> Unicode.Scalar? { i + k < p.count ? p[i + k] : nil }
    func fail(_ message: String) -> RegexSyntaxError { RegexSyntaxError(message: message, offset: i) }

    mutating func enter() throws {
        depth += 1
        if depth > Self.maxDepth { throw fail("pattern nested more than \(Self.maxDepth) levels deep") }
    }

    func literal(_ v: UInt32) -> ScalarSet { caseless ? CaseFolding.close(ScalarSet(v)) : ScalarSet(v) }

    private mutating func parseAlternation() throws -> RegexNode {
        var branches = [try parseConcat()]
        while peek == "|" {
            i += 1
            branches.append(try parseConcat())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseConcat() throws -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek, c != "|", c != ")" {
            if extended && skipSpaceAndComment() { continue }
            guard let atom = try parseAtom() else { continue }
            items.append(try parseQuantifiers(atom))
        }
        return items.count == 1 ? items[0] : (items.isEmpty ? .empty : .concat(items))
    }

    /// In `(?x)` mode whitespace and `# …` comments outside classes mean nothing.
    private mutating func skipSpaceAndComment() -> Bool {
        guard let c = peek else { return false }
        if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" { i += 1; return true }
        if c == "#" {
            while let d = peek, d != "\n" { i += 1 }
            return true
        }
        return false
    }

    /// `{n}`, `{n,}`, `{,m}` or `{n,m}` at the cursor (consumed), or nil (then `{` is a literal).
    mutating func interval() throws -> (Int, Int?)? {
        guard peek == "{" else { return nil }
        var k = i + 1
        func number() -> Int? {
            var digits = ""
            while k < p.count, ("0"..."9").contains(p[k]) { digits.unicodeScalars.append(p[k]); k += 1 }
            return digits.isEmpty ? nil : Int(digits.prefix(18))
        }
        let low = number()
        var high: Int?
        var comma = false
        if k < p.count, p[k] == "," { comma = true; k += 1; high = number() }
        guard k < p.count, p[k] == "}", low != nil || high != nil else { return nil }
        i = k + 1
        var lo = low ?? 0, hi = comma ? high : low
        if let h = hi, h < lo { (lo, hi) = (h, lo) }  // Oniguruma reads {2,1} as {1,2}
        if lo > Self.maxRepeat || (hi ?? 0) > Self.maxRepeat { throw fail("too big number for repeat range") }
        return (lo, hi)
    }

    private mutating func parseQuantifiers(_ atom: RegexNode) throws -> RegexNode {
        var node = atom
        var stacked = 0
        while true {
            var bounds: (Int, Int?)
            var simple = true
            switch peek {
            case "*": i += 1; bounds = (0, nil)
            case "+": i += 1; bounds = (1, nil)
            case "?": i += 1; bounds = (0, 1)
            case "{":
                guard let b = try interval() else { return node }
                bounds = b
                simple = false
            default: return node
            }
            var lazy = false
            if peek == "?" { i += 1; lazy = true }
            else if simple && peek == "+" { throw fail("possessive quantifiers are not supported") }
            stacked += 1
            if stacked > Self.maxDepth { throw fail("more than \(Self.maxDepth) quantifiers in a row") }
            node = .repetition(node, min: bounds.0, max: bounds.1, lazy: lazy)
        }
    }

    private mutating func parseAtom() throws -> RegexNode? {
        guard let c = peek else { return nil }
        switch c {
        case "(": return try parseGroup()
        case "[": return .set(try parseClass())
        case ".":
            i += 1
            return .set(dotAll ? .all : Self.notNewline)
        case "^": i += 1; return .assertion(.lineStart)
        case "$": i += 1; return .assertion(.lineEnd)
        case "\\": return try parseEscape()
        case "*", "+", "?": throw fail("target of repeat operator is not specified")
        case "{":
            if try interval() != nil { throw fail("target of repeat operator is not specified") }
            i += 1
            return .set(literal(c.value))
        default:
            i += 1
            return .set(literal(c.value))
        }
    }

    private mutating func parseGroup() throws -> RegexNode? {
        i += 1  // (
        try enter()
        defer { depth -= 1 }
        let saved = (caseless, extended, dotAll)
        defer { (caseless, extended, dotAll) = saved }
        var look: (ahead: Bool, negated: Bool)?
        if peek == "?" {
            i += 1
            switch peek {
            case ":": i += 1
            case "=": i += 1; look = (true, false)
            case "!": i += 1; look = (true, true)
            case "<" where peek(1) == "=": i += 2; look = (false, false)
            case "<" where peek(1) == "!": i += 2; look = (false, true)
            case "<", "'":
                captures += 1
                let close: Unicode.Scalar = peek == "<" ? ">" : "'"
                while let d = peek, d != close { i += 1 }
                guard peek == close else { throw fail("invalid group name") }
                i += 1
            case "#":
                while let d = peek, d != ")" { i += 1 }
                guard peek == ")" else { throw fail("end pattern in group") }
                i += 1
                return nil
            case ">": throw fail("atomic groups are not supported")
            case "~": throw fail("absent operators are not supported")
            default:
                // Flags: (?imx-imx) for the rest of the group, or (?imx-imx: …) for its own.
                var on = true
                while let f = peek, f == "i" || f == "m" || f == "x" || f == "-" {
                    switch f {
                    case "-": on = false
                    case "i": caseless = on
                    case "x": extended = on
                    default: dotAll = on  // Ruby's `m`
                    }
                    i += 1
                }
                if peek == ")" {
                    // The flags hold until the enclosing group ends (alternatives included): parse that rest here.
                    i += 1
                    return try parseAlternation()
                }
                guard peek == ":" else { throw fail("undefined group option") }
                i += 1
            }
        } else {
            captures += 1
        }
        let inner = try parseAlternation()
        guard peek == ")" else { throw fail("end pattern with unmatched parenthesis") }
        i += 1
        if let look { return .look(inner, ahead: look.ahead, negated: look.negated) }
        return inner
    }
}
