/// Compile-time checks Jinja makes while parsing: unknown filters and tests are syntax errors
/// even in branches that never run, and `break`/`continue` must sit inside a loop.
enum Validator {
    static func check(_ body: [Stmt], inLoop: Bool = false) throws {
        for stmt in body { try check(stmt, inLoop: inLoop) }
    }

    private static func check(_ stmt: Stmt, inLoop: Bool) throws {
        switch stmt {
        case .text: break
        case .output(let e): try check(e)
        case .ifChain(let branches, let otherwise):
            for (c, b) in branches { try check(c); try check(b, inLoop: inLoop) }
            try check(otherwise, inLoop: inLoop)
        case .forLoop(let l):
            try check(l.iterable)
            if let c = l.condition { try check(c) }
            try check(l.body, inLoop: true)
            try check(l.otherwise, inLoop: inLoop)
        case .set(_, let e, _): try check(e)
        case .setBlock(_, let filters, let body, _): try filters.forEach(check); try check(body, inLoop: inLoop)
        case .macro(let m): try m.params.compactMap { $0.1 }.forEach(check); try check(m.body)
        case .callBlock(let call, let params, let body):
            try check(call); try params.compactMap { $0.1 }.forEach(check); try check(body)
        case .filterBlock(let filters, let body): try filters.forEach(check); try check(body, inLoop: inLoop)
        case .with(let assignments, let body): try assignments.forEach { try check($0.1) }; try check(body, inLoop: inLoop)
        case .breakLoop(let pos), .continueLoop(let pos):
            if !inLoop { throw TemplateError(.syntax, "'break'/'continue' outside loop").at(pos) }
        }
    }

    private static func check(_ args: Arguments) throws {
        try args.positional.forEach(check)
        try args.keyword.forEach { try check($0.1) }
        if let s = args.starArgs { try check(s) }
        if let s = args.starKwargs { try check(s) }
    }

    private static func check(_ e: Expr) throws {
        switch e.kind {
        case .literal, .name: break
        case .list(let items), .tuple(let items): try items.forEach(check)
        case .dict(let pairs): try pairs.forEach { try check($0.0); try check($0.1) }
        case .getattr(let b, _): try check(b)
        case .getitem(let b, let i): try check(b); try check(i)
        case .slice(let b, let s, let t, let u): try [b, s, t, u].compactMap { $0 }.forEach(check)
        case .call(let f, let args): try check(f); try check(args)
        case .filter(let operand, let name, let args):
            if !Filters.names.contains(name) { throw TemplateError(.syntax, "No filter named '\(name)'.").at(e.pos) }
            if let operand { try check(operand) }
            try check(args)
        case .test(let operand, let name, let args, _):
            if !Tests.names.contains(name) { throw TemplateError(.syntax, "No test named '\(name)'.").at(e.pos) }
            try check(operand); try check(args)
        case .unary(_, let x): try check(x)
        case .binary(_, let a, let b), .and(let a, let b), .or(let a, let b): try check(a); try check(b)
        case .conditional(let c, let t, let o): try check(c); try check(t); if let o { try check(o) }
        }
    }
}
