/// The bounds of the template sandbox. transformers renders chat templates in Jinja's
/// `ImmutableSandboxedEnvironment`, which forbids unsafe attributes and ranges beyond `MAX_RANGE` but lets a
/// template use as much memory, time and recursion as Python gives it; a chat template ships with every model
/// download, so Steer bounds those too. Each limit is far above what the real templates need (the 48 in the
/// tests use a small fraction of each) and ends the render with a `TemplateError` of kind `.limit` naming the
/// limit, instead of exhausting memory, the stack or the user's patience.
public struct TemplateLimits: Sendable, Equatable {
    /// Deepest nesting of template syntax: statement blocks inside blocks (`if` in `for` in `macro` …), brackets,
    /// call arguments, unary operators, and operator or filter chains (`a + b + c` nests one level per operator).
    /// Jinja itself fails beyond 20 nested `for`, 69 nested parentheses and 98 nested `if`.
    public var maxNesting: Int
    /// Deepest nesting of values (lists, dicts, tuples and namespaces inside each other), built by the template or
    /// read from JSON; Python's `repr` gives up near 1,000.
    public var maxValueNesting: Int
    /// Deepest chain of active evaluations at run time: the expressions, blocks and filters being evaluated, through
    /// macro calls and recursive loops (a macro calling itself in an `if` uses three per call: 500 allow about 165
    /// nested calls; jinja2 runs out of Python stack near 200). Bounds the interpreter's stack to about 1 MB in a
    /// release build and 4 MB in a debug build.
    public var maxCallDepth: Int
    /// Largest string the template may build (a string value or the rendered output), in UTF-8 bytes.
    public var maxStringBytes: Int
    /// Largest list, tuple or dict the template may build, in elements.
    public var maxListCount: Int
    /// Total work of one render: a step per statement, expression and macro call, four per loop iteration, and one
    /// per element (or 16 bytes of text) that a filter, method or operator walks through.
    public var maxSteps: Int

    /// Limits with the given bounds; the defaults are `TemplateLimits.default`'s.
    public init(maxNesting: Int = 100, maxValueNesting: Int = 200, maxCallDepth: Int = 500,
                maxStringBytes: Int = 64 << 20, maxListCount: Int = 4 << 20, maxSteps: Int = 10_000_000) {
        self.maxNesting = maxNesting
        self.maxValueNesting = maxValueNesting
        self.maxCallDepth = maxCallDepth
        self.maxStringBytes = maxStringBytes
        self.maxListCount = maxListCount
        self.maxSteps = maxSteps
    }

    /// The limits `ChatTemplate` uses unless told otherwise.
    public static let `default` = TemplateLimits()
}

extension TemplateLimits {
    /// The error for a string of `bytes` bytes (negative: beyond `Int.max`) over `maxStringBytes`.
    func stringTooLong(_ bytes: Int) -> TemplateError { TemplateLimits.stringTooLong(bytes, maxStringBytes) }

    static func stringTooLong(_ bytes: Int, _ limit: Int) -> TemplateError {
        let size = bytes < 0 ? "more than \(Int.max)" : "\(bytes)"
        return TemplateError(.limit, "string of \(size) bytes exceeds the sandbox limit of \(limit) bytes")
    }
}
