/// Jinja's tests (`x is defined`, `x is divisibleby 3`…).
enum Tests {
    static let names: Set<String> = [
        "defined", "undefined", "none", "string", "mapping", "iterable", "sequence", "number", "integer", "float",
        "boolean", "true", "false", "callable", "even", "odd", "divisibleby", "eq", "equalto", "==", "ne", "!=",
        "lt", "<", "lessthan", "gt", ">", "greaterthan", "le", "<=", "ge", ">=", "in", "lower", "upper", "sameas",
        "escaped", "filter", "test",
    ]

    static func apply(_ name: String, _ v: TemplateValue, _ args: [TemplateValue]) throws -> Bool {
        let arg = args.first ?? .undefined
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": return v.isNone
        case "string": if case .string = v { return true }; return false
        case "mapping": if case .object = v { return true }; return false
        case "iterable":
            switch v {
            case .undefined, .string, .array, .tuple, .object: return true
            default: return false
            }
        case "sequence":
            switch v {
            case .undefined, .string, .array, .tuple, .object: return true
            default: return false
            }
        case "number":
            switch v {
            case .int, .double, .bool: return true
            default: return false
            }
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "callable": if case .function = v { return true }; return false
        case "even", "odd":
            guard let i = v.intValue else {
                if let d = v.number { return d.truncatingRemainder(dividingBy: 2) == (name == "even" ? 0 : 1) }
                throw TemplateError(.type, "unsupported operand type(s) for %: '\(v.typeName)' and 'int'")
            }
            return (i % 2 == 0) == (name == "even")
        case "divisibleby":
            guard let x = v.number, let y = arg.number, y != 0 else { throw TemplateError(.type, "divisibleby needs numbers") }
            return x.truncatingRemainder(dividingBy: y) == 0
        case "eq", "equalto", "==": return Operators.equal(v, arg)
        case "ne", "!=": return !Operators.equal(v, arg)
        case "lt", "<", "lessthan": return try Operators.compare(v, arg, "<") < 0
        case "gt", ">", "greaterthan": return try Operators.compare(v, arg, ">") > 0
        case "le", "<=": return try Operators.compare(v, arg, "<=") <= 0
        case "ge", ">=": return try Operators.compare(v, arg, ">=") >= 0
        case "in": return try Operators.contains(arg, v)
        case "lower": if case .string(let s) = v { return s == s.lowercased() }; return false
        case "upper": if case .string(let s) = v { return s == s.uppercased() }; return false
        case "sameas":
            switch (v, arg) {
            case (.none, .none), (.undefined, .undefined): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            case (.function(let a), .function(let b)): return a === b
            case (.int(let a), .int(let b)): return a == b && (-5...256).contains(a)  // CPython's small-int cache
            case (.string(let a), .string(let b)): return a == b
            default: return false
            }
        case "escaped": return false
        case "filter": if case .string(let s) = v { return Filters.names.contains(s) }; return false
        case "test": if case .string(let s) = v { return names.contains(s) }; return false
        default: throw TemplateError(.syntax, "No test named '\(name)'.")
        }
    }
}

extension Interpreter {
    func applyTest(_ name: String, _ value: TemplateValue, _ args: [TemplateValue]) throws -> Bool {
        try Tests.apply(name, value, args)
    }
}
