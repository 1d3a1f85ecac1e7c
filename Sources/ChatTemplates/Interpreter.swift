import Foundation

/// A variable scope. Jinja gives each `for` iteration, macro call and `with` block its own;
/// `if` blocks share their parent's. Reference type so macros see later assignments in their defining scope.
final class Scope {
    var vars: [String: TemplateValue] = [:]
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

/// Executes a parsed template. One instance per render.
final class Interpreter {
    let now: Date
    /// Nesting of macro calls and recursive loops; bounded so a runaway template throws instead of overflowing the stack.
    private var depth = 0
    private let maxDepth = 400

    init(now: Date) { self.now = now }

    private func enter() throws {
        depth += 1
        if depth > maxDepth { throw TemplateError(.type, "maximum recursion depth exceeded") }
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
        switch stmt {
        case .text(let s):
            out += s
        case .output(let e):
            out += PythonFormat.str(try eval(e, scope))
        case .ifChain(let branches, let otherwise):
            for (cond, body) in branches {
                if try eval(cond, scope).truthy { return try exec(body, scope, &out) }
            }
            return try exec(otherwise, scope, &out)
        case .forLoop(let loop):
            let iterable = try eval(loop.iterable, scope)
            out += try runLoop(loop, iterable: iterable, scope: scope, depth: 1)
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
            out += PythonFormat.str(try callValue(try eval(callee, scope), evaluated, call.pos))
        case .filterBlock(let filters, let body):
            var text = ""
            _ = try exec(body, scope, &text)
            var value = TemplateValue.string(text)
            for f in filters { value = try applyFilterExpr(f, to: value, scope) }
            out += PythonFormat.str(value)
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

    /// Python iteration: strings by character, dicts by key, undefined as empty.
    func iterate(_ value: TemplateValue, _ pos: SourcePos) throws -> [TemplateValue] {
        switch value {
        case .undefined: return []
        case .array(let a), .tuple(let a): return a
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .object(let o): return o.keys.map { .string($0) }
        default: throw TemplateError(.type, "'\(value.typeName)' object is not iterable").at(pos)
        }
    }

    private func runLoop(_ loop: ForLoop, iterable: TemplateValue, scope: Scope, depth: Int) throws -> String {
        var items = try iterate(iterable, loop.iterable.pos)
        if let cond = loop.condition {
            // The inline `if` filters before the loop starts, so `loop.length` counts only kept items.
            items = try items.filter { item in
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
        let n = items.count
        for (idx, item) in items.enumerated() {
            let s = Scope(parent: scope)
            try assign(loop.target, item, s, loop.pos)
            let attrs: [String: TemplateValue] = [
                "index": .int(idx + 1), "index0": .int(idx), "revindex": .int(n - idx), "revindex0": .int(n - idx - 1),
                "first": .bool(idx == 0), "last": .bool(idx == n - 1), "length": .int(n),
                "depth": .int(depth), "depth0": .int(depth - 1),
                "previtem": idx > 0 ? items[idx - 1] : .undefined,
                "nextitem": idx + 1 < n ? items[idx + 1] : .undefined,
                "cycle": .function(TemplateFunction("cycle") { args, _ in
                    guard !args.isEmpty else { throw TemplateError(.type, "no items for cycling given") }
                    return args[idx % args.count]
                }),
            ]
            // `loop(xs)` recurses in a `recursive` loop.
            let loopValue = TemplateFunction("loop", attributes: attrs) { [unowned self] args, _ in
                guard loop.recursive else { throw TemplateError(.type, "Tried to call non recursive loop.") }
                try self.enter()
                defer { self.depth -= 1 }
                return .string(try self.runLoop(loop, iterable: args.first ?? .undefined, scope: scope, depth: depth + 1))
            }
            s.vars["loop"] = .function(loopValue)
            let flow = try exec(loop.body, s, &out)
            if flow == .breakLoop { break }
        }
        return out
    }

    /// Wraps a macro definition as a callable closing over its defining scope.
    func makeMacro(_ def: MacroDef, _ scope: Scope) -> TemplateFunction {
        TemplateFunction(def.name) { [unowned self] args, kwargs in
            try self.enter()
            defer { self.depth -= 1 }
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
            s.vars["varargs"] = .tuple(Array(args.dropFirst(def.params.count)))
            s.vars["kwargs"] = .object(TemplateObject(remaining))
            var out = ""
            _ = try self.exec(def.body, s, &out)
            return .string(out)
        }
    }
}
