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
