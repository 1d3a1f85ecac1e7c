/// An expression node with its source position (for error messages).
struct Expr {
    indirect enum Kind {
        case literal(TemplateValue)
        case name(String)
        case list([Expr])
        case tuple([Expr])
        case dict([(Expr, Expr)])
        case getattr(Expr, String)
        case getitem(Expr, Expr)
        case slice(Expr, start: Expr?, stop: Expr?, step: Expr?)
        case call(Expr, Arguments)
        case filter(Expr?, name: String, Arguments)  // nil operand: a `{% filter %}` block applies it
        case test(Expr, name: String, Arguments, negated: Bool)
        case unary(String, Expr)  // "-", "+", "not"
        case binary(String, Expr, Expr)  // arithmetic, comparison, "in", "not in", "~"
        case and(Expr, Expr)
        case or(Expr, Expr)
        case conditional(cond: Expr, then: Expr, else: Expr?)
    }

    let kind: Kind
    let pos: SourcePos
    /// Levels of expressions below and including this one (a literal is 1); the parser bounds it so that
    /// evaluating or freeing the tree never recurses deeper than `TemplateLimits.maxNesting`.
    let depth: Int

    init(kind: Kind, pos: SourcePos) {
        self.kind = kind
        self.pos = pos
        depth = 1 + Expr.childDepth(kind)
    }

    private static func childDepth(_ kind: Kind) -> Int {
        func deepest(_ es: [Expr?]) -> Int { es.reduce(0) { max($0, $1?.depth ?? 0) } }
        func deepest(_ a: Arguments) -> Int {
            max(deepest(a.positional), deepest(a.keyword.map(\.1)), deepest([a.starArgs, a.starKwargs]))
        }
        switch kind {
        case .literal, .name: return 0
        case .list(let items), .tuple(let items): return deepest(items)
        case .dict(let pairs): return max(deepest(pairs.map(\.0)), deepest(pairs.map(\.1)))
        case .getattr(let b, _): return b.depth
        case .getitem(let b, let i): return max(b.depth, i.depth)
        case .slice(let b, let start, let stop, let step): return deepest([b, start, stop, step])
        case .call(let f, let args): return max(f.depth, deepest(args))
        case .filter(let operand, _, let args): return max(operand?.depth ?? 0, deepest(args))
        case .test(let operand, _, let args, _): return max(operand.depth, deepest(args))
        case .unary(_, let x): return x.depth
        case .binary(_, let a, let b), .and(let a, let b), .or(let a, let b): return max(a.depth, b.depth)
        case .conditional(let c, let t, let e): return deepest([c, t, e])
        }
    }
}

/// Call arguments: positional, keyword, and the rarely used `*args` / `**kwargs`.
struct Arguments {
    var positional: [Expr] = []
    var keyword: [(String, Expr)] = []
    var starArgs: Expr?
    var starKwargs: Expr?
}

/// Where a `set` or `for` stores values.
indirect enum AssignTarget {
    case name(String)
    case attribute(String, String)  // `ns.attr`
    case tuple([AssignTarget])
}

/// A macro's parameter list and body.
struct MacroDef {
    let name: String
    let params: [(String, Expr?)]
    let body: [Stmt]
}

/// A statement node.
indirect enum Stmt {
    case text(String)
    case output(Expr)
    case ifChain([(Expr, [Stmt])], otherwise: [Stmt])
    case forLoop(ForLoop)
    case set(AssignTarget, Expr, SourcePos)
    case setBlock(AssignTarget, filters: [Expr], body: [Stmt], SourcePos)
    case macro(MacroDef)
    case callBlock(call: Expr, params: [(String, Expr?)], body: [Stmt])
    case filterBlock(filters: [Expr], body: [Stmt])
    case with(assignments: [(AssignTarget, Expr)], body: [Stmt])
    case breakLoop(SourcePos)
    case continueLoop(SourcePos)
}

struct ForLoop {
    let target: AssignTarget
    let iterable: Expr
    let condition: Expr?
    let recursive: Bool
    let body: [Stmt]
    let otherwise: [Stmt]
    let pos: SourcePos
}
