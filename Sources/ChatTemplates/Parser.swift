/// Builds statements from tokens with Jinja's grammar and operator precedence
/// (`or` < `and` < `not` < comparisons < `+ -` < `~` < `* / // %` < `**` < unary < filters/tests < postfix).
struct Parser {
    let tokens: [Token]
    var i = 0
    /// Current depth of nested blocks, brackets, arguments and unary operators, bounded by `maxNesting` so that
    /// parsing (and later evaluating) a hostile template cannot overflow the stack.
    var nesting = 0
    let maxNesting: Int

    init(_ tokens: [Token], maxNesting: Int = TemplateLimits.default.maxNesting) {
        self.tokens = tokens
        self.maxNesting = maxNesting
    }

    /// Enters one level of nesting; balance with `nesting -= 1`.
    mutating func enterNesting() throws {
        nesting += 1
        if nesting > maxNesting { throw nestingError(current.pos) }
    }

    func nestingError(_ pos: SourcePos) -> TemplateError {
        TemplateError(.limit, "template nesting exceeds the sandbox limit of \(maxNesting) levels", line: pos.line, column: pos.column)
    }

    /// An expression node whose depth is within the limit (chains such as `a + b + c` deepen the tree without
    /// nesting brackets).
    func makeExpr(_ kind: Expr.Kind, _ pos: SourcePos) throws -> Expr {
        let e = Expr(kind: kind, pos: pos)
        if e.depth > maxNesting { throw nestingError(pos) }
        return e
    }

    var current: Token { tokens[min(i, tokens.count - 1)] }
    var next: Token { tokens[min(i + 1, tokens.count - 1)] }

    func fail(_ message: String, _ token: Token? = nil) -> TemplateError {
        let t = token ?? current
        return TemplateError(.syntax, message, line: t.pos.line, column: t.pos.column)
    }

    func isOp(_ op: String) -> Bool { current.kind == .op(op) }
    func isName(_ name: String) -> Bool { current.kind == .name(name) }

    mutating func skipOp(_ op: String) -> Bool {
        if isOp(op) { i += 1; return true }
        return false
    }

    mutating func skipName(_ name: String) -> Bool {
        if isName(name) { i += 1; return true }
        return false
    }

    mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw fail("expected '\(op)', got \(describe(current))") }
    }

    mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else { throw fail("expected name, got \(describe(current))") }
        i += 1
        return n
    }

    mutating func expectBlockEnd() throws {
        guard current.kind == .blockEnd else { throw fail("expected end of statement block, got \(describe(current))") }
        i += 1
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .name(let n): return "'\(n)'"
        case .op(let o): return "'\(o)'"
        case .varEnd: return "'end of print statement'"
        case .blockEnd: return "'end of statement block'"
        case .eof: return "'end of template'"
        default: return "token"
        }
    }

    // MARK: Statements

    /// Parses the whole template.
    mutating func parseTemplate() throws -> [Stmt] {
        let (body, end) = try parseBody(until: [])
        if end != nil { throw fail("unexpected end tag") }
        return body
    }

    /// Parses statements until a block tag whose name is in `until` (left unconsumed after `{% name`) or eof.
    mutating func parseBody(until: Set<String>) throws -> ([Stmt], String?) {
        try enterNesting()
        defer { nesting -= 1 }
        var body: [Stmt] = []
        while true {
            let t = current
            switch t.kind {
            case .eof:
                if !until.isEmpty {
                    let wanted = until.sorted().map { "'\($0)'" }.joined(separator: " or ")
                    throw fail("Unexpected end of template. Jinja was looking for the following tags: \(wanted).")
                }
                return (body, nil)
            case .text(let s):
                body.append(.text(s))
                i += 1
            case .varBegin:
                i += 1
                let e = try parseTuple()
                guard current.kind == .varEnd else { throw fail("unexpected \(describe(current))") }
                i += 1
                body.append(.output(e))
            case .blockBegin:
                guard case .name(let tag) = next.kind else { throw fail("tag name expected", next) }
                if until.contains(tag) { i += 1; return (body, tag) }
                i += 1
                body.append(try parseStatement())
            default:
                throw fail("unexpected token")
            }
        }
    }

    mutating func parseStatement() throws -> Stmt {
        let tagToken = current
        let tag = try expectName()
        switch tag {
        case "if": return try parseIf()
        case "for": return try parseFor(tagToken.pos)
        case "set": return try parseSet(tagToken.pos)
        case "macro": return try parseMacro()
        case "call": return try parseCallBlock()
        case "filter": return try parseFilterBlock()
        case "with": return try parseWith()
        case "generation":
            // transformers' AssistantTracker: render the body as is.
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            try closeTag()
            return .ifChain([(Expr(kind: .literal(.bool(true)), pos: tagToken.pos), body)], otherwise: [])
        case "break": try expectBlockEnd(); return .breakLoop(tagToken.pos)
        case "continue": try expectBlockEnd(); return .continueLoop(tagToken.pos)
        default: throw fail("Encountered unknown tag '\(tag)'.", tagToken)
        }
    }

    /// Consumes `endxxx %}` after `parseBody` stopped at it.
    mutating func closeTag() throws {
        i += 1
        try expectBlockEnd()
    }

    mutating func parseIf() throws -> Stmt {
        var branches: [(Expr, [Stmt])] = []
        var cond = try parseTuple()
        while true {
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((cond, body))
            i += 1  // the tag name
            switch end {
            case "elif": cond = try parseTuple()
            case "else":
                try expectBlockEnd()
                let (otherwise, _) = try parseBody(until: ["endif"])
                try closeTag()
                return .ifChain(branches, otherwise: otherwise)
            default:
                try expectBlockEnd()
                return .ifChain(branches, otherwise: [])
            }
        }
    }

    mutating func parseAssignTarget(allowAttribute: Bool) throws -> AssignTarget {
        var items: [AssignTarget] = []
        repeat {
            if skipOp("(") {
                try enterNesting()
                defer { nesting -= 1 }
                items.append(try parseAssignTarget(allowAttribute: false))
                try expectOp(")")
            } else {
                let n = try expectName()
                if allowAttribute && skipOp(".") {
                    items.append(.attribute(n, try expectName()))
                } else {
                    items.append(.name(n))
                }
            }
        } while skipOp(",")
        return items.count == 1 ? items[0] : .tuple(items)
    }

    mutating func parseFor(_ pos: SourcePos) throws -> Stmt {
        let target = try parseAssignTarget(allowAttribute: false)
        guard skipName("in") else { throw fail("expected 'in'") }
        let iterable = try parseTuple(withCondExpr: false)
        var condition: Expr?
        if skipName("if") { condition = try parseExpression() }
        let recursive = skipName("recursive")
        try expectBlockEnd()
        let (body, end) = try parseBody(until: ["endfor", "else"])
        var otherwise: [Stmt] = []
        if end == "else" {
            try closeTag()
            (otherwise, _) = try parseBody(until: ["endfor"])
        }
        try closeTag()
        return .forLoop(ForLoop(target: target, iterable: iterable, condition: condition, recursive: recursive,
                                body: body, otherwise: otherwise, pos: pos))
    }

    mutating func parseSet(_ pos: SourcePos) throws -> Stmt {
        let target = try parseAssignTarget(allowAttribute: true)
        if skipOp("=") {
            let value = try parseTuple()
            try expectBlockEnd()
            return .set(target, value, pos)
        }
        var filters: [Expr] = []
        while skipOp("|") { filters.append(try parseFilterCall(nil)) }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endset"])
        try closeTag()
        return .setBlock(target, filters: filters, body: body, pos)
    }

    mutating func parseParams() throws -> [(String, Expr?)] {
        var params: [(String, Expr?)] = []
        try expectOp("(")
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            let n = try expectName()
            params.append((n, skipOp("=") ? try parseExpression() : nil))
        }
        try expectOp(")")
        return params
    }

    mutating func parseMacro() throws -> Stmt {
        let name = try expectName()
        let params = try parseParams()
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endmacro"])
        try closeTag()
        return .macro(MacroDef(name: name, params: params, body: body))
    }

    mutating func parseCallBlock() throws -> Stmt {
        let params = isOp("(") ? try parseParams() : []
        let call = try parseExpression()
        guard case .call = call.kind else { throw fail("expected call", current) }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endcall"])
        try closeTag()
        return .callBlock(call: call, params: params, body: body)
    }

    mutating func parseFilterBlock() throws -> Stmt {
        var filters = [try parseFilterCall(nil)]
        while skipOp("|") { filters.append(try parseFilterCall(nil)) }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endfilter"])
        try closeTag()
        return .filterBlock(filters: filters, body: body)
    }

    mutating func parseWith() throws -> Stmt {
        var assignments: [(AssignTarget, Expr)] = []
        while current.kind != .blockEnd {
            if !assignments.isEmpty { try expectOp(",") }
            let target = try parseAssignTarget(allowAttribute: false)
            try expectOp("=")
            assignments.append((target, try parseExpression()))
        }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endwith"])
        try closeTag()
        return .with(assignments: assignments, body: body)
    }
}
