import Foundation

/// A variable scope. Jinja gives each `for` iteration, macro call and `with` block its own;
/// `if` blocks share their parent's. Reference type so macros see later assignments in their defining scope.
final class Scope {
    var vars = VarTable()
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> TemplateValue? {
        var s: Scope? = self
        while let cur = s {
            if let v = cur.vars[name] { return v }
            s = cur.parent
        }
        return nil
    }
}

/// A scope's variables: a short list searched in order (scopes hold a handful of names, and comparing a few short
/// names costs less than hashing one), indexed by a dictionary once it holds more than 16.
struct VarTable {
    private var entries: [(name: String, value: TemplateValue)] = []
    private var index: [String: Int]?

    init() {}

    init(_ variables: [String: TemplateValue]) {
        for (k, v) in variables { self[k] = v }
    }

    private func position(_ name: String) -> Int? {
        if let index { return index[name] }
        return entries.firstIndex { $0.name == name }
    }

    private mutating func reindex() {
        index = entries.count > 16 ? Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) }) : nil
    }

    subscript(name: String) -> TemplateValue? {
        get { position(name).map { entries[$0].value } }
        set {
            if let i = position(name) {
                if let newValue { entries[i].value = newValue; return }
                entries.remove(at: i)
                reindex()
            } else if let newValue {
                if entries.isEmpty { entries.reserveCapacity(4) }  // a loop iteration binds its variable and `loop`
                entries.append((name, newValue))
                if index != nil { index?[name] = entries.count - 1 } else if entries.count > 16 { reindex() }
            }
        }
    }
}

/// How a statement list finished: normally, or through `{% break %}` / `{% continue %}`.
enum Flow { case normal, breakLoop, continueLoop }

/// Call arguments after evaluation.
struct CallArgs {
    var positional: [TemplateValue]
    var keyword: [(String, TemplateValue)]

    func value(_ index: Int, _ name: String) -> TemplateValue? {
        if let kw = keyword.first(where: { $0.0 == name }) { return kw.1 }
        return index < positional.count ? positional[index] : nil
    }
}

/// Executes a parsed template. One instance per render; its sandbox counts the steps and depth of that render.
final class Interpreter {
    let now: Date
    let sandbox: Sandbox

    init(now: Date, sandbox: Sandbox) {
        self.now = now
        self.sandbox = sandbox
    }

    func render(_ body: [Stmt], globals: Scope) throws -> String {
        var out = ""
        _ = try exec(body, Scope(parent: globals), &out)
        return out
    }

    func exec(_ stmts: [Stmt], _ scope: Scope, _ out: inout String) throws -> Flow {
        for stmt in stmts {
            let flow = try exec(stmt, scope, &out)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func exec(_ stmt: Stmt, _ scope: Scope, _ out: inout String) throws -> Flow {
        try sandbox.enter()
        defer { sandbox.leave() }
        do {
            try sandbox.step()
            return try execInner(stmt, scope, &out)
        } catch let error as TemplateError {
            // Errors outside any expression (a loop's steps, the output's size) point at their statement.
            guard let pos = Interpreter.position(of: stmt) else { throw error }
            throw error.at(pos)
        }
    }

    private static func position(of stmt: Stmt) -> SourcePos? {
        switch stmt {
        case .output(let e): return e.pos
        case .forLoop(let loop): return loop.pos
        case .set(_, _, let pos), .setBlock(_, _, _, let pos): return pos
        case .callBlock(let call, _, _): return call.pos
        case .filterBlock(let filters, _): return filters.first?.pos
        case .ifChain(let branches, _): return branches.first?.0.pos
        case .with(let assignments, _): return assignments.first?.1.pos
        case .text, .macro, .breakLoop, .continueLoop: return nil
        }
    }

    private func execInner(_ stmt: Stmt, _ scope: Scope, _ out: inout String) throws -> Flow {
        switch stmt {
        case .text(let s):
            try sandbox.append(s, to: &out)
        case .output(let e):
            try sandbox.append(try sandbox.str(try eval(e, scope)), to: &out)
        case .ifChain(let branches, let otherwise):
            for (cond, body) in branches {
                if try eval(cond, scope).truthy { return try exec(body, scope, &out) }
            }
            return try exec(otherwise, scope, &out)
        case .forLoop(let loop):
            let iterable = try eval(loop.iterable, scope)
            try sandbox.append(try runLoop(loop, iterable: iterable, scope: scope, depth: 1), to: &out)
        case .set(let target, let e, let pos):
            try assign(target, try eval(e, scope), scope, pos)
        case .setBlock(let target, let filters, let body, let pos):
            var text = ""
            _ = try exec(body, scope, &text)
            var value = TemplateValue.string(text)
            for f in filters { value = try applyFilterExpr(f, to: value, scope) }
            try assign(target, value, scope, pos)
        case .macro(let def):
            scope.vars[def.name] = .function(makeMacro(def, scope))
        case .callBlock(let call, let params, let body):
            guard case .call(let callee, let args) = call.kind else { return .normal }
            let caller = makeMacro(MacroDef(name: "caller", params: params, body: body), scope)
            var evaluated = try evalArgs(args, scope)
            evaluated.keyword.append(("caller", .function(caller)))
            try sandbox.append(try sandbox.str(try callValue(try eval(callee, scope), evaluated, call.pos)), to: &out)
        case .filterBlock(let filters, let body):
            var text = ""
            _ = try exec(body, scope, &text)
            var value = TemplateValue.string(text)
            for f in filters { value = try applyFilterExpr(f, to: value, scope) }
            try sandbox.append(try sandbox.str(value), to: &out)
        case .with(let assignments, let body):
            let inner = Scope(parent: scope)
            for (target, e) in assignments { try assign(target, try eval(e, scope), inner, e.pos) }
            return try exec(body, inner, &out)
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        }
        return .normal
    }

    func assign(_ target: AssignTarget, _ value: TemplateValue, _ scope: Scope, _ pos: SourcePos) throws {
        switch target {
        case .name(let n):
            scope.vars[n] = value
        case .attribute(let n, let attr):
            guard case .namespace(let ns) = scope.lookup(n) ?? .undefined else {
                throw TemplateError(.type, "cannot assign attribute on non-namespace object").at(pos)
            }
            if attr.hasPrefix("_") {
                throw TemplateError(.security, "Chat templates cannot store underscore-prefixed attributes on a namespace").at(pos)
            }
            do { try sandbox.checkAssignment(value, to: ns) } catch let e as TemplateError { throw e.at(pos) }
            ns.attributes[attr] = value
        case .tuple(let targets):
            let items = try iterate(value, pos)
            guard items.count == targets.count else {
                let msg = items.count > targets.count ? "too many values to unpack (expected \(targets.count))"
                    : "not enough values to unpack (expected \(targets.count), got \(items.count))"
                throw TemplateError(.type, msg).at(pos)
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope, pos) }
        }
    }

    /// Python iteration: strings by character, dicts by key, undefined as empty. Counts a step per element.
    func iterate(_ value: TemplateValue, _ pos: SourcePos) throws -> [TemplateValue] {
        switch value {
        case .undefined: return []
        case .array(let a), .tuple(let a):
            try sandbox.step(a.count)
            return a
        case .string(let s):
            try sandbox.checkList(count: s.utf8.count > sandbox.limits.maxListCount ? s.unicodeScalars.count : 0)
            try sandbox.step(s.utf8.count)
            return s.unicodeScalars.map { .string(String($0)) }
        case .object(let o):
            try sandbox.step(o.count)
            return o.keys.map { .string($0) }
        default: throw TemplateError(.type, "'\(value.typeName)' object is not iterable").at(pos)
        }
    }

    private func runLoop(_ loop: ForLoop, iterable: TemplateValue, scope: Scope, depth: Int) throws -> String {
        var items = try iterate(iterable, loop.iterable.pos)
        if let cond = loop.condition {
            // The inline `if` filters before the loop starts, so `loop.length` counts only kept items.
            items = try items.filter { item in
                try sandbox.step()
                let s = Scope(parent: scope)
                try assign(loop.target, item, s, loop.pos)
                return try eval(cond, s).truthy
            }
        }
        var out = ""
        if items.isEmpty {
            _ = try exec(loop.otherwise, scope, &out)
            return out
        }
        // One `loop` object per loop, advanced each iteration (like jinja2's LoopContext).
        let state = LoopState(items: items, depth: depth)
        let loopValue = TemplateValue.function(TemplateFunction("loop", attributes: state.attribute) { [unowned self] args, _ in
            // `loop(xs)` recurses in a `recursive` loop.
            guard loop.recursive else { throw TemplateError(.type, "Tried to call non recursive loop.") }
            return .string(try self.runLoop(loop, iterable: args.first ?? .undefined, scope: scope, depth: depth + 1))
        })
        for (idx, item) in items.enumerated() {
            try sandbox.step(Sandbox.iterationSteps)
            state.index = idx
            let s = Scope(parent: scope)
            try assign(loop.target, item, s, loop.pos)
            s.vars["loop"] = loopValue
            let flow = try exec(loop.body, s, &out)
            if flow == .breakLoop { break }
        }
        return out
    }

    /// Wraps a macro definition as a callable closing over its defining scope.
    func makeMacro(_ def: MacroDef, _ scope: Scope) -> TemplateFunction {
        TemplateFunction(def.name) { [unowned self] args, kwargs in
            try self.sandbox.step()
            let s = Scope(parent: scope)
            var remaining = kwargs
            for (i, (name, defaultExpr)) in def.params.enumerated() {
                if let k = remaining.firstIndex(where: { $0.0 == name }) {
                    s.vars[name] = remaining[k].1
                    remaining.remove(at: k)
                } else if i < args.count {
                    s.vars[name] = args[i]
                } else if let d = defaultExpr {
                    s.vars[name] = try self.eval(d, s)
                } else {
                    s.vars[name] = .undefined
                }
            }
            if let k = remaining.firstIndex(where: { $0.0 == "caller" }) {
                s.vars["caller"] = remaining[k].1
                remaining.remove(at: k)
            }
            let varargs = TemplateValue.tuple(Array(args.dropFirst(def.params.count)))
            let kwargsValue = TemplateValue.object(TemplateObject(remaining))
            // Packing arguments nests them one level deeper (a macro passing `varargs` on would deepen without end).
            if args.count > def.params.count { try self.sandbox.checkNesting(varargs) }
            if !remaining.isEmpty { try self.sandbox.checkNesting(kwargsValue) }
            s.vars["varargs"] = varargs
            s.vars["kwargs"] = kwargsValue
            var out = ""
            _ = try self.exec(def.body, s, &out)
            return .string(out)
        }
    }
}

/// The state behind Jinja's `loop` variable: the items and the current position.
final class LoopState {
    let items: [TemplateValue]
    let depth: Int
    var index = 0

    init(items: [TemplateValue], depth: Int) {
        self.items = items
        self.depth = depth
    }

    /// `loop.index`, `loop.first`, `loop.cycle`… for the current item.
    func attribute(_ name: String) -> TemplateValue? {
        let n = items.count, idx = index
        switch name {
        case "index": return .int(idx + 1)
        case "index0": return .int(idx)
        case "revindex": return .int(n - idx)
        case "revindex0": return .int(n - idx - 1)
        case "first": return .bool(idx == 0)
        case "last": return .bool(idx == n - 1)
        case "length": return .int(n)
        case "depth": return .int(depth)
        case "depth0": return .int(depth - 1)
        case "previtem": return idx > 0 ? items[idx - 1] : .undefined
        case "nextitem": return idx + 1 < n ? items[idx + 1] : .undefined
        case "cycle":
            return .function(TemplateFunction("cycle") { args, _ in
                guard !args.isEmpty else { throw TemplateError(.type, "no items for cycling given") }
                return args[idx % args.count]
            })
        default: return nil
        }
    }
}
