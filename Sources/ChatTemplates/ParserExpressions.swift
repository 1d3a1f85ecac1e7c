/// Expression grammar, following Jinja's `Parser.parse_*` methods.
extension Parser {
    /// An expression, or a tuple when commas follow (`a, b`).
    mutating func parseTuple(withCondExpr: Bool = true) throws -> Expr {
        let start = current.pos
        let first = withCondExpr ? try parseExpression() : try parseOr()
        guard isOp(",") else { return first }
        var items = [first]
        while skipOp(",") {
            if !canStartExpression { break }
            items.append(withCondExpr ? try parseExpression() : try parseOr())
        }
        return try makeExpr(.tuple(items), start)
    }

    private var canStartExpression: Bool {
        switch current.kind {
        case .name(let n): return !["in", "if", "else", "recursive"].contains(n)
        case .string, .int, .float: return true
        case .op(let o): return ["(", "[", "{", "-", "+"].contains(o)
        default: return false
        }
    }

    mutating func parseExpression() throws -> Expr {
        let start = current.pos
        var expr = try parseOr()
        while skipName("if") {
            let cond = try parseOr()
            var otherwise: Expr?
            if skipName("else") {
                try enterNesting()
                defer { nesting -= 1 }
                otherwise = try parseExpression()
            }
            expr = try makeExpr(.conditional(cond: cond, then: expr, else: otherwise), start)
        }
        return expr
    }

    private mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while isName("or") {
            let pos = current.pos
            i += 1
            left = try makeExpr(.or(left, try parseAnd()), pos)
        }
        return left
    }

    private mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while isName("and") {
            let pos = current.pos
            i += 1
            left = try makeExpr(.and(left, try parseNot()), pos)
        }
        return left
    }

    private mutating func parseNot() throws -> Expr {
        if isName("not") {
            let pos = current.pos
            i += 1
            try enterNesting()
            defer { nesting -= 1 }
            return try makeExpr(.unary("not", try parseNot()), pos)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expr {
        let start = current.pos
        var left = try parseMath1()
        var result: Expr?
        while true {
            var op: String
            if case .op(let o) = current.kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                op = o
                i += 1
            } else if isName("in") {
                op = "in"
                i += 1
            } else if isName("not"), next.kind == .name("in") {
                op = "not in"
                i += 2
            } else { break }
            let right = try parseMath1()
            let cmp = try makeExpr(.binary(op, left, right), start)
            // Chained comparisons (`a < b < c`) mean `a < b and b < c`.
            result = try result.map { try makeExpr(.and($0, cmp), start) } ?? cmp
            left = right
        }
        return result ?? left
    }

    private mutating func parseMath1() throws -> Expr {
        var left = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            let pos = current.pos
            i += 1
            left = try makeExpr(.binary(o, left, try parseConcat()), pos)
        }
        return left
    }

    private mutating func parseConcat() throws -> Expr {
        var left = try parseMath2()
        while isOp("~") {
            let pos = current.pos
            i += 1
            left = try makeExpr(.binary("~", left, try parseMath2()), pos)
        }
        return left
    }

    private mutating func parseMath2() throws -> Expr {
        var left = try parsePow()
        while case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o) {
            let pos = current.pos
            i += 1
            left = try makeExpr(.binary(o, left, try parsePow()), pos)
        }
        return left
    }

    private mutating func parsePow() throws -> Expr {
        var left = try parseUnary()
        while isOp("**") {
            let pos = current.pos
            i += 1
            left = try makeExpr(.binary("**", left, try parseUnary()), pos)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        let pos = current.pos
        var node: Expr
        if isOp("-") || isOp("+") {
            let op = isOp("-") ? "-" : "+"
            i += 1
            try enterNesting()
            defer { nesting -= 1 }
            node = try makeExpr(.unary(op, try parseUnary(withFilter: false)), pos)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    private mutating func parsePrimary() throws -> Expr {
        let t = current
        if case .op(let o) = t.kind, o == "(" || o == "[" || o == "{" {
            try enterNesting()
            defer { nesting -= 1 }
            return try parseBracket(t)
        }
        switch t.kind {
        case .name(let n):
            i += 1
            switch n {
            case "true", "True": return Expr(kind: .literal(.bool(true)), pos: t.pos)
            case "false", "False": return Expr(kind: .literal(.bool(false)), pos: t.pos)
            case "none", "None": return Expr(kind: .literal(.none), pos: t.pos)
            default: return Expr(kind: .name(n), pos: t.pos)
            }
        case .string(var s):
            i += 1
            while case .string(let more) = current.kind { s += more; i += 1 }  // adjacent literals concatenate
            return Expr(kind: .literal(.string(s)), pos: t.pos)
        case .int(let v): i += 1; return Expr(kind: .literal(.int(v)), pos: t.pos)
        case .float(let v): i += 1; return Expr(kind: .literal(.double(v)), pos: t.pos)
        default:
            throw fail("unexpected \(describeToken(t))")
        }
    }

    /// A parenthesised expression or tuple, a list or a dict literal, starting at `t`.
    private mutating func parseBracket(_ t: Token) throws -> Expr {
        switch t.kind {
        case .op("("):
            i += 1
            if skipOp(")") { return Expr(kind: .tuple([]), pos: t.pos) }
            let e = try parseTuple()
            try expectOp(")")
            return e
        case .op("["):
            i += 1
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(","); if isOp("]") { break } }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return try makeExpr(.list(items), t.pos)
        case .op("{"):
            i += 1
            var pairs: [(Expr, Expr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(","); if isOp("}") { break } }
                let k = try parseExpression()
                try expectOp(":")
                pairs.append((k, try parseExpression()))
            }
            try expectOp("}")
            return try makeExpr(.dict(pairs), t.pos)
        default:
            throw fail("unexpected \(describeToken(t))")
        }
    }

    private func describeToken(_ t: Token) -> String {
        switch t.kind {
        case .varEnd: return "'end of print statement'"
        case .blockEnd: return "'end of statement block'"
        case .eof: return "end of template"
        case .op(let o): return "'\(o)'"
        case .name(let n): return "'\(n)'"
        default: return "token"
        }
    }

    private mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            let pos = current.pos
            if skipOp(".") {
                switch current.kind {
                case .name(let n): i += 1; node = try makeExpr(.getattr(node, n), pos)
                case .int(let v): i += 1; node = try makeExpr(.getitem(node, Expr(kind: .literal(.int(v)), pos: pos)), pos)
                default: throw fail("expected name or number")
                }
            } else if skipOp("[") {
                node = try parseSubscript(node, pos)
            } else if isOp("(") {
                node = try makeExpr(.call(node, try parseCallArgs()), node.pos)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ node: Expr, _ pos: SourcePos) throws -> Expr {
        try enterNesting()
        defer { nesting -= 1 }
        var parts: [Expr?] = [nil]
        var colons = 0
        while !isOp("]") {
            if skipOp(":") {
                colons += 1
                parts.append(nil)
                if colons > 2 { throw fail("invalid slice") }
            } else {
                parts[parts.count - 1] = try parseExpression()
            }
        }
        try expectOp("]")
        if colons == 0 {
            guard let index = parts[0] else { throw fail("expected subscript") }
            return try makeExpr(.getitem(node, index), pos)
        }
        return try makeExpr(.slice(node, start: parts[0], stop: parts[1], step: parts.count > 2 ? parts[2] : nil), pos)
    }

    mutating func parseCallArgs() throws -> Arguments {
        try enterNesting()
        defer { nesting -= 1 }
        try expectOp("(")
        var args = Arguments()
        var first = true
        while !isOp(")") {
            if !first { try expectOp(","); if isOp(")") { break } }
            first = false
            if skipOp("**") {
                args.starKwargs = try parseExpression()
            } else if skipOp("*") {
                args.starArgs = try parseExpression()
            } else if case .name(let n) = current.kind, next.kind == .op("=") {
                i += 2
                args.keyword.append((n, try parseExpression()))
            } else {
                args.positional.append(try parseExpression())
            }
        }
        try expectOp(")")
        return args
    }

    /// `name` or `name(args)` after a `|`.
    mutating func parseFilterCall(_ operand: Expr?) throws -> Expr {
        let pos = current.pos
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        let args = isOp("(") ? try parseCallArgs() : Arguments()
        return try makeExpr(.filter(operand, name: name, args), pos)
    }

    private mutating func parseFilterExpr(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if skipOp("|") {
                node = try parseFilterCall(node)
            } else if isName("is") {
                let pos = current.pos
                i += 1
                let negated = skipName("not")
                let name = try expectName()
                var args = Arguments()
                if isOp("(") {
                    args = try parseCallArgs()
                } else if startsTestArgument {
                    var arg = try parsePrimary()
                    arg = try parsePostfix(arg)
                    args.positional = [arg]
                }
                node = try makeExpr(.test(node, name: name, args, negated: negated), pos)
            } else if isOp("(") {
                node = try makeExpr(.call(node, try parseCallArgs()), node.pos)
            } else {
                return node
            }
        }
    }

    /// Jinja allows one bare argument after a test name (`is divisibleby 3`, `is sameas none`).
    private var startsTestArgument: Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and", "is", "if", "in", "not", "recursive"].contains(n)
        case .string, .int, .float: return true
        case .op(let o): return o == "[" || o == "{"
        default: return false
        }
    }
}
