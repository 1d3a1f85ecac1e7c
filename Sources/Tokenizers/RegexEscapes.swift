/// Escapes and character classes of the tokenizer.json regex syntax (Oniguruma, Ruby flavour).
extension RegexParser {
    /// What an escape or class member stands for: one code point (which can end a range) or a set.
    enum ClassAtom {
        case scalar(UInt32)
        case set(ScalarSet)
    }

    mutating func parseEscape() throws -> RegexNode {
        i += 1  // backslash
        guard let c = peek else { throw fail("end pattern at escape") }
        switch c {
        case "b": i += 1; return .assertion(.wordBoundary)
        case "B": i += 1; return .assertion(.notWordBoundary)
        case "A": i += 1; return .assertion(.textStart)
        case "z": i += 1; return .assertion(.textEnd)
        case "Z": i += 1; return .assertion(.textEndOrFinalNewline)
        case "R":
            // A line break: \r\n, or one of \n \v \f \r NEL LS PS.
            i += 1
            let crlf = RegexNode.concat([.set(ScalarSet(0x0D)), .set(ScalarSet(0x0A))])
            return .alternation([crlf, .set(ScalarSet(ranges: [0x0A...0x0D, 0x85...0x85, 0x2028...0x2029]))])
        case "Q":
            i += 1
            var items: [RegexNode] = []
            while let d = peek, !(d == "\\" && peek(1) == "E") { items.append(.set(literal(d.value))); i += 1 }
            if peek == "\\" { i += 2 }
            return .concat(items)
        case "G", "K", "X", "g", "k", "y", "Y", "N", "O":
            throw fail("\\\(c) is not supported")
        case "1"..."9":
            // Oniguruma: a backreference when that many groups are open before it, else octal.
            var k = i, digits = ""
            while k < p.count, digits.count < 3, ("0"..."9").contains(p[k]) { digits.unicodeScalars.append(p[k]); k += 1 }
            if let n = Int(digits), n <= captures { throw fail("backreferences are not supported") }
            guard let v = UInt32(digits, radix: 8) else { throw fail("invalid backref number") }
            i = k
            return .set(literal(v))
        default:
            switch try parseClassAtom(inClass: false) {
            case .scalar(let v): return .set(literal(v))
            case .set(let s): return .set(caseless ? CaseFolding.close(s) : s)
            }
        }
    }

    /// An escape (cursor on the letter after the backslash) or a plain character inside or outside a class.
    mutating func parseClassAtom(inClass: Bool) throws -> ClassAtom {
        guard let c = peek else { throw fail("premature end of char-class") }
        i += 1
        switch c {
        case "t": return .scalar(0x09)
        case "n": return .scalar(0x0A)
        case "r": return .scalar(0x0D)
        case "f": return .scalar(0x0C)
        case "v": return .scalar(0x0B)
        case "a": return .scalar(0x07)
        case "e": return .scalar(0x1B)
        case "b" where inClass: return .scalar(0x08)
        case "d", "D": return .set(maybeInverted(UnicodeSets.named("nd") ?? .empty, c == "D"))
        case "w", "W": return .set(maybeInverted(inClass ? UnicodeSets.word : UnicodeSets.wordOutsideClass, c == "W"))
        case "s", "S": return .set(maybeInverted(UnicodeSets.whiteSpace, c == "S"))
        case "h", "H": return .set(maybeInverted(UnicodeSets.named("xdigit") ?? .empty, c == "H"))
        case "p", "P": return .set(try parseProperty(negated: c == "P"))
        case "x":
            if peek == "{" { return .scalar(try codePoint(until: "}", radix: 16)) }
            return .scalar(try digits(radix: 16, max: 2, min: 1))
        case "u": return .scalar(try digits(radix: 16, max: 4, min: 4))
        case "0": return .scalar(try digits(radix: 8, max: 2, min: 0))
        case "c":
            guard let d = peek, d.isASCII else { throw fail("invalid control-code syntax") }
            i += 1
            return .scalar(d.value & 0x1F)
        default:
            if c.properties.isAlphabetic || ("0"..."9").contains(c) { throw fail("unknown escape \\\(c)") }
            return .scalar(c.value)  // escaped punctuation stands for itself
        }
    }

    private func maybeInverted(_ s: ScalarSet, _ invert: Bool) -> ScalarSet { invert ? s.inverted : s }

    /// Up to `max` digits in `radix` (at least `min`).
    private mutating func digits(radix: UInt32, max: Int, min: Int) throws -> UInt32 {
        var value: UInt32 = 0, count = 0
        while count < max, let d = peek, let v = Character(d).hexDigitValue, UInt32(v) < radix {
            value = value * radix + UInt32(v)
            count += 1
            i += 1
        }
        if count < min { throw fail("invalid code point value") }
        return value
    }

    /// `{hex}` after `\x`.
    private mutating func codePoint(until close: Unicode.Scalar, radix: UInt32) throws -> UInt32 {
        i += 1  // {
        let v = try digits(radix: radix, max: 8, min: 1)
        guard peek == close, v <= ScalarSet.maxScalar else { throw fail("invalid code point value") }
        i += 1
        return v
    }

    /// `\p{Name}`, `\p{^Name}`, `\pL` (cursor after the `p`).
    private mutating func parseProperty(negated: Bool) throws -> ScalarSet {
        var name = "", negate = negated
        if peek == "{" {
            i += 1
            if peek == "^" { negate.toggle(); i += 1 }
            while let d = peek, d != "}" { name.unicodeScalars.append(d); i += 1 }
            guard peek == "}" else { throw fail("invalid character property name") }
            i += 1
        } else if let d = peek {
            name = String(d)
            i += 1
        }
        guard let set = UnicodeSets.named(name) else { throw fail("invalid character property name {\(name)}") }
        return negate ? set.inverted : set
    }

    /// `[...]` with ranges, escapes, POSIX brackets `[:alpha:]`, nested classes and `&&` intersections.
    mutating func parseClass() throws -> ScalarSet {
        i += 1  // [
        try enter()
        defer { depth -= 1 }
        var negate = false
        if peek == "^" { negate = true; i += 1 }
        var set = ScalarSet.empty
        var intersected: [ScalarSet] = []
        var first = true
        while true {
            guard let c = peek else { throw fail("premature end of char-class") }
            if c == "]" && !first { i += 1; break }
            first = false
            if c == "&" && peek(1) == "&" {
                i += 2
                intersected.append(set)
                set = .empty
                continue
            }
            if c == "[" {
                if peek(1) == ":", let posix = try posixClass() { set = set.union(posix); continue }
                set = set.union(try parseClass())
                continue
            }
            let atom: ClassAtom
            if c == "\\" { i += 1; atom = try parseClassAtom(inClass: true) } else { i += 1; atom = .scalar(c.value) }
            guard case .scalar(let lo) = atom else {
                if case .set(let s) = atom { set = set.union(s) }
                if peek == "-", let n = peek(1), n != "]" { throw fail("char-class value at end of range") }
                continue
            }
            if peek == "-", let n = peek(1), n != "]" {
                i += 1
                let hiAtom: ClassAtom
                if n == "\\" { i += 1; hiAtom = try parseClassAtom(inClass: true) }
                else if n == "[" { throw fail("char-class value at end of range") }
                else { i += 1; hiAtom = .scalar(n.value) }
                guard case .scalar(let hi) = hiAtom else { throw fail("char-class value at end of range") }
                guard lo <= hi else { throw fail("empty range in char class") }
                set = set.union(ScalarSet(ranges: [lo...hi]))
            } else {
                set = set.union(ScalarSet(lo))
            }
        }
        for other in intersected { set = other.intersection(set) }
        if caseless { set = CaseFolding.close(set) }
        return negate ? set.inverted : set
    }

    /// `[:name:]` or `[:^name:]` at the cursor, or nil (then `[` opens a nested class).
    private mutating func posixClass() throws -> ScalarSet? {
        var k = i + 2, name = ""
        var negate = false
        if k < p.count, p[k] == "^" { negate = true; k += 1 }
        while k < p.count, p[k] != ":", p[k] != "]" { name.unicodeScalars.append(p[k]); k += 1 }
        guard k + 1 < p.count, p[k] == ":", p[k + 1] == "]" else { return nil }
        let posix = ["alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
                     "upper", "xdigit", "word"]
        guard posix.contains(name), let set = UnicodeSets.named(name == "digit" ? "nd" : name) else {
            throw fail("invalid POSIX bracket type")
        }
        i = k + 2
        return negate ? set.inverted : set
    }
}
