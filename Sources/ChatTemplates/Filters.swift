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
        for part in PythonFormat.str(path).split(separator: ".") {
            v = Int(part).map { item(v, .int($0)) } ?? item(v, .string(String(part)))
        }
        return v
    }

    private func sortKey(_ v: TemplateValue, caseSensitive: Bool) -> TemplateValue {
        if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    private func sorted(_ items: [TemplateValue], by key: (TemplateValue) -> TemplateValue, reverse: Bool) throws -> [TemplateValue] {
        var error: Error?
        // Stable sort, as Python's is.
        let indexed = items.enumerated().map { ($0.offset, $0.element, key($0.element)) }
        let result = indexed.sorted { a, b in
            do {
                let c = try Operators.compare(a.2, b.2, "<")
                if c == 0 { return a.0 < b.0 }
                return reverse ? c > 0 : c < 0
            } catch let e { error = e; return false }
        }
        if let error { throw error }
        return result.map { $0.1 }
    }

    func applyFilter(_ name: String, _ v: TemplateValue, _ args: CallArgs, _ scope: Scope) throws -> TemplateValue {
        let a = args
        func bool(_ i: Int, _ n: String, _ d: Bool = false) -> Bool { a.value(i, n)?.truthy ?? d }
        func stringArg(_ i: Int, _ n: String) -> String? {
            if case .string(let s) = a.value(i, n) ?? TemplateValue.none { return s }
            return nil
        }
        switch name {
        case "tojson":
            let ensureASCII = bool(0, "ensure_ascii")
            var indent: String?
            switch a.value(1, "indent") ?? TemplateValue.none {
            case .int(let n): indent = String(repeating: " ", count: max(0, n))
            case .string(let s): indent = s
            default: indent = nil
            }
            var itemSep: String?, keySep: String?
            if let seps = a.value(2, "separators")?.sequence, seps.count == 2 {
                itemSep = PythonFormat.str(seps[0])
                keySep = PythonFormat.str(seps[1])
            }
            return .string(try PythonFormat.json(v, indent: indent, itemSeparator: itemSep, keySeparator: keySep,
                                                 sortKeys: bool(3, "sort_keys"), ensureASCII: ensureASCII))
        case "trim": return .string(Methods.strip(PythonFormat.str(v), stringArg(0, "chars"), left: true, right: true))
        case "upper": return .string(PythonFormat.str(v).uppercased())
        case "lower": return .string(PythonFormat.str(v).lowercased())
        case "capitalize": return .string(Methods.capitalize(PythonFormat.str(v)))
        case "title": return .string(titleFilter(PythonFormat.str(v)))
        case "string": return .string(PythonFormat.str(v))
        case "safe": return v
        case "e", "escape", "forceescape": return .string(PythonFormat.htmlEscape(PythonFormat.str(v)))
        case "pprint": return .string(PythonFormat.repr(v))
        case "replace":
            guard let old = stringArg(0, "old"), let new = a.value(1, "new") else { throw TemplateError(.type, "replace needs two arguments") }
            let count = a.value(2, "count")?.intValue ?? -1
            return .string(Methods.replace(PythonFormat.str(v), old, PythonFormat.str(new), count: count))
        case "join":
            let sep = a.value(0, "d").map { PythonFormat.str($0) } ?? ""
            var items = try iterate(v, SourcePos(line: 0, column: 0))
            if let attr = a.value(1, "attribute") { items = items.map { lookupPath($0, attr) } }
            return .string(items.map { PythonFormat.str($0) }.joined(separator: sep))
        case "length", "count":
            switch v {
            case .undefined: return .int(0)
            case .string(let s): return .int(s.unicodeScalars.count)
            case .array(let x), .tuple(let x): return .int(x.count)
            case .object(let o): return .int(o.count)
            default: throw TemplateError(.type, "object of type '\(v.typeName)' has no len()")
            }
        case "list": return .array(try iterate(v, SourcePos(line: 0, column: 0)))
        case "items":
            switch v {
            case .undefined: return .array([])
            case .object(let o): return .array(o.pairs.map { .tuple([.string($0.0), $0.1]) })
            default: throw TemplateError(.type, "Can only get item pairs from a mapping.")
            }
        case "first": return try iterate(v, SourcePos(line: 0, column: 0)).first ?? .undefined
        case "last": return try iterate(v, SourcePos(line: 0, column: 0)).last ?? .undefined
        case "default", "d":
            let fallback = a.value(0, "default_value") ?? .string("")
            if v.isUndefined || (bool(1, "boolean") && !v.truthy) { return fallback }
            return v
        case "int":
            let dflt = a.value(0, "default") ?? .int(0)
            switch v {
            case .int: return v
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return d.isFinite ? .int(Int(d)) : dflt
            case .string(let s):
                let t = Methods.strip(s, nil, left: true, right: true).replacingOccurrences(of: "_", with: "")
                if let i = Int(t) { return .int(i) }
                if let d = Double(t), d.isFinite { return .int(Int(d)) }
                return dflt
            default: return dflt
            }
        case "float":
            let dflt = a.value(0, "default") ?? .double(0)
            if let d = v.number { return .double(d) }
            if case .string(let s) = v, let d = Double(Methods.strip(s, nil, left: true, right: true)) { return .double(d) }
            return dflt
        case "abs":
            switch v {
            case .int(let i): return .int(abs(i))
            case .double(let d): return .double(abs(d))
            case .bool(let b): return .int(b ? 1 : 0)
            default: throw TemplateError(.type, "bad operand type for abs(): '\(v.typeName)'")
            }
        case "round":
            let precision = a.value(0, "precision")?.intValue ?? 0
            let method = stringArg(1, "method") ?? "common"
            guard let x = v.number else { throw TemplateError(.type, "round needs a number") }
            let scale = pow(10.0, Double(precision))
            switch method {
            case "ceil": return .double((x * scale).rounded(.up) / scale)
            case "floor": return .double((x * scale).rounded(.down) / scale)
            default:
                if case .int = v { return v }
                return .double((x * scale).rounded(.toNearestOrEven) / scale)
            }
        case "indent": return .string(indentFilter(PythonFormat.str(v), a))
        case "center":
            return .string(Methods.pad(PythonFormat.str(v), width: a.value(0, "width")?.intValue ?? 80, fill: " ", mode: "center"))
        case "format":
            return .string(try Methods.percentFormat(PythonFormat.str(v), .tuple(a.positional)))
        case "wordcount":
            let words = PythonFormat.str(v).split { !($0.isLetter || $0.isNumber || $0 == "_") }
            return .int(words.count)
        case "striptags": return .string(striptags(PythonFormat.str(v)))
        case "attr": return attribute(v, stringArg(0, "name") ?? "")
        case "reverse":
            if case .string(let s) = v { return .string(String(s.unicodeScalars.reversed().map(Character.init))) }
            return .array(try iterate(v, SourcePos(line: 0, column: 0)).reversed())
        default:
            return try applyCollectionFilter(name, v, a, scope)
        }
    }

    private func applyCollectionFilter(_ name: String, _ v: TemplateValue, _ a: CallArgs, _ scope: Scope) throws -> TemplateValue {
        // Jinja's map/select/reject start with `if value:`, so None or an empty value gives nothing.
        let lazy = ["map", "select", "reject", "selectattr", "rejectattr"].contains(name)
        let items = lazy && !v.truthy ? [] : try iterate(v, SourcePos(line: 0, column: 0))
        let caseSensitive = a.value(name == "sort" ? 1 : 0, "case_sensitive")?.truthy ?? false
        switch name {
        case "map":
            if let attr = a.value(99, "attribute") {
                let dflt = a.value(99, "default")
                return .array(items.map { item in
                    let r = lookupPath(item, attr)
                    return r.isUndefined ? (dflt ?? r) : r
                })
            }
            guard case .string(let filter) = a.positional.first ?? TemplateValue.none else { return .array(items) }
            let rest = CallArgs(positional: Array(a.positional.dropFirst()), keyword: a.keyword)
            return .array(try items.map { try applyFilter(filter, $0, rest, scope) })
        case "select", "reject":
            let keep = name == "select"
            guard case .string(let test) = a.positional.first ?? TemplateValue.none else {
                return .array(items.filter { $0.truthy == keep })
            }
            let rest = Array(a.positional.dropFirst())
            return .array(try items.filter { try applyTest(test, $0, rest) == keep })
        case "selectattr", "rejectattr":
            let keep = name == "selectattr"
            guard let attr = a.positional.first else { throw TemplateError(.type, "\(name) needs an attribute") }
            let test: String? = a.positional.count > 1 ? PythonFormat.str(a.positional[1]) : nil
            let rest = Array(a.positional.dropFirst(2))
            return .array(try items.filter { item in
                let value = lookupPath(item, attr)
                let ok = try test.map { try applyTest($0, value, rest) } ?? value.truthy
                return ok == keep
            })
        case "dictsort":
            guard case .object(let o) = v else { throw TemplateError(.type, "You can only sort by either 'key' or 'value'") }
            let byValue = (a.value(1, "by").map { PythonFormat.str($0) } ?? "key") == "value"
            let pairs: [TemplateValue] = o.pairs.map { .tuple([.string($0.0), $0.1]) }
            return .array(try sorted(pairs, by: { p in
                self.sortKey(p.sequence?[byValue ? 1 : 0] ?? TemplateValue.none, caseSensitive: caseSensitive)
            }, reverse: a.value(2, "reverse")?.truthy ?? false))
        case "sort":
            let attr = a.value(2, "attribute")
            return .array(try sorted(items, by: { x in
                self.sortKey(attr.map { self.lookupPath(x, $0) } ?? x, caseSensitive: caseSensitive)
            }, reverse: a.value(0, "reverse")?.truthy ?? false))
        case "unique":
            let attr = a.value(1, "attribute")
            var seen: [TemplateValue] = []
            var out: [TemplateValue] = []
            for x in items {
                let k = sortKey(attr.map { lookupPath(x, $0) } ?? x, caseSensitive: caseSensitive)
                if !seen.contains(where: { Operators.equal($0, k) }) { seen.append(k); out.append(x) }
            }
            return .array(out)
        case "min", "max":
            let attr = a.value(1, "attribute")
            let ordered = try sorted(items, by: { x in
                self.sortKey(attr.map { self.lookupPath(x, $0) } ?? x, caseSensitive: caseSensitive)
            }, reverse: false)
            return (name == "min" ? ordered.first : ordered.last) ?? .undefined
        case "sum":
            let attr = a.value(0, "attribute")
            var total = a.value(1, "start") ?? .int(0)
            for x in items { total = try Operators.arithmetic("+", total, attr.map { lookupPath(x, $0) } ?? x) }
            return total
        case "batch":
            guard let size = a.value(0, "linecount")?.intValue, size > 0 else { throw TemplateError(.type, "batch needs a size") }
            let fill = a.value(1, "fill_with")
            var out: [TemplateValue] = []
            var i = 0
            while i < items.count {
                var chunk = Array(items[i..<min(i + size, items.count)])
                if let fill, chunk.count < size { chunk += Array(repeating: fill, count: size - chunk.count) }
                out.append(.array(chunk))
                i += size
            }
            return .array(out)
        default:
            throw TemplateError(.syntax, "No filter named '\(name)'.")
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

    private func indentFilter(_ s: String, _ a: CallArgs) -> String {
        let indention: String
        switch a.value(0, "width") ?? .int(4) {
        case .string(let w): indention = w
        case let w: indention = String(repeating: " ", count: max(0, w.intValue ?? 4))
        }
        let first = a.value(1, "first")?.truthy ?? false
        let blank = a.value(2, "blank")?.truthy ?? false
        // Python's splitlines after appending "\n", as Jinja does.
        var lines = (s + "\n").split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        lines.removeLast()
        var rv: String
        if blank {
            rv = lines.joined(separator: "\n" + indention)
        } else {
            rv = lines.isEmpty ? "" : lines.removeFirst()
            if !lines.isEmpty { rv += "\n" + lines.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n") }
        }
        return first ? indention + rv : rv
    }

    private func striptags(_ s: String) -> String {
        var text = s
        for pattern in ["<!--.*?-->", "<.*?>"] {
            if let re = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]) {
                text = re.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "")
            }
        }
        let collapsed = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return collapsed.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }
}
