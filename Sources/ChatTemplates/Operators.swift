import Foundation

/// Python's binary operators, equality and ordering on template values.
enum Operators {
    static func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws -> TemplateValue {
        switch op {
        case "~": return .string(PythonFormat.str(a) + PythonFormat.str(b))
        case "==": return .bool(equal(a, b))
        case "!=": return .bool(!equal(a, b))
        case "<": return .bool(try compare(a, b, op) < 0)
        case ">": return .bool(try compare(a, b, op) > 0)
        case "<=": return .bool(try compare(a, b, op) <= 0)
        case ">=": return .bool(try compare(a, b, op) >= 0)
        case "in": return .bool(try contains(b, a))
        case "not in": return .bool(!(try contains(b, a)))
        default: return try arithmetic(op, a, b)
        }
    }

    static func unsupported(_ op: String, _ a: TemplateValue, _ b: TemplateValue) -> TemplateError {
        TemplateError(.type, "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    static func arithmetic(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws -> TemplateValue {
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)): return .string(x + y)
        case ("+", .string, _): throw TemplateError(.type, "can only concatenate str (not \"\(b.typeName)\") to str")
        case ("+", .array(let x), .array(let y)): return .array(x + y)
        case ("+", .tuple(let x), .tuple(let y)): return .tuple(x + y)
        case ("+", .array, _): throw TemplateError(.type, "can only concatenate list (not \"\(b.typeName)\") to list")
        case ("*", .string(let s), _) where b.intValue != nil: return .string(String(repeating: s, count: max(0, b.intValue ?? 0)))
        case ("*", _, .string(let s)) where a.intValue != nil: return .string(String(repeating: s, count: max(0, a.intValue ?? 0)))
        case ("*", .array(let x), _) where b.intValue != nil:
            return .array(Array(repeating: x, count: max(0, b.intValue ?? 0)).flatMap { $0 })
        case ("%", .string(let fmt), _): return .string(try Methods.percentFormat(fmt, b))
        default: break
        }
        guard let x = a.number, let y = b.number else { throw unsupported(op, a, b) }
        if let i = a.intValue, let j = b.intValue {
            switch op {
            case "+": let (r, o) = i.addingReportingOverflow(j); return o ? .double(x + y) : .int(r)
            case "-": let (r, o) = i.subtractingReportingOverflow(j); return o ? .double(x - y) : .int(r)
            case "*": let (r, o) = i.multipliedReportingOverflow(by: j); return o ? .double(x * y) : .int(r)
            case "/":
                if j == 0 { throw TemplateError(.type, "division by zero") }
                return .double(x / y)
            case "//":
                if j == 0 { throw TemplateError(.type, "integer division or modulo by zero") }
                let q = i / j
                return .int((i % j != 0 && (i < 0) != (j < 0)) ? q - 1 : q)
            case "%":
                if j == 0 { throw TemplateError(.type, "integer modulo by zero") }
                let m = i % j
                return .int(m != 0 && (m < 0) != (j < 0) ? m + j : m)
            case "**":
                if j >= 0 {
                    var r = 1
                    for _ in 0..<j {
                        let (p, o) = r.multipliedReportingOverflow(by: i)
                        if o { return .double(pow(x, y)) }
                        r = p
                    }
                    return .int(r)
                }
                return .double(pow(x, y))
            default: throw unsupported(op, a, b)
            }
        }
        switch op {
        case "+": return .double(x + y)
        case "-": return .double(x - y)
        case "*": return .double(x * y)
        case "/":
            if y == 0 { throw TemplateError(.type, "float division by zero") }
            return .double(x / y)
        case "//":
            if y == 0 { throw TemplateError(.type, "float floor division by zero") }
            return .double((x / y).rounded(.down))
        case "%":
            if y == 0 { throw TemplateError(.type, "float modulo") }
            let m = fmod(x, y)
            return .double(m != 0 && (m < 0) != (y < 0) ? m + y : m)
        case "**": return .double(pow(x, y))
        default: throw unsupported(op, a, b)
        }
    }

    /// Python `==`: numbers compare by value across int/float/bool; containers element-wise.
    static func equal(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.array(let x), .array(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.pairs.allSatisfy { k, v in y[k].map { equal(v, $0) } ?? false }
        case (.namespace(let x), .namespace(let y)): return x === y
        case (.function(let x), .function(let y)): return x === y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// Python ordering; raises TypeError for unorderable pairs.
    static func compare(_ a: TemplateValue, _ b: TemplateValue, _ op: String) throws -> Int {
        switch (a, b) {
        case (.string(let x), .string(let y)):
            if x.unicodeScalars.elementsEqual(y.unicodeScalars) { return 0 }
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : 1
        case (.array(let x), .array(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) where !equal(p, q) { return try compare(p, q, op) }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        default:
            if let x = a.number, let y = b.number { return x == y ? 0 : (x < y ? -1 : 1) }
            throw TemplateError(.type, "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    /// Python `needle in container`.
    static func contains(_ container: TemplateValue, _ needle: TemplateValue) throws -> Bool {
        switch container {
        case .undefined: return false
        case .string(let s):
            guard case .string(let n) = needle else {
                throw TemplateError(.type, "'in <string>' requires string as left operand, not \(needle.typeName)")
            }
            return n.isEmpty || s.range(of: n) != nil
        case .array(let a), .tuple(let a): return a.contains { equal($0, needle) }
        case .object(let o):
            if case .string(let k) = needle { return o[k] != nil }
            return false
        case .namespace(let ns):
            if case .string(let k) = needle { return ns.attributes[k] != nil }
            return false
        default: throw TemplateError(.type, "argument of type '\(container.typeName)' is not iterable")
        }
    }
}
