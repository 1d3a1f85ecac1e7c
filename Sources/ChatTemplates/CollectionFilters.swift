import Foundation

/// Jinja's filters over lists and dicts (`map`, `select`, `sort`, `dictsort`, `unique`, `batch`…), with the
/// sandbox counting the elements they walk and checking what they build.
extension Interpreter {
    func sortKey(_ v: TemplateValue, caseSensitive: Bool) -> TemplateValue {
        if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    /// Python's stable sort by `key`; counts n·log2(n) steps.
    func sorted(_ items: [TemplateValue], by key: (TemplateValue) -> TemplateValue, reverse: Bool) throws -> [TemplateValue] {
        try sandbox.step(items.count * (Int.bitWidth - items.count.leadingZeroBitCount))
        var error: Error?
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

    func applyCollectionFilter(_ name: String, _ v: TemplateValue, _ a: CallArgs, _ scope: Scope) throws -> TemplateValue {
        // Jinja's map/select/reject start with `if value:`, so None or an empty value gives nothing.
        let lazy = ["map", "select", "reject", "selectattr", "rejectattr"].contains(name)
        let items = lazy && !v.truthy ? [] : try iterate(v, SourcePos(line: 0, column: 0))
        let caseSensitive = a.value(name == "sort" ? 1 : 0, "case_sensitive")?.truthy ?? false
        func key(_ attr: TemplateValue?) -> (TemplateValue) -> TemplateValue {
            { x in self.sortKey(attr.map { self.lookupPath(x, $0) } ?? x, caseSensitive: caseSensitive) }
        }
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
            let test: String? = try a.positional.count > 1 ? sandbox.str(a.positional[1]) : nil
            let rest = Array(a.positional.dropFirst(2))
            return .array(try items.filter { item in
                let value = lookupPath(item, attr)
                let ok = try test.map { try applyTest($0, value, rest) } ?? value.truthy
                return ok == keep
            })
        case "dictsort":
            guard case .object(let o) = v else { throw TemplateError(.type, "You can only sort by either 'key' or 'value'") }
            let byValue = (try a.value(1, "by").map { try sandbox.str($0) } ?? "key") == "value"
            let pairs: [TemplateValue] = o.pairs.map { .tuple([.string($0.0), $0.1]) }
            return try nested(.array(try sorted(pairs, by: { p in
                self.sortKey(p.sequence?[byValue ? 1 : 0] ?? TemplateValue.none, caseSensitive: caseSensitive)
            }, reverse: a.value(2, "reverse")?.truthy ?? false)))
        case "sort":
            return .array(try sorted(items, by: key(a.value(2, "attribute")), reverse: a.value(0, "reverse")?.truthy ?? false))
        case "unique":
            let k = key(a.value(1, "attribute"))
            var seen: [TemplateValue] = []
            var out: [TemplateValue] = []
            for x in items {
                let kx = k(x)
                try sandbox.step(seen.count)  // the linear search below
                if !seen.contains(where: { Operators.equal($0, kx) }) { seen.append(kx); out.append(x) }
            }
            return .array(out)
        case "min", "max":
            let ordered = try sorted(items, by: key(a.value(1, "attribute")), reverse: false)
            return (name == "min" ? ordered.first : ordered.last) ?? .undefined
        case "sum":
            let attr = a.value(0, "attribute")
            var total = a.value(1, "start") ?? .int(0)
            for x in items { total = try Operators.arithmetic("+", total, attr.map { lookupPath(x, $0) } ?? x, sandbox) }
            return total
        case "batch":
            guard let size = a.value(0, "linecount")?.intValue, size > 0 else { throw TemplateError(.type, "batch needs a size") }
            let fill = a.value(1, "fill_with")
            var out: [TemplateValue] = []
            var start = 0
            while start < items.count {
                let end = size >= items.count - start ? items.count : start + size
                var chunk = Array(items[start..<end])
                if let fill, chunk.count < size {
                    try sandbox.checkList(count: size)
                    try sandbox.step(size - chunk.count)
                    chunk += Array(repeating: fill, count: size - chunk.count)
                }
                out.append(.array(chunk))
                start = end
            }
            return try nested(.array(out))
        default:
            throw TemplateError(.syntax, "No filter named '\(name)'.")
        }
    }
}
