import Foundation

/// Python methods on strings, dicts and lists that templates call (`.strip()`, `.get()`, `.items()`…).
/// Mutating list/dict methods raise like transformers' `ImmutableSandboxedEnvironment` does; the sandbox counts
/// the text and elements each call walks and bounds what it builds.
enum Methods {
    typealias Fn = TemplateFunction

    private static func method(_ name: String, _ body: @escaping ([TemplateValue], [(String, TemplateValue)]) throws -> TemplateValue) -> Fn {
        Fn(name, body)
    }

    static func unsafe(_ name: String, _ type: String) -> Fn {
        method(name) { _, _ in throw TemplateError(.security, "access to attribute '\(name)' of '\(type)' object is unsafe.") }
    }

    static func dictMethod(_ o: TemplateObject, _ name: String, _ sandbox: Sandbox) -> Fn? {
        switch name {
        case "items":
            return method(name) { _, _ in
                let pairs = TemplateValue.array(o.pairs.map { .tuple([.string($0.0), $0.1]) })
                try sandbox.checkNesting(pairs)
                return pairs
            }
        case "keys": return method(name) { _, _ in .array(o.keys.map { .string($0) }) }
        case "values": return method(name) { _, _ in .array(o.pairs.map { $0.1 }) }
        case "get":
            return method(name) { args, _ in
                guard let key = args.first else { throw TemplateError(.type, "get expected at least 1 argument, got 0") }
                if case .string(let k) = key, let v = o[k] { return v }
                return args.count > 1 ? args[1] : .none
            }
        case "copy": return method(name) { _, _ in .object(o) }
        case "update", "pop", "popitem", "setdefault", "clear": return unsafe(name, "dict")
        default: return nil
        }
    }

    static func listMethod(_ a: [TemplateValue], _ name: String, _ sandbox: Sandbox) -> Fn? {
        switch name {
        case "count":
            return method(name) { args, _ in
                try sandbox.step(a.count)
                return .int(a.filter { Operators.equal($0, args.first ?? TemplateValue.none) }.count)
            }
        case "index":
            return method(name) { args, _ in
                try sandbox.step(a.count)
                guard let i = a.firstIndex(where: { Operators.equal($0, args.first ?? TemplateValue.none) }) else {
                    throw TemplateError(.type, "value is not in list")
                }
                return .int(i)
            }
        case "copy": return method(name) { _, _ in .array(a) }
        case "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse": return unsafe(name, "list")
        default: return nil
        }
    }

    private static func str(_ args: [TemplateValue], _ i: Int) -> String? {
        guard i < args.count, case .string(let s) = args[i] else { return nil }
        return s
    }

    private static func isPySpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
    }

    /// `str.strip`/`lstrip`/`rstrip`: whitespace, or any of the given characters.
    static func strip(_ s: String, _ chars: String?, left: Bool, right: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { ch in set.map { $0.contains(ch) } ?? isPySpace(ch) }
        var scalars = Array(s.unicodeScalars)[...]
        if left { while let f = scalars.first, drop(f) { scalars.removeFirst() } }
        if right { while let l = scalars.last, drop(l) { scalars.removeLast() } }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        return String(v)
    }

    /// `str.split(sep, maxsplit)` and, with `fromRight`, `str.rsplit`.
    static func split(_ s: String, _ sep: String?, _ maxsplit: Int, fromRight: Bool = false) -> [String] {
        guard let sep, !sep.isEmpty else {
            // No separator: split on runs of whitespace, dropping empty pieces.
            var words = s.unicodeScalars.split(whereSeparator: isPySpace).map { String(String.UnicodeScalarView($0)) }
            if maxsplit >= 0, words.count > maxsplit + 1 {
                // Rare: rebuild the unsplit remainder from the original text.
                let head = fromRight ? Array(words.suffix(maxsplit)) : Array(words.prefix(maxsplit))
                var rest = strip(s, nil, left: true, right: true)
                for w in (fromRight ? head.reversed() : head) {
                    rest = fromRight ? strip(String(rest.dropLast(w.count)), nil, left: false, right: true)
                        : strip(String(rest.dropFirst(w.count)), nil, left: true, right: false)
                }
                words = fromRight ? [rest] + head : head + [rest]
            }
            return words
        }
        var parts = s.components(separatedBy: sep)
        if maxsplit >= 0, parts.count > maxsplit + 1 {
            if fromRight {
                let tail = Array(parts.suffix(maxsplit))
                parts = [parts.dropLast(maxsplit).joined(separator: sep)] + tail
            } else {
                let head = Array(parts.prefix(maxsplit))
                parts = head + [parts.dropFirst(maxsplit).joined(separator: sep)]
            }
        }
        return parts
    }

    static func capitalize(_ s: String) -> String {
        guard let f = s.first else { return s }
        return String(f).uppercased() + s.dropFirst().lowercased()
    }

    /// Python's `str.title()`: uppercase after any non-letter, lowercase otherwise.
    static func title(_ s: String) -> String {
        var out = ""
        var prevLetter = false
        for ch in s {
            out += prevLetter ? String(ch).lowercased() : String(ch).uppercased()
            prevLetter = ch.isLetter
        }
        return out
    }

    static func stringMethod(_ s: String, _ name: String, _ sandbox: Sandbox) -> Fn? {
        guard let m = stringMethodBody(s, name, sandbox) else { return nil }
        // Every string method walks the text at least once.
        return method(name) { args, kwargs in
            try sandbox.walk(bytes: s.utf8.count)
            return try m.body(args, kwargs)
        }
    }

    private static func stringMethodBody(_ s: String, _ name: String, _ sandbox: Sandbox) -> Fn? {
        switch name {
        case "strip", "lstrip", "rstrip":
            return method(name) { args, _ in
                .string(strip(s, str(args, 0), left: name != "rstrip", right: name != "lstrip"))
            }
        case "split", "rsplit":
            return method(name) { args, kwargs in
                let c = CallArgs(positional: args, keyword: kwargs)
                let sep: String? = { if case .string(let x) = c.value(0, "sep") ?? TemplateValue.none { return x }; return nil }()
                let maxsplit = c.value(1, "maxsplit")?.intValue ?? -1
                let parts = split(s, sep, maxsplit, fromRight: name == "rsplit")
                try sandbox.checkList(count: parts.count)
                return .array(parts.map { .string($0) })
            }
        case "splitlines":
            return method(name) { _, _ in
                let lines = s.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                try sandbox.checkList(count: lines.count)
                return .array(lines.map { .string(String($0)) }.dropLast(s.last?.isNewline == true ? 1 : 0).map { $0 })
            }
        case "startswith", "endswith":
            return method(name) { args, _ in
                let options: [String]
                switch args.first ?? TemplateValue.none {
                case .string(let p): options = [p]
                case .tuple(let t), .array(let t): options = t.compactMap { if case .string(let p) = $0 { return p }; return nil }
                default: throw TemplateError(.type, "\(name) first arg must be str or a tuple of str")
                }
                let scalars = Array(s.unicodeScalars)
                return .bool(options.contains { p in
                    let ps = Array(p.unicodeScalars)
                    return name == "startswith" ? scalars.starts(with: ps) : scalars.reversed().starts(with: ps.reversed())
                })
            }
        // Case mapping can lengthen text (ß → SS), so its results are checked.
        case "upper": return method(name) { _, _ in try sandbox.text(s.uppercased()) }
        case "lower": return method(name) { _, _ in try sandbox.text(s.lowercased()) }
        case "title": return method(name) { _, _ in try sandbox.text(title(s)) }
        case "capitalize": return method(name) { _, _ in try sandbox.text(capitalize(s)) }
        case "swapcase":
            return method(name) { _, _ in
                try sandbox.text(String(s.map { $0.isUppercase ? Character($0.lowercased()) : Character($0.uppercased()) }))
            }
        case "replace":
            return method(name) { args, _ in
                guard let old = str(args, 0), let new = str(args, 1) else { throw TemplateError(.type, "replace expects strings") }
                return .string(try replace(s, old, new, count: args.count > 2 ? (args[2].intValue ?? -1) : -1, sandbox))
            }
        case "find", "index", "rfind":
            return method(name) { args, _ in
                guard let sub = str(args, 0) else { throw TemplateError(.type, "must be str") }
                if let i = find(sub, in: s, last: name == "rfind") { return .int(i) }
                if name == "index" { throw TemplateError(.type, "substring not found") }
                return .int(-1)
            }
        case "count":
            return method(name) { args, _ in
                guard let sub = str(args, 0) else { throw TemplateError(.type, "must be str") }
                if sub.isEmpty { return .int(s.unicodeScalars.count + 1) }
                return .int(s.components(separatedBy: sub).count - 1)
            }
        case "join":
            return method(name) { args, _ in .string(try join(args.first?.sequence ?? [], separator: s, sandbox)) }
        case "format":
            return method(name) { args, kwargs in .string(try StringFormat.format(s, args, kwargs, sandbox)) }
        case "isalpha", "isdigit", "isnumeric", "isalnum", "isspace", "isupper", "islower":
            return method(name) { _, _ in
                guard !s.isEmpty else { return .bool(false) }
                switch name {
                case "isalpha": return .bool(s.allSatisfy(\.isLetter))
                case "isdigit", "isnumeric": return .bool(s.allSatisfy(\.isNumber))
                case "isalnum": return .bool(s.allSatisfy { $0.isLetter || $0.isNumber })
                case "isspace": return .bool(s.allSatisfy(\.isWhitespace))
                case "isupper": return .bool(s.contains(where: \.isLetter) && s == s.uppercased())
                default: return .bool(s.contains(where: \.isLetter) && s == s.lowercased())
                }
            }
        case "zfill":
            return method(name) { args, _ in
                let w = args.first?.intValue ?? 0
                let n = s.unicodeScalars.count
                if n >= w { return .string(s) }
                try sandbox.checkString(bytes: s.utf8.count &+ (w - n))
                let pad = String(repeating: "0", count: w - n)
                if s.hasPrefix("-") || s.hasPrefix("+") { return .string(String(s.prefix(1)) + pad + s.dropFirst()) }
                return .string(pad + s)
            }
        case "center", "ljust", "rjust":
            return method(name) { args, _ in
                .string(try pad(s, width: args.first?.intValue ?? 0, fill: str(args, 1) ?? " ", mode: name, sandbox))
            }
        default: return nil
        }
    }

    /// `str.center` / `ljust` / `rjust` (and the `center` filter), bounded before the padding is built.
    static func pad(_ s: String, width: Int, fill: String, mode: String, _ sandbox: Sandbox) throws -> String {
        guard fill.unicodeScalars.count == 1 else {
            throw TemplateError(.type, "The fill character must be exactly one character long")
        }
        let n = s.unicodeScalars.count
        guard width > n else { return s }
        let total = width - n
        try sandbox.checkString(bytes: s.utf8.count &+ Sandbox.product(total, fill.utf8.count))
        switch mode {
        case "ljust": return s + String(repeating: fill, count: total)
        case "rjust": return String(repeating: fill, count: total) + s
        default:
            // CPython's centering puts the extra character on the left when the string length is odd.
            let left = total / 2 + (total & n & 1)
            return String(repeating: fill, count: left) + s + String(repeating: fill, count: total - left)
        }
    }

    /// `str.replace(old, new, count)`, its size checked before the text is built.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int, _ sandbox: Sandbox) throws -> String {
        if old.isEmpty {
            // Python puts `new` before every character and at the end, `count` times at most.
            let scalars = s.unicodeScalars
            let n = count < 0 ? scalars.count + 1 : min(count, scalars.count + 1)
            try sandbox.checkString(bytes: s.utf8.count &+ Sandbox.product(n, new.utf8.count))
            var out = ""
            for (i, c) in scalars.enumerated() {
                if i < n { out += new }
                out.unicodeScalars.append(c)
            }
            if n > scalars.count { out += new }
            return out
        }
        var parts = s.components(separatedBy: old)
        guard parts.count > 1 else { return s }
        let n = count < 0 ? parts.count - 1 : min(count, parts.count - 1)
        let growth = new.utf8.count - old.utf8.count
        if growth > 0 { try sandbox.checkString(bytes: s.utf8.count &+ Sandbox.product(n, growth)) }
        var out = parts.removeFirst()
        for (i, p) in parts.enumerated() { out += (i < n ? new : old) + p }
        return out
    }

    /// `sep.join(items)` / the `join` filter, checked as the parts are added up.
    static func join(_ items: [TemplateValue], separator: String, _ sandbox: Sandbox) throws -> String {
        var parts: [String] = []
        parts.reserveCapacity(items.count)
        var bytes = 0
        for item in items {
            let part = try sandbox.str(item)
            bytes = bytes &+ part.utf8.count &+ (parts.isEmpty ? 0 : separator.utf8.count)
            try sandbox.checkString(bytes: bytes)
            parts.append(part)
        }
        try sandbox.walk(bytes: bytes)
        return parts.joined(separator: separator)
    }

    /// Code point index of the first (or, with `last`, the final) occurrence of `needle` in `hay`. Searches the
    /// UTF-8 bytes with Knuth–Morris–Pratt (linear time); a byte match of valid UTF-8 always starts on a code point.
    static func find(_ needle: String, in hay: String, last: Bool) -> Int? {
        if needle.isEmpty { return last ? hay.unicodeScalars.count : 0 }
        var h = Array(hay.utf8), n = Array(needle.utf8)
        if last { h.reverse(); n.reverse() }  // the first match in reversed bytes is the last one
        // fail[k]: length of the longest proper border of n[0...k].
        var fail = [Int](repeating: 0, count: n.count)
        var k = 0
        for i in 1..<max(1, n.count) {
            while k > 0 && n[i] != n[k] { k = fail[k - 1] }
            if n[i] == n[k] { k += 1 }
            fail[i] = k
        }
        k = 0
        var end: Int?
        for (i, b) in h.enumerated() {
            while k > 0 && b != n[k] { k = fail[k - 1] }
            if b == n[k] { k += 1 }
            if k == n.count { end = i + 1; break }
        }
        guard let end else { return nil }
        let byteStart = last ? h.count - end : end - n.count
        // Code points before the match: the bytes that do not continue a multi-byte sequence.
        return hay.utf8.prefix(byteStart).reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
    }
}
