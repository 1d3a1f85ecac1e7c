/// The per-render state of the sandbox: steps taken and the current call depth, checked against the limits.
final class Sandbox {
    let limits: TemplateLimits
    private(set) var steps = 0
    private var depth = 0

    init(_ limits: TemplateLimits) { self.limits = limits }

    /// Steps a loop iteration costs beyond its body: making its scope and binding its variables take as long as
    /// evaluating a few expressions.
    static let iterationSteps = 4

    /// Counts `n` steps of work.
    @inline(__always)
    func step(_ n: Int = 1) throws {
        steps &+= n
        if steps > limits.maxSteps || n < 0 {
            throw TemplateError(.limit, "the template took more than \(limits.maxSteps) evaluation steps (sandbox limit)")
        }
    }

    /// Counts the work of walking `bytes` bytes of text.
    @inline(__always)
    func walk(bytes: Int) throws { try step(1 + bytes >> 4) }

    /// Enters one level of evaluation; balance with `leave()`.
    @inline(__always)
    func enter() throws {
        depth += 1
        if depth > limits.maxCallDepth {
            depth -= 1
            throw TemplateError(.limit, "maximum recursion depth exceeded (sandbox limit of \(limits.maxCallDepth) nested evaluations)")
        }
    }

    @inline(__always)
    func leave() { depth -= 1 }

    /// Throws unless a string of `bytes` UTF-8 bytes is within the limit. Call before building it.
    @inline(__always)
    func checkString(bytes: Int) throws {
        if bytes > limits.maxStringBytes || bytes < 0 {
            throw limits.stringTooLong(bytes)
        }
    }

    /// Throws unless a list of `count` elements is within the limit. Call before building it.
    @inline(__always)
    func checkList(count: Int) throws {
        if count > limits.maxListCount || count < 0 {
            throw TemplateError(.limit, "list of \(count < 0 ? "more than \(Int.max)" : "\(count)") elements exceeds the sandbox limit of \(limits.maxListCount) elements")
        }
    }

    /// `count` copies of something `size` long; negative when the product overflows (which every check rejects).
    static func product(_ count: Int, _ size: Int) -> Int {
        let (p, o) = max(0, count).multipliedReportingOverflow(by: size)
        return o ? -1 : p
    }

    /// `str(value)`, bounded by the string limit.
    func str(_ value: TemplateValue) throws -> String {
        try PythonFormat.str(value, limit: limits.maxStringBytes)
    }

    /// A string an operation built, checked against the size limit.
    func text(_ s: String) throws -> TemplateValue {
        try checkString(bytes: s.utf8.count)
        return .string(s)
    }

    /// `x + y` for strings.
    func concat(_ x: String, _ y: String) throws -> String {
        let bytes = x.utf8.count &+ y.utf8.count
        try checkString(bytes: bytes)
        try walk(bytes: bytes)
        return x + y
    }

    /// `s * n` (empty for n <= 0, as in Python).
    func repeated(_ s: String, _ n: Int) throws -> String {
        guard n > 0, !s.isEmpty else { return "" }
        let bytes = Sandbox.product(n, s.utf8.count)
        try checkString(bytes: bytes)
        try walk(bytes: bytes)
        return String(repeating: s, count: n)
    }

    /// `list * n`.
    func repeated(_ items: [TemplateValue], _ n: Int) throws -> [TemplateValue] {
        guard n > 0, !items.isEmpty else { return [] }
        let count = Sandbox.product(n, items.count)
        try checkList(count: count)
        try step(count)
        var out: [TemplateValue] = []
        out.reserveCapacity(count)
        for _ in 0..<n { out.append(contentsOf: items) }
        return out
    }

    /// Appends rendered text to an output buffer, bounded by the string limit.
    func append(_ s: String, to out: inout String) throws {
        try checkString(bytes: out.utf8.count &+ s.utf8.count)
        out += s
    }

    /// Throws when `value` nests containers deeper than the limit, counting a step per container. Call it on every
    /// container the template builds around existing values (list, tuple and dict literals, `namespace()`, `items`…),
    /// so that printing, comparing or freeing a value never recurses deeper than the limit.
    func checkNesting(_ value: TemplateValue, charge: Bool = true) throws {
        try checkNesting(value, level: 1, into: nil, charge: charge)
    }

    /// Checks `ns.attr = value`: the namespace may already sit `ns.level` deep inside other values, and must not end
    /// up inside itself.
    func checkAssignment(_ value: TemplateValue, to ns: TemplateNamespace) throws {
        try checkNesting(value, level: ns.level + 1, into: ns, charge: true)
    }

    private func checkNesting(_ value: TemplateValue, level: Int, into target: TemplateNamespace?, charge: Bool) throws {
        // Leaves cost nothing but the loop over them: a step per container and per 16 elements it holds.
        func children(_ count: Int) throws {
            if level > limits.maxValueNesting { throw nestingError() }
            if charge { try step(1 + count >> 4) }
        }
        func visit(_ child: TemplateValue) throws {
            switch child {
            case .array, .tuple, .object, .namespace: try checkNesting(child, level: level + 1, into: target, charge: charge)
            default: break
            }
        }
        switch value {
        case .array(let a), .tuple(let a):
            try children(a.count)
            for c in a { try visit(c) }
        case .object(let o):
            try children(o.count)
            try o.forEachValue(visit)
        case .namespace(let ns):
            // A namespace inside itself would be infinitely deep.
            if ns === target { throw nestingError() }
            ns.level = max(ns.level, level)
            try children(ns.attributes.count)
            try ns.attributes.forEachValue(visit)
        default: return
        }
    }

    private func nestingError() -> TemplateError {
        TemplateError(.limit, "values nested more than \(limits.maxValueNesting) levels deep (sandbox limit)")
    }
}
