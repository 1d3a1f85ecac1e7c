import Foundation

/// A set of Unicode code points as sorted, disjoint, non-adjacent closed ranges, with a bitmap for ASCII.
/// Character classes of the regex engine (`[a-z]`, `\p{L}`, `\s`, their unions, intersections and complements).
struct ScalarSet: Equatable {
    /// Lower and upper bounds of each range, sorted.
    private(set) var lows: [UInt32] = []
    private(set) var highs: [UInt32] = []
    private var ascii: (UInt64, UInt64) = (0, 0)

    static let maxScalar: UInt32 = 0x10FFFF
    static let all = ScalarSet(ranges: [0...maxScalar])
    static let empty = ScalarSet(ranges: [])

    init(ranges: [ClosedRange<UInt32>]) {
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = highs.last, r.lowerBound <= last &+ 1 {
                highs[highs.count - 1] = max(last, r.upperBound)
            } else {
                lows.append(r.lowerBound)
                highs.append(r.upperBound)
            }
        }
        for (lo, hi) in zip(lows, highs) where lo < 128 {
            for v in lo...min(hi, 127) {
                if v < 64 { ascii.0 |= 1 << UInt64(v) } else { ascii.1 |= 1 << UInt64(v - 64) }
            }
        }
    }

    init(_ scalar: UInt32) { self.init(ranges: [scalar...scalar]) }

    static func == (a: ScalarSet, b: ScalarSet) -> Bool { a.lows == b.lows && a.highs == b.highs }

    var ranges: [ClosedRange<UInt32>] { zip(lows, highs).map { $0...$1 } }
    var isEmpty: Bool { lows.isEmpty }

    @inline(__always)
    func contains(_ v: UInt32) -> Bool {
        if v < 64 { return ascii.0 & (1 << UInt64(v)) != 0 }
        if v < 128 { return ascii.1 & (1 << UInt64(v - 64)) != 0 }
        // The last range starting at or below v.
        var lo = 0, hi = lows.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if lows[mid] <= v { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 && v <= highs[lo - 1]
    }

    func union(_ other: ScalarSet) -> ScalarSet { ScalarSet(ranges: ranges + other.ranges) }

    var inverted: ScalarSet {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for (lo, hi) in zip(lows, highs) {
            if lo > next { out.append(next...(lo - 1)) }
            next = hi &+ 1
        }
        if !lows.isEmpty && highs[highs.count - 1] == Self.maxScalar { return ScalarSet(ranges: out) }
        out.append(next...Self.maxScalar)
        return ScalarSet(ranges: out)
    }

    func intersection(_ other: ScalarSet) -> ScalarSet { inverted.union(other.inverted).inverted }

    /// The code points (all but surrogates) that satisfy `test`, gathered in one pass.
    static func build(where test: (Unicode.Scalar) -> Bool) -> ScalarSet {
        var out: [ClosedRange<UInt32>] = []
        var start: UInt32?
        for v in UInt32(0)...maxScalar {
            let inside = Unicode.Scalar(v).map(test) ?? false
            if inside { if start == nil { start = v } } else if let s = start { out.append(s...(v - 1)); start = nil }
        }
        if let s = start { out.append(s...maxScalar) }
        return ScalarSet(ranges: out)
    }
}

/// Named sets the regex syntax refers to (`\p{…}`, `\w`, `[:alpha:]`), computed once from the Unicode
/// properties Swift knows and cached.
enum UnicodeSets {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: ScalarSet] = [:]

    /// `White_Space`, the code points `\s` matches in Oniguruma.
    static let whiteSpace = ScalarSet(ranges: [0x09...0x0D, 0x20...0x20, 0x85...0x85, 0xA0...0xA0, 0x1680...0x1680,
                                               0x2000...0x200A, 0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F,
                                               0x3000...0x3000])

    private static func cached(_ key: String, _ make: () -> ScalarSet) -> ScalarSet {
        lock.lock()
        if let s = cache[key] { lock.unlock(); return s }
        lock.unlock()
        let set = make()
        lock.lock()
        cache[key] = set
        lock.unlock()
        return set
    }

    private static let categories: [String: [Unicode.GeneralCategory]] = [
        "lu": [.uppercaseLetter], "ll": [.lowercaseLetter], "lt": [.titlecaseLetter], "lm": [.modifierLetter],
        "lo": [.otherLetter], "mn": [.nonspacingMark], "mc": [.spacingMark], "me": [.enclosingMark],
        "nd": [.decimalNumber], "nl": [.letterNumber], "no": [.otherNumber], "pc": [.connectorPunctuation],
        "pd": [.dashPunctuation], "ps": [.openPunctuation], "pe": [.closePunctuation], "pi": [.initialPunctuation],
        "pf": [.finalPunctuation], "po": [.otherPunctuation], "sm": [.mathSymbol], "sc": [.currencySymbol],
        "sk": [.modifierSymbol], "so": [.otherSymbol], "zs": [.spaceSeparator], "zl": [.lineSeparator],
        "zp": [.paragraphSeparator], "cc": [.control], "cf": [.format], "cs": [.surrogate], "co": [.privateUse],
        "cn": [.unassigned],
    ]
    private static let longNames: [String: String] = [
        "uppercaseletter": "lu", "lowercaseletter": "ll", "titlecaseletter": "lt", "modifierletter": "lm",
        "otherletter": "lo", "nonspacingmark": "mn", "spacingmark": "mc", "enclosingmark": "me", "decimalnumber": "nd",
        "letternumber": "nl", "othernumber": "no", "connectorpunctuation": "pc", "dashpunctuation": "pd",
        "openpunctuation": "ps", "closepunctuation": "pe", "initialpunctuation": "pi", "finalpunctuation": "pf",
        "otherpunctuation": "po", "mathsymbol": "sm", "currencysymbol": "sc", "modifiersymbol": "sk",
        "othersymbol": "so", "spaceseparator": "zs", "lineseparator": "zl", "paragraphseparator": "zp",
        "control": "cc", "format": "cf", "surrogate": "cs", "privateuse": "co", "unassigned": "cn",
        "letter": "l", "mark": "m", "combiningmark": "m", "number": "n", "punctuation": "p", "symbol": "s",
        "separator": "z", "other": "c", "digit": "nd",
    ]

    /// Every general category's code points, from one pass over Unicode.
    private static let byCategory: [String: ScalarSet] = {
        var ranges: [Unicode.GeneralCategory: [ClosedRange<UInt32>]] = [:]
        var current: (Unicode.GeneralCategory, UInt32)?
        for v in UInt32(0)...ScalarSet.maxScalar {
            let gc = Unicode.Scalar(v)?.properties.generalCategory ?? .surrogate
            if let (c, start) = current, c != gc { ranges[c, default: []].append(start...(v - 1)); current = nil }
            if current == nil { current = (gc, v) }
        }
        if let (c, start) = current { ranges[c, default: []].append(start...ScalarSet.maxScalar) }
        var out: [String: ScalarSet] = [:]
        for (key, cats) in categories { out[key] = ScalarSet(ranges: cats.flatMap { ranges[$0] ?? [] }) }
        return out
    }()

    /// A general category (`L`, `Lu`, `Letter`…), `nil` when `name` is not one.
    private static func category(_ name: String) -> ScalarSet? {
        let key = longNames[name] ?? name
        if let exact = byCategory[key] { return exact }
        guard key.count == 1 else { return nil }
        let parts = byCategory.filter { $0.key.hasPrefix(key) }.map(\.value)
        guard !parts.isEmpty else { return nil }
        return cached("gc:" + key) { parts.reduce(ScalarSet.empty) { $0.union($1) } }
    }

    /// The set named by `\p{name}` or `[:name:]`, as Oniguruma reads names (case, spaces, `-` and `_` ignored).
    /// Scripts and other properties Swift does not expose are read from ICU, once.
    static func named(_ raw: String) -> ScalarSet? {
        let name = String(raw.lowercased().filter { $0 != "_" && $0 != " " && $0 != "-" })
        if let gc = category(name) { return gc }
        switch name {
        case "any": return .all
        case "assigned": return category("cn")?.inverted
        case "ascii": return ScalarSet(ranges: [0...0x7F])
        case "space", "whitespace": return whiteSpace
        case "word": return word
        case "alnum": return cached("alnum") { ScalarSet.build { $0.properties.isAlphabetic }.union(category("nd") ?? .empty) }
        case "alpha", "alphabetic": return cached("alpha") { ScalarSet.build { $0.properties.isAlphabetic } }
        case "upper", "uppercase": return cached("upper") { ScalarSet.build { $0.properties.isUppercase } }
        case "lower", "lowercase": return cached("lower") { ScalarSet.build { $0.properties.isLowercase } }
        case "xdigit", "hexdigit", "asciihexdigit": return ScalarSet(ranges: [0x30...0x39, 0x41...0x46, 0x61...0x66])
        case "blank": return (category("zs") ?? .empty).union(ScalarSet(0x09))
        case "cntrl": return category("cc")
        case "punct": return (category("p") ?? .empty).union(category("s") ?? .empty)  // Oniguruma: symbols too
        case "graph":
            return cached("graph") {
                whiteSpace.union(category("cc") ?? .empty).union(category("cn") ?? .empty).union(category("cs") ?? .empty).inverted
            }
        case "print": return named("graph")?.union(category("zs") ?? .empty)
        case "math": return cached("math") { ScalarSet.build { $0.properties.isMath } }
        case "ideographic": return cached("ideographic") { ScalarSet.build { $0.properties.isIdeographic } }
        case "emoji": return cached("emoji") { ScalarSet.build { $0.properties.isEmoji } }
        default: return icuProperty(raw)
        }
    }

    /// `\w` inside a class and `[:word:]` in Oniguruma: Alphabetic, marks, decimal digits and connector
    /// punctuation (no join controls).
    static var word: ScalarSet {
        cached("word") {
            ScalarSet.build { s in
                let p = s.properties
                switch p.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
                default: return p.isAlphabetic
                }
            }
        }
    }

    /// `\w` outside a class and the word test of `\b`: Oniguruma checks code points below 256 in its Latin-1
    /// table, which also counts the superscripts and fractions ² ³ ¹ ¼ ½ ¾ as word characters.
    static var wordOutsideClass: ScalarSet {
        cached("word-ctype") { word.union(ScalarSet(ranges: [0xB2...0xB3, 0xB9...0xB9, 0xBC...0xBE])) }
    }

    /// Membership in an ICU property (`Han`, `Hiragana`, `Greek`…), found by matching `\p{name}+` against every
    /// code point in order once; nil when ICU does not know the name either.
    private static func icuProperty(_ name: String) -> ScalarSet? {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == " " || $0 == "-" || $0 == "=" }),
              let re = try? NSRegularExpression(pattern: "\\p{\(name)}+") else { return nil }
        return cached("icu:" + name.lowercased()) {
            var scalars = String.UnicodeScalarView()
            for v in UInt32(0)...ScalarSet.maxScalar { if let s = Unicode.Scalar(v) { scalars.append(s) } }
            let text = String(scalars)
            // UTF-16 offset → code point: the BMP below the surrogates, the BMP above them, then pairs.
            func scalar(at o: Int) -> UInt32 {
                if o < 0xD800 { return UInt32(o) }
                if o < 0xF800 { return UInt32(o + 0x800) }
                return UInt32(0x10000 + (o - 0xF800) / 2)
            }
            var ranges: [ClosedRange<UInt32>] = []
            re.enumerateMatches(in: text, range: NSRange(location: 0, length: text.utf16.count)) { m, _, _ in
                guard let r = m?.range, r.length > 0 else { return }
                ranges.append(scalar(at: r.location)...scalar(at: r.location + r.length - 1))
            }
            return ScalarSet(ranges: ranges)
        }
    }
}

/// Simple case folding for `(?i)`: the code points that fold together (`k`, `K`, `K`; `s`, `S`, `ſ`). Folds that
/// turn one character into several (`ß` and `ss`) are not applied.
enum CaseFolding {
    private static func single(_ s: String) -> Unicode.Scalar? {
        let u = s.unicodeScalars
        return u.count == 1 ? u.first : nil
    }

    private static func fold(_ s: Unicode.Scalar) -> UInt32 {
        let up = single(s.properties.uppercaseMapping) ?? s
        return (single(up.properties.lowercaseMapping) ?? up).value
    }

    /// Every cased code point (the planes that have case) → the code points folding with it, itself included.
    static let classes: [UInt32: [UInt32]] = {
        var groups: [UInt32: Set<UInt32>] = [:]
        for v in UInt32(0)...0x1FFFF {
            guard let s = Unicode.Scalar(v), s.properties.changesWhenCaseMapped else { continue }
            let key = fold(s)
            groups[key, default: [key]].insert(v)
        }
        var out: [UInt32: [UInt32]] = [:]
        for members in groups.values where members.count > 1 { for m in members { out[m] = members.sorted() } }
        return out
    }()

    /// `set` with every code point that folds together with one of its members.
    static func close(_ set: ScalarSet) -> ScalarSet {
        var extra: [ClosedRange<UInt32>] = []
        for (m, group) in classes where set.contains(m) { for g in group where !set.contains(g) { extra.append(g...g) } }
        return extra.isEmpty ? set : set.union(ScalarSet(ranges: extra))
    }
}
