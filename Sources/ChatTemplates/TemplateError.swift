/// An error from parsing or rendering a template. `line`/`column` are 1-based and point into the template source.
public struct TemplateError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, mirroring the Python exception Jinja/transformers would raise.
    public enum Kind: String, Equatable {
        /// `TemplateSyntaxError`: the template does not parse.
        case syntax
        /// The template called `raise_exception(message)`; `message` is exactly the template's text.
        case raised
        /// `UndefinedError`: an undefined value was used in a way Jinja's `Undefined` forbids.
        case undefined
        /// `TypeError` / `ValueError` and friends raised by an operation or filter.
        case type
        /// `SecurityError`: the sandbox forbids the operation (e.g. `list.append`).
        case security
        /// Malformed JSON given to `TemplateValue(json:)`.
        case json
        /// Python's `OverflowError`: a `range` beyond the sandbox's `MAX_RANGE`, a float too large for an integer, or
        /// an integer result beyond 64 bits (Python would compute a big integer; Steer's integers are 64-bit).
        case overflow
        /// A `TemplateLimits` bound was reached (nesting, string or list size, evaluation steps), where Python would
        /// raise `MemoryError` or `RecursionError`, exhaust the machine, or run without end.
        case limit
    }

    public let kind: Kind
    public let message: String
    public internal(set) var line: Int
    public internal(set) var column: Int

    init(_ kind: Kind, _ message: String, line: Int = 0, column: Int = 0) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        line > 0 ? "\(kind.rawValue) error at \(line):\(column): \(message)" : "\(kind.rawValue) error: \(message)"
    }

    /// Attaches a position if the error does not have one yet.
    func at(_ pos: SourcePos) -> TemplateError {
        guard line == 0 else { return self }
        var copy = self
        copy.line = pos.line
        copy.column = pos.column
        return copy
    }
}

/// A 1-based position in the template source.
struct SourcePos: Equatable {
    var line: Int
    var column: Int
}
