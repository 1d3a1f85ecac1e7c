import Foundation

/// Python methods on strings, dicts and lists that templates call (`.strip()`, `.get()`, `.items()`…).
/// Mutating list/dict methods raise like transformers' `ImmutableSandboxedEnvironment` does.
enum Methods {
    typealias Fn = TemplateFunction

    private static func method(_ name: String, _ body: @escaping ([TemplateValue], [(String, TemplateValue)]) throws -> TemplateValue) -> Fn {
        Fn(name, body)
    }

    static func unsafe(_ name: String, _ type: String) -> Fn {
        method(name) { _, _ in throw TemplateError(.security, "access to attribute '\(name)' of '\(type)' object is unsafe.") }
    }

    static func dictMethod(_ o: TemplateObject, _ name: String) -> Fn? {
        switch name {
        case "items": return method(name) { _, _ in .array(o.pairs.map { .tuple([.string($0.0), $0.1]) }) }
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

    static func listMethod(_ a: [TemplateValue], _ name: String) -> Fn? {
        switch name {
        case "count": return method(name) { args, _ in .int(a.filter { Operators.equal($0, args.first ?? TemplateValue.none) }.count) }
        case "index":
            return method(name) { args, _ in
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

    static func stringMethod(_ s: String, _ name: String) -> Fn? {
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
                return .array(split(s, sep, maxsplit, fromRight: name == "rsplit").map { .string($0) })
            }
        case "splitlines":
            return method(name) { _, _ in .array(s.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                .map { .string(String($0)) }.dropLast(s.last?.isNewline == true ? 1 : 0).map { $0 }) }
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
        case "upper": return method(name) { _, _ in .string(s.uppercased()) }
        case "lower": return method(name) { _, _ in .string(s.lowercased()) }
        case "title": return method(name) { _, _ in .string(title(s)) }
        case "capitalize": return method(name) { _, _ in .string(capitalize(s)) }
        case "swapcase":
            return method(name) { _, _ in .string(String(s.map { $0.isUppercase ? Character($0.lowercased()) : Character($0.uppercased()) })) }
        case "replace":
            return method(name) { args, _ in
                guard let old = str(args, 0), let new = str(args, 1) else { throw TemplateError(.type, "replace expects strings") }
                return .string(replace(s, old, new, count: args.count > 2 ? (args[2].intValue ?? -1) : -1))
            }
        case "find", "index", "rfind":
            return method(name) { args, _ in
                guard let sub = str(args, 0) else { throw TemplateError(.type, "must be str") }
                let hay = Array(s.unicodeScalars), needle = Array(sub.unicodeScalars)
                let range = name == "rfind" ? Array(stride(from: hay.count - needle.count, through: 0, by: -1))
                    : Array(stride(from: 0, through: hay.count - needle.count, by: 1))
                for i in range where Array(hay[i..<i + needle.count]) == needle { return .int(i) }
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
            return method(name) { args, _ in
                .string((args.first?.sequence ?? []).map { PythonFormat.str($0) }.joined(separator: s))
            }
        case "format":
            return method(name) { args, kwargs in .string(try format(s, args, kwargs)) }
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
                let pad = String(repeating: "0", count: w - n)
                if s.hasPrefix("-") || s.hasPrefix("+") { return .string(String(s.prefix(1)) + pad + s.dropFirst()) }
                return .string(pad + s)
            }
        case "center", "ljust", "rjust":
            return method(name) { args, _ in
                .string(pad(s, width: args.first?.intValue ?? 0, fill: str(args, 1) ?? " ", mode: name))
            }
        default: return nil
        }
    }

    static func pad(_ s: String, width: Int, fill: String, mode: String) -> String {
        let n = s.unicodeScalars.count
        guard width > n else { return s }
        let total = width - n
        switch mode {
        case "ljust": return s + String(repeating: fill, count: total)
        case "rjust": return String(repeating: fill, count: total) + s
        default:
            // CPython's centering puts the extra character on the left when the string length is odd.
            let left = total / 2 + (total & n & 1)
            return String(repeating: fill, count: left) + s + String(repeating: fill, count: total - left)
        }
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        if count < 0 { return s.replacingOccurrences(of: old, with: new) }
        var parts = s.components(separatedBy: old)
        guard parts.count > 1 else { return s }
        var out = parts.removeFirst()
        for (i, p) in parts.enumerated() { out += (i < count ? new : old) + p }
        return out
    }

    /// `str.format` with `{}`, `{0}` and `{name}` fields (no format specs beyond plain conversion).
    static func format(_ s: String, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)]) throws -> String {
        var out = ""
        var auto = 0
        var chars = Array(s)[...]
        while let ch = chars.popFirst() {
            if ch == "{" {
                if chars.first == "{" { chars.removeFirst(); out += "{"; continue }
                var field = ""
                while let c = chars.popFirst(), c != "}" { field.append(c) }
                let key = field.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
                let value: TemplateValue
                if key.isEmpty { value = auto < args.count ? args[auto] : .undefined; auto += 1 }
                else if let i = Int(key) { value = i < args.count ? args[i] : .undefined }
                else { value = kwargs.first { $0.0 == key }?.1 ?? .undefined }
                if value.isUndefined { throw TemplateError(.type, "format field '\(field)' has no value") }
                out += PythonFormat.str(value)
            } else if ch == "}" {
                if chars.first == "}" { chars.removeFirst() }
                out += "}"
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// `"fmt" % args` for `%s`, `%r`, `%d`, `%i`, `%f` and `%%`.
    static func percentFormat(_ fmt: String, _ args: TemplateValue) throws -> String {
        let values = args.sequence.map { Array($0) } ?? [args]
        var out = ""
        var idx = 0
        var chars = Array(fmt)[...]
        while let ch = chars.popFirst() {
            guard ch == "%" else { out.append(ch); continue }
            var spec = ""
            while let c = chars.first, "0123456789.-+ ".contains(c) { spec.append(c); chars.removeFirst() }
            guard let conv = chars.popFirst() else { throw TemplateError(.type, "incomplete format") }
            if conv == "%" { out += "%"; continue }
            guard idx < values.count else { throw TemplateError(.type, "not enough arguments for format string") }
            let v = values[idx]
            idx += 1
            switch conv {
            case "s": out += PythonFormat.str(v)
            case "r": out += PythonFormat.repr(v)
            case "d", "i": out += String(Int(v.number ?? 0))
            case "f":
                let precision = Int(spec.split(separator: ".").last ?? "6") ?? 6
                out += String(format: "%.\(precision)f", v.number ?? 0)
            default: throw TemplateError(.type, "unsupported format character '\(conv)'")
            }
        }
        return out
    }
}
