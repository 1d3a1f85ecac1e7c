import Foundation

/// Expression evaluation with Python semantics for operators and Jinja's for undefined values.
extension Interpreter {
    func eval(_ e: Expr, _ scope: Scope) throws -> TemplateValue {
        do {
            try sandbox.enter()
            defer { sandbox.leave() }
            try sandbox.step()
            return try evalInner(e, scope)
        } catch let error as TemplateError {
            throw error.at(e.pos)
        }
    }

    /// A dict key: Python hashes numbers, strings, bools and None (Jinja's dicts here are keyed by their `str`).
    func dictKey(_ key: TemplateValue) throws -> String {
        guard let k = PythonFormat.scalar(key) else { throw TemplateError(.type, "unhashable type: '\(key.typeName)'") }
        return k
    }

    /// A container built around existing values, checked against the nesting limit.
    func nested(_ value: TemplateValue) throws -> TemplateValue {
        try sandbox.checkNesting(value)
        return value
    }

    private func evalInner(_ e: Expr, _ scope: Scope) throws -> TemplateValue {
        switch e.kind {
        case .literal(let v): return v
        case .name(let n): return scope.lookup(n) ?? .undefined
        case .list(let items): return try nested(.array(try items.map { try eval($0, scope) }))
        case .tuple(let items): return try nested(.tuple(try items.map { try eval($0, scope) }))
        case .dict(let pairs):
            var o = TemplateObject()
            for (k, v) in pairs {
                let key = try dictKey(try eval(k, scope))
                o[key] = try eval(v, scope)
            }
            return try nested(.object(o))
        case .getattr(let base, let name):
            let b = try eval(base, scope)
            if b.isUndefined { throw undefinedError(base) }
            return attribute(b, name)
        case .getitem(let base, let indexExpr):
            let b = try eval(base, scope)
            if b.isUndefined { throw undefinedError(base) }
            if case .string = b { try sandbox.step(Operators.size(b)) }  // indexing text walks it
            return item(b, try eval(indexExpr, scope))
        case .slice(let base, let start, let stop, let step):
            let b = try eval(base, scope)
            if b.isUndefined { throw undefinedError(base) }
            try sandbox.step(Operators.size(b))
            return try slice(b, start.map { try eval($0, scope) }, stop.map { try eval($0, scope) },
                             step.map { try eval($0, scope) })
        case .call(let callee, let args):
            let f = try eval(callee, scope)
            if f.isUndefined { throw undefinedError(callee) }
            return try callValue(f, try evalArgs(args, scope), e.pos)
        case .filter(let operand, let name, let args):
            let value = try operand.map { try eval($0, scope) } ?? .undefined
            return try applyFilter(name, value, try evalArgs(args, scope), scope)
        case .test(let operand, let name, let args, let negated):
            let value = try eval(operand, scope)
            let result = try applyTest(name, value, try evalArgs(args, scope).positional)
            return .bool(result != negated)
        case .unary(let op, let operand):
            let v = try eval(operand, scope)
            switch op {
            case "not": return .bool(!v.truthy)
            case "-":
                if let negated = try Operators.negate(v) { return negated }
                if v.isUndefined { throw undefinedError(operand) }
                throw TemplateError(.type, "bad operand type for unary -: '\(v.typeName)'")
            default:
                if v.number == nil { throw TemplateError(.type, "bad operand type for unary +: '\(v.typeName)'") }
                return v
            }
        case .binary(let op, let l, let r):
            let a = try eval(l, scope)
            let b = try eval(r, scope)
            if op != "~" && op != "==" && op != "!=" && op != "in" && op != "not in" {
                if a.isUndefined { throw undefinedError(l) }
                if b.isUndefined { throw undefinedError(r) }
            }
            if op == "+", case .string(let x) = a, case .string(let y) = b, isMarkup(l) || isMarkup(r) {
                // markupsafe: `Markup + str` escapes the plain side (transformers' templates hit this with `|safe`).
                return .string(try sandbox.concat(isMarkup(l) ? x : PythonFormat.htmlEscape(x),
                                                  isMarkup(r) ? y : PythonFormat.htmlEscape(y)))
            }
            return try Operators.binary(op, a, b, sandbox)
        case .and(let l, let r):
            let a = try eval(l, scope)
            return a.truthy ? try eval(r, scope) : a
        case .or(let l, let r):
            let a = try eval(l, scope)
            return a.truthy ? a : try eval(r, scope)
        case .conditional(let cond, let then, let otherwise):
            if try eval(cond, scope).truthy { return try eval(then, scope) }
            return try otherwise.map { try eval($0, scope) } ?? .undefined
        }
    }

    /// Whether an expression yields a `Markup` string (from `safe`/`escape`, or `+` on one). Tracked statically:
    /// a markup value stored in a variable is treated as a plain string.
    func isMarkup(_ e: Expr) -> Bool {
        switch e.kind {
        case .filter(_, let name, _): return ["safe", "e", "escape", "forceescape"].contains(name)
        case .binary("+", let l, let r): return isMarkup(l) || isMarkup(r)
        default: return false
        }
    }

    /// Jinja's message for using an undefined value: names the variable or the missing attribute.
    func undefinedError(_ e: Expr) -> TemplateError {
        switch e.kind {
        case .name(let n): return TemplateError(.undefined, "'\(n)' is undefined")
        case .getattr(_, let n): return TemplateError(.undefined, "undefined value has no attribute '\(n)'")
        default: return TemplateError(.undefined, "value is undefined")
        }
    }

    func evalArgs(_ args: Arguments, _ scope: Scope) throws -> CallArgs {
        var result = CallArgs(positional: try args.positional.map { try eval($0, scope) },
                              keyword: try args.keyword.map { ($0.0, try eval($0.1, scope)) })
        if let star = args.starArgs { result.positional += try iterate(try eval(star, scope), star.pos) }
        if let star = args.starKwargs, case .object(let o) = try eval(star, scope) { result.keyword += o.pairs }
        return result
    }

    func callValue(_ f: TemplateValue, _ args: CallArgs, _ pos: SourcePos) throws -> TemplateValue {
        guard case .function(let fn) = f else {
            throw TemplateError(.type, "'\(f.typeName)' object is not callable").at(pos)
        }
        return try fn.body(args.positional, args.keyword)
    }

    /// `obj.name`: methods and dict keys (Jinja tries the attribute first, then the item).
    func attribute(_ value: TemplateValue, _ name: String) -> TemplateValue {
        switch value {
        case .object(let o):
            if let m = Methods.dictMethod(o, name, sandbox) { return .function(m) }
            return o[name] ?? .undefined
        case .namespace(let ns): return ns.attributes[name] ?? .undefined
        case .function(let f): return f.attributes?(name) ?? .undefined
        case .string(let s): return Methods.stringMethod(s, name, sandbox).map { .function($0) } ?? .undefined
        case .array(let a), .tuple(let a): return Methods.listMethod(a, name, sandbox).map { .function($0) } ?? .undefined
        default: return .undefined
        }
    }

    /// `obj[key]` with Python's negative indices; missing entries are undefined.
    func item(_ value: TemplateValue, _ key: TemplateValue) -> TemplateValue {
        switch (value, key) {
        case (.object(let o), .string(let k)): return o[k] ?? attribute(value, k)
        case (.object(let o), _): return PythonFormat.scalar(key).flatMap { o[$0] } ?? .undefined
        case (.array(let a), _), (.tuple(let a), _):
            guard let i = key.intValue else { return .undefined }
            let j = i < 0 ? a.count + i : i
            return a.indices.contains(j) ? a[j] : .undefined
        case (.string(let s), _):
            guard let i = key.intValue else { return .undefined }
            let scalars = Array(s.unicodeScalars)
            let j = i < 0 ? scalars.count + i : i
            return scalars.indices.contains(j) ? .string(String(scalars[j])) : .undefined
        case (_, .string(let k)): return attribute(value, k)
        default: return .undefined
        }
    }

    func slice(_ value: TemplateValue, _ start: TemplateValue?, _ stop: TemplateValue?, _ step: TemplateValue?) throws -> TemplateValue {
        func pick<T>(_ items: [T]) throws -> [T] {
            let n = items.count
            let st = step.flatMap { $0.isNone ? nil : $0.intValue } ?? 1
            if st == 0 { throw TemplateError(.type, "slice step cannot be zero") }
            func clamp(_ v: TemplateValue?, _ dflt: Int) -> Int {
                guard let v, let i = v.intValue else { return dflt }
                var j = i < 0 ? i + n : i
                if st > 0 { j = min(max(j, 0), n) } else { j = min(max(j, -1), n - 1) }
                return j
            }
            let lo = clamp(start, st > 0 ? 0 : n - 1)
            let hi = clamp(stop, st > 0 ? n : -1)
            var out: [T] = []
            var i = lo
            while st > 0 ? i < hi : i > hi {
                out.append(items[i])
                let (next, overflow) = i.addingReportingOverflow(st)  // a step near Int.max leaves the range
                if overflow { break }
                i = next
            }
            return out
        }
        switch value {
        case .array(let a): return .array(try pick(a))
        case .tuple(let a): return .tuple(try pick(a))
        case .string(let s):
            var view = String.UnicodeScalarView()
            view.append(contentsOf: try pick(Array(s.unicodeScalars)))
            return .string(String(view))
        default: return .undefined
        }
    }
}
