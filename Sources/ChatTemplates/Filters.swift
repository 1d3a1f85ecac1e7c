import Foundation

/// Jinja's built-in filters as transformers' environment has them (with its own `tojson`).
enum Filters {
    static let names: Set<String> = [
        "tojson", "trim", "join", "map", "select", "reject", "selectattr", "rejectattr", "items", "list", "length",
        "count", "first", "last", "default", "d", "upper", "lower", "capitalize", "title", "replace", "string", "int",
        "float", "abs", "round", "indent", "safe", "e", "escape", "forceescape", "dictsort", "unique", "reverse", "sort",
        "sum", "min", "max", "batch", "wordcount", "striptags", "center", "pprint", "format", "attr", "urlencode",
    ]
}

extension Interpreter {
    /// Applies a filter expression (`name(args)` parsed with no operand) to a value.
    func applyFilterExpr(_ f: Expr, to value: TemplateValue, _ scope: Scope) throws -> TemplateValue {
        guard case .filter(_, let name, let args) = f.kind else { return value }
        do {
            return try applyFilter(name, value, try evalArgs(args, scope), scope)
        } catch let e as TemplateError { throw e.at(f.pos) }
    }

    /// `value.a.b` / `value[0]` for the `attribute=` arguments of `map`, `sort`, `selectattr`…
    func lookupPath(_ value: TemplateValue, _ path: TemplateValue) -> TemplateValue {
        if case .int = path { return item(value, path) }
        var v = value
        for part in (PythonFormat.scalar(path) ?? "").split(separator: ".") {
            v = Int(part).map { item(v, .int($0)) } ?? item(v, .string(String(part)))
        }
        return v
    }

    /// `str(v)` for a filter that walks the text, counted as work.
    func input(_ v: TemplateValue) throws -> String {
        let s = try sandbox.str(v)
        try sandbox.walk(bytes: s.utf8.count)
        return s
    }

    func applyFilter(_ name: String, _ v: TemplateValue, _ args: CallArgs, _ scope: Scope) throws -> TemplateValue {
        // `map('map', 'map', …)` applies filters inside filters.
        try sandbox.enter()
        defer { sandbox.leave() }
        let a = args
        func bool(_ i: Int, _ n: String, _ d: Bool = false) -> Bool { a.value(i, n)?.truthy ?? d }
        func stringArg(_ i: Int, _ n: String) -> String? {
            if case .string(let s) = a.value(i, n) ?? TemplateValue.none { return s }
            return nil
        }
        switch name {
        case "tojson": return try tojson(v, a)
        case "trim": return try sandbox.text(Methods.strip(try input(v), stringArg(0, "chars"), left: true, right: true))
        case "upper": return try sandbox.text(try input(v).uppercased())
        case "lower": return try sandbox.text(try input(v).lowercased())
        case "capitalize": return try sandbox.text(Methods.capitalize(try input(v)))
        case "title": return try sandbox.text(titleFilter(try input(v)))
        case "string": return .string(try sandbox.str(v))
        case "safe": return v
        case "e", "escape", "forceescape": return try sandbox.text(PythonFormat.htmlEscape(try input(v)))
        case "pprint": return .string(try PythonFormat.repr(v, limit: sandbox.limits.maxStringBytes))
        case "replace":
            guard let old = stringArg(0, "old"), let new = a.value(1, "new") else { throw TemplateError(.type, "replace needs two arguments") }
            let count = a.value(2, "count")?.intValue ?? -1
            return .string(try Methods.replace(try input(v), old, try sandbox.str(new), count: count, sandbox))
        case "join":
            let sep = try a.value(0, "d").map { try sandbox.str($0) } ?? ""
            var items = try iterate(v, SourcePos(line: 0, column: 0))
            if let attr = a.value(1, "attribute") { items = items.map { lookupPath($0, attr) } }
            return .string(try Methods.join(items, separator: sep, sandbox))
        case "length", "count":
            switch v {
            case .undefined: return .int(0)
            case .string(let s):
                try sandbox.walk(bytes: s.utf8.count)
                return .int(s.unicodeScalars.count)
            case .array(let x), .tuple(let x): return .int(x.count)
            case .object(let o): return .int(o.count)
            default: throw TemplateError(.type, "object of type '\(v.typeName)' has no len()")
            }
        case "list": return .array(try iterate(v, SourcePos(line: 0, column: 0)))
        case "items":
            switch v {
            case .undefined: return .array([])
            case .object(let o): return try nested(.array(o.pairs.map { .tuple([.string($0.0), $0.1]) }))
            default: throw TemplateError(.type, "Can only get item pairs from a mapping.")
            }
        case "first": return try iterate(v, SourcePos(line: 0, column: 0)).first ?? .undefined
        case "last": return try iterate(v, SourcePos(line: 0, column: 0)).last ?? .undefined
        case "default", "d":
            let fallback = a.value(0, "default_value") ?? .string("")
            if v.isUndefined || (bool(1, "boolean") && !v.truthy) { return fallback }
            return v
        case "int": return try intFilter(v, fallback: a.value(0, "default") ?? .int(0))
        case "float":
            let dflt = a.value(0, "default") ?? .double(0)
            if let d = v.number { return .double(d) }
            if case .string(let s) = v, let d = Double(Methods.strip(s, nil, left: true, right: true)) { return .double(d) }
            return dflt
        case "abs":
            switch v {
            case .int(let i):
                if i == Int.min { throw Operators.intOverflow }
                return .int(abs(i))
            case .double(let d): return .double(abs(d))
            case .bool(let b): return .int(b ? 1 : 0)
            default: throw TemplateError(.type, "bad operand type for abs(): '\(v.typeName)'")
            }
        case "round": return try roundFilter(v, precision: a.value(0, "precision")?.intValue ?? 0, method: stringArg(1, "method") ?? "common")
        case "indent": return .string(try indentFilter(try input(v), a))
        case "center":
            let width = a.value(0, "width")?.intValue ?? 80
            return .string(try Methods.pad(try input(v), width: width, fill: " ", mode: "center", sandbox))
        case "format":
            // jinja2: `value % (kwargs or args)`.
            let values: TemplateValue = a.keyword.isEmpty ? .tuple(a.positional) : .object(TemplateObject(a.keyword))
            return .string(try StringFormat.percent(try input(v), values, sandbox))
        case "wordcount":
            let words = try input(v).split { !($0.isLetter || $0.isNumber || $0 == "_") }
            return .int(words.count)
        case "striptags": return try sandbox.text(striptags(try input(v)))
        case "attr": return attribute(v, stringArg(0, "name") ?? "")
        case "reverse":
            if case .string(let s) = v {
                try sandbox.walk(bytes: s.utf8.count)
                return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed())))
            }
            return .array(try iterate(v, SourcePos(line: 0, column: 0)).reversed())
        default:
            return try applyCollectionFilter(name, v, a, scope)
        }
    }

    /// transformers' `tojson`: `json.dumps(value, ensure_ascii=False, indent=…, separators=…, sort_keys=…)`.
    private func tojson(_ v: TemplateValue, _ a: CallArgs) throws -> TemplateValue {
        var indent: String?
        switch a.value(1, "indent") ?? TemplateValue.none {
        case .int(let n):
            try sandbox.checkString(bytes: max(0, n))
            indent = String(repeating: " ", count: max(0, n))
        case .string(let s): indent = s
        default: indent = nil
        }
        var itemSep: String?, keySep: String?
        if let seps = a.value(2, "separators")?.sequence, seps.count == 2 {
            itemSep = try sandbox.str(seps[0])
            keySep = try sandbox.str(seps[1])
        }
        let json = try PythonFormat.json(v, indent: indent, itemSeparator: itemSep, keySeparator: keySep,
                                         sortKeys: a.value(3, "sort_keys")?.truthy ?? false,
                                         ensureASCII: a.value(0, "ensure_ascii")?.truthy ?? false,
                                         limit: sandbox.limits.maxStringBytes)
        try sandbox.walk(bytes: json.utf8.count)
        return .string(json)
    }

    /// Jinja's `int` filter: `int(value)`, else `int(float(value))`, else the default. A float's `inf` raises
    /// (Python's `int(inf)` is an OverflowError the filter does not catch); a string's falls back to the default.
    private func intFilter(_ v: TemplateValue, fallback: TemplateValue) throws -> TemplateValue {
        switch v {
        case .int: return v
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d): return d.isNaN ? fallback : .int(try Operators.truncate(d))
        case .string(let s):
            let t = Methods.strip(s, nil, left: true, right: true).replacingOccurrences(of: "_", with: "")
            if let i = Int(t) { return .int(i) }
            let digits = t.hasPrefix("-") || t.hasPrefix("+") ? t.dropFirst() : Substring(t)
            if !digits.isEmpty && digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { throw Operators.intOverflow }
            if let d = Double(t), d.isFinite { return .int(try Operators.truncate(d)) }
            return fallback
        default: return fallback
        }
    }

    /// Jinja's `round`: Python's `round(value, precision)` (half to even; ints stay ints), or ceil/floor scaled.
    private func roundFilter(_ v: TemplateValue, precision: Int, method: String) throws -> TemplateValue {
        guard let x = v.number else { throw TemplateError(.type, "round needs a number") }
        guard method == "common" || method == "ceil" || method == "floor" else {
            throw TemplateError(.type, "method must be common, ceil or floor")
        }
        if method == "common", let i = v.intValue { return .int(try Operators.roundInteger(i, digits: precision)) }
        // Beyond ±308 digits the scale is 0 or infinite; Python's answer is the value itself or zero.
        if precision > 308 { return .double(x) }
        if precision < -308 { return .double(0 * x) }
        let scale = pow(10.0, Double(precision))
        let scaled = x * scale
        if !scaled.isFinite { return .double(x) }
        switch method {
        case "ceil": return .double(scaled.rounded(.up) / scale)
        case "floor": return .double(scaled.rounded(.down) / scale)
        default: return .double(scaled.rounded(.toNearestOrEven) / scale)
        }
    }

    /// Jinja's `title` filter: capitalise each word, words start after whitespace, `-`, and opening brackets.
    private func titleFilter(_ s: String) -> String {
        var out = ""
        var atStart = true
        for ch in s {
            if ch.isWhitespace || "-({[<".contains(ch) {
                out.append(ch)
                atStart = true
            } else {
                out += atStart ? ch.uppercased() : ch.lowercased()
                atStart = false
            }
        }
        return out
    }

    private func indentFilter(_ s: String, _ a: CallArgs) throws -> String {
        let indention: String
        switch a.value(0, "width") ?? .int(4) {
        case .string(let w): indention = w
        case let w:
            let width = max(0, w.intValue ?? 4)
            try sandbox.checkString(bytes: width)
            indention = String(repeating: " ", count: width)
        }
        let first = a.value(1, "first")?.truthy ?? false
        let blank = a.value(2, "blank")?.truthy ?? false
        // Python's splitlines after appending "\n", as Jinja does.
        var lines = (s + "\n").split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        lines.removeLast()
        // Each line may get the indention: bound the result before building it.
        try sandbox.checkString(bytes: s.utf8.count &+ Sandbox.product(lines.count + 1, indention.utf8.count))
        var rv: String
        if blank {
            rv = lines.joined(separator: "\n" + indention)
        } else {
            rv = lines.isEmpty ? "" : lines.removeFirst()
            if !lines.isEmpty { rv += "\n" + lines.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n") }
        }
        return first ? indention + rv : rv
    }

    /// markupsafe's `striptags`: one pass that drops `<!-- … -->` comments and `<…>` tags (stopping at the first
    /// unclosed one), then collapses whitespace and unescapes entities.
    private func striptags(_ s: String) -> String {
        let v = Array(s.unicodeScalars)
        func find(_ pattern: String, from: Int) -> Int? {
            let p = Array(pattern.unicodeScalars)
            var k = from
            while k + p.count <= v.count {
                if v[k] == p[0] && v[k..<k + p.count].elementsEqual(p) { return k }
                k += 1
            }
            return nil
        }
        var kept = String.UnicodeScalarView()
        var pos = 0
        while let start = find("<", from: pos) {
            let close = v[start...].starts(with: "<!--".unicodeScalars) ? find("-->", from: start + 4).map { $0 + 3 }
                : find(">", from: start).map { $0 + 1 }
            guard let end = close else { break }
            kept.append(contentsOf: v[pos..<start])
            pos = end
        }
        kept.append(contentsOf: v[pos...])
        let text = String(kept)
        let collapsed = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return collapsed.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }
}
