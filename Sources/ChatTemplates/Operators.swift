import Foundation

/// Python's binary operators, equality and ordering on template values. Integer arithmetic is checked: where
/// Python would compute an integer beyond 64 bits the result is an `.overflow` error, never a trap or a float.
enum Operators {
    static func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue, _ sandbox: Sandbox) throws -> TemplateValue {
        switch op {
        case "~": return .string(try sandbox.concat(try sandbox.str(a), try sandbox.str(b)))
        case "==": return .bool(equal(a, b))
        case "!=": return .bool(!equal(a, b))
        case "<": return .bool(try compare(a, b, op) < 0)
        case ">": return .bool(try compare(a, b, op) > 0)
        case "<=": return .bool(try compare(a, b, op) <= 0)
        case ">=": return .bool(try compare(a, b, op) >= 0)
        case "in", "not in":
            try sandbox.step(size(b))
            return .bool(try contains(b, a) == (op == "in"))
        default: return try arithmetic(op, a, b, sandbox)
        }
    }

    /// Work units to scan a container or text (16 bytes of text count as one element).
    static func size(_ v: TemplateValue) -> Int {
        switch v {
        case .string(let s): return s.utf8.count >> 4
        case .array(let a), .tuple(let a): return a.count
        case .object(let o): return o.count
        default: return 0
        }
    }

    static func unsupported(_ op: String, _ a: TemplateValue, _ b: TemplateValue) -> TemplateError {
        TemplateError(.type, "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    /// The error for an integer Python would hold as a big integer.
    static let intOverflow = TemplateError(.overflow, "integer result exceeds 64 bits")

    static func checked(_ result: (partialValue: Int, overflow: Bool)) throws -> TemplateValue {
        if result.overflow { throw intOverflow }
        return .int(result.partialValue)
    }

    /// `-x`.
    static func negate(_ v: TemplateValue) throws -> TemplateValue? {
        switch v {
        case .int(let i): return try checked(Int(0).subtractingReportingOverflow(i))
        case .double(let d): return .double(-d)
        case .bool(let b): return .int(b ? -1 : 0)
        default: return nil
        }
    }

    /// `seq * n` for strings, lists and tuples, or nil when `v` is not a sequence.
    static func repeatSequence(_ v: TemplateValue, _ n: Int, _ sandbox: Sandbox) throws -> TemplateValue? {
        switch v {
        case .string(let s): return .string(try sandbox.repeated(s, n))
        case .array(let x): return .array(try sandbox.repeated(x, n))
        case .tuple(let x): return .tuple(try sandbox.repeated(x, n))
        default: return nil
        }
    }

    static func arithmetic(_ op: String, _ a: TemplateValue, _ b: TemplateValue, _ sandbox: Sandbox) throws -> TemplateValue {
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)): return .string(try sandbox.concat(x, y))
        case ("+", .string, _): throw TemplateError(.type, "can only concatenate str (not \"\(b.typeName)\") to str")
        case ("+", .array(let x), .array(let y)):
            try sandbox.checkList(count: x.count + y.count)
            try sandbox.step(x.count + y.count)
            return .array(x + y)
        case ("+", .tuple(let x), .tuple(let y)):
            try sandbox.checkList(count: x.count + y.count)
            try sandbox.step(x.count + y.count)
            return .tuple(x + y)
        case ("+", .array, _): throw TemplateError(.type, "can only concatenate list (not \"\(b.typeName)\") to list")
        case ("*", _, _):
            if let n = b.intValue, let r = try repeatSequence(a, n, sandbox) { return r }
            if let n = a.intValue, let r = try repeatSequence(b, n, sandbox) { return r }
        case ("%", .string(let fmt), _): return .string(try StringFormat.percent(fmt, b, sandbox))
        default: break
        }
        guard let x = a.number, let y = b.number else { throw unsupported(op, a, b) }
        if let i = a.intValue, let j = b.intValue { return try integerArithmetic(op, i, j, a, b) }
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
        case "**": return try floatPower(x, y)
        default: throw unsupported(op, a, b)
        }
    }

    private static func integerArithmetic(_ op: String, _ i: Int, _ j: Int, _ a: TemplateValue, _ b: TemplateValue) throws -> TemplateValue {
        switch op {
        case "+": return try checked(i.addingReportingOverflow(j))
        case "-": return try checked(i.subtractingReportingOverflow(j))
        case "*": return try checked(i.multipliedReportingOverflow(by: j))
        case "/":
            if j == 0 { throw TemplateError(.type, "division by zero") }
            return .double(Double(i) / Double(j))
        case "//":
            if j == 0 { throw TemplateError(.type, "integer division or modulo by zero") }
            let (q, overflow) = i.dividedReportingOverflow(by: j)  // only Int.min // -1
            if overflow { throw intOverflow }
            return .int((i % j != 0 && (i < 0) != (j < 0)) ? q - 1 : q)
        case "%":
            if j == 0 { throw TemplateError(.type, "integer modulo by zero") }
            if j == -1 { return .int(0) }  // Swift traps on Int.min % -1
            let m = i % j
            return .int(m != 0 && (m < 0) != (j < 0) ? m + j : m)
        case "**":
            if j < 0 { return try floatPower(Double(i), Double(j)) }
            // Square and multiply: at most 126 checked products, whatever the exponent.
            var result = 1, base = i, e = j
            while e > 0 {
                if e & 1 == 1 { result = try checkedProduct(result, base) }
                e >>= 1
                if e > 0 { base = try checkedProduct(base, base) }
            }
            return .int(result)
        default: throw unsupported(op, a, b)
        }
    }

    private static func checkedProduct(_ x: Int, _ y: Int) throws -> Int {
        let (p, o) = x.multipliedReportingOverflow(by: y)
        if o { throw intOverflow }
        return p
    }

    /// Python's `int(d)` for a float: truncation, with Python's errors for NaN, infinity and results beyond 64 bits.
    static func truncate(_ d: Double) throws -> Int {
        if d.isNaN { throw TemplateError(.type, "cannot convert float NaN to integer") }
        if d.isInfinite { throw TemplateError(.overflow, "cannot convert float infinity to integer") }
        guard let i = Int(exactly: d.rounded(.towardZero)) else { throw intOverflow }
        return i
    }

    /// Python's `round(i, digits)` for an integer: unchanged for digits >= 0, else to a multiple of 10^-digits,
    /// halves to even.
    static func roundInteger(_ i: Int, digits: Int) throws -> Int {
        guard digits < 0 else { return i }
        if digits < -38 { return 0 }  // 10^39 is beyond Int128; every 64-bit integer rounds to 0 long before
        var m: Int128 = 1
        for _ in 0..<(-digits) { m *= 10 }
        let x = Int128(i)
        var q = x / m, r = x % m
        if r < 0 { r += m; q -= 1 }  // floor division
        if 2 * r > m || (2 * r == m && q & 1 == 1) { q += 1 }
        guard let result = Int(exactly: q * m) else { throw intOverflow }
        return result
    }

    /// Python's `float ** float`.
    static func floatPower(_ x: Double, _ y: Double) throws -> TemplateValue {
        if x == 0 && y < 0 { throw TemplateError(.type, "0.0 cannot be raised to a negative power") }
        if x < 0 && x.isFinite && y.isFinite && y != y.rounded() {
            throw TemplateError(.type, "a negative number to a fractional power is complex, which templates do not support")
        }
        let r = pow(x, y)
        if r.isInfinite && x.isFinite && y.isFinite { throw TemplateError(.overflow, "(34, 'Numerical result out of range')") }
        return .double(r)
    }

    /// Python `==`: numbers compare by value across int/float/bool; containers element-wise.
    static func equal(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return sameText(x, y)
        case (.array(let x), .array(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.pairs.allSatisfy { k, v in y[k].map { equal(v, $0) } ?? false }
        case (.namespace(let x), .namespace(let y)): return x === y
        case (.function(let x), .function(let y)): return x === y
        default:
            if let x = a.intValue, let y = b.intValue { return x == y }
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// Python's string equality (same code points), with memcmp on the UTF-8 bytes when both are contiguous.
    static func sameText(_ x: String, _ y: String) -> Bool {
        guard x.utf8.count == y.utf8.count else { return false }
        let fast = x.utf8.withContiguousStorageIfAvailable { p in
            y.utf8.withContiguousStorageIfAvailable { q -> Bool in
                guard let pa = p.baseAddress, let qa = q.baseAddress else { return true }  // both empty
                return pa == qa || memcmp(pa, qa, p.count) == 0
            }
        }
        if let result = fast ?? nil { return result }
        return x.utf8.elementsEqual(y.utf8)
    }

    /// Python ordering; raises TypeError for unorderable pairs.
    static func compare(_ a: TemplateValue, _ b: TemplateValue, _ op: String) throws -> Int {
        switch (a, b) {
        case (.string(let x), .string(let y)):
            if sameText(x, y) { return 0 }
            // UTF-8 byte order is code point order.
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1
        case (.array(let x), .array(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) where !equal(p, q) { return try compare(p, q, op) }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        default:
            if let x = a.intValue, let y = b.intValue { return x == y ? 0 : (x < y ? -1 : 1) }
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
            return Methods.find(n, in: s, last: false) != nil
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
