import Foundation

/// A compiled Hugging Face chat template (Jinja), rendered the way transformers' `apply_chat_template` does.
///
/// ```swift
/// let template = try ChatTemplate(source)
/// let prompt = try template.renderChat(messages: try TemplateValue(json: messagesJSON),
///                                      addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
/// ```
///
/// Templates come with model downloads, so rendering is sandboxed: besides the rules of Jinja's
/// `ImmutableSandboxedEnvironment` (no mutating methods, no underscore attributes, `range` up to 100,000), integer
/// arithmetic is checked and `limits` bound nesting, string and list sizes and the total work (`TemplateLimits`).
public struct ChatTemplate {
    private let body: [Stmt]
    /// The sandbox's bounds for parsing and for every render.
    public let limits: TemplateLimits

    /// Parses the template once. Throws `TemplateError` (kind `.syntax`, or `.limit` past `limits.maxNesting`) with
    /// the line and column of the problem.
    public init(_ source: String, limits: TemplateLimits = .default) throws {
        self.limits = limits
        var lexer = Lexer(source)
        var parser = Parser(try lexer.tokenize(), maxNesting: limits.maxNesting)
        body = try parser.parseTemplate()
        try Validator.check(body)
    }

    /// Renders with exactly the given variables plus transformers' globals (`raise_exception`, `strftime_now`,
    /// `namespace`, `dict`, `range`). `now` is the clock `strftime_now` reads (formatted in UTC).
    /// Throws `TemplateError`; kind `.limit` when the render reaches one of `limits`.
    public func render(_ context: [String: TemplateValue], now: Date = Date()) throws -> String {
        let sandbox = Sandbox(limits)
        for value in context.values { try sandbox.checkNesting(value, charge: false) }
        let interpreter = Interpreter(now: now, sandbox: sandbox)
        let globals = Globals.scope(now: now, sandbox: sandbox)
        let top = Scope(parent: globals)
        top.vars = VarTable(context)
        return try interpreter.render(body, globals: top)
    }

    /// Renders a conversation with the context transformers builds: `messages` (keys whose value is `None`
    /// dropped, reasoning aliased to `reasoning_content`/`thinking`), `add_generation_prompt`, `bos_token`,
    /// `eos_token` (left undefined when nil), `tools`, `documents` (`None` when nil), plus extra keyword
    /// arguments such as `enable_thinking`. `tools` and `documents` given in `extra` (as `steer template --set
    /// tools=[…]` does) count when the parameters are nil.
    public func renderChat(messages: TemplateValue, addGenerationPrompt: Bool, bosToken: String?, eosToken: String?,
                           tools: TemplateValue? = nil, documents: TemplateValue? = nil,
                           extra: [String: TemplateValue] = [:], now: Date = Date()) throws -> String {
        var context: [String: TemplateValue] = [:]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        for (k, v) in extra { context[k] = v }
        context["messages"] = ChatTemplate.normalize(messages)
        context["tools"] = tools ?? extra["tools"] ?? TemplateValue.none
        context["documents"] = documents ?? extra["documents"] ?? TemplateValue.none
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        return try render(context, now: now)
    }

    /// transformers' `_normalize_chat_messages` and `_alias_reasoning_fields`.
    static func normalize(_ messages: TemplateValue) -> TemplateValue {
        guard let list = messages.sequence else { return messages }
        return .array(list.map { message in
            guard case .object(let o) = message else { return message }
            var cleaned = TemplateObject(o.pairs.filter { !$0.1.isNone })
            let reasoning = ["reasoning_content", "thinking", "reasoning"].lazy.compactMap { cleaned[$0] }.first
            if let reasoning {
                // Python: {"thinking": r, **message, "reasoning_content": r}
                var aliased = TemplateObject()
                aliased["thinking"] = reasoning
                for (k, v) in cleaned.pairs { aliased[k] = v }
                aliased["reasoning_content"] = reasoning
                cleaned = aliased
            }
            return .object(cleaned)
        })
    }
}

/// The global functions transformers registers in its Jinja environment.
enum Globals {
    /// Jinja's sandbox: `range` refuses more than this many items.
    static let maxRange = 100_000

    static func scope(now: Date, sandbox: Sandbox) -> Scope {
        let s = Scope(parent: nil)
        s.vars["raise_exception"] = .function(TemplateFunction("raise_exception") { args, _ in
            throw TemplateError(.raised, try sandbox.str(args.first ?? .undefined))
        })
        s.vars["strftime_now"] = .function(TemplateFunction("strftime_now") { args, _ in
            let format = try sandbox.str(args.first ?? .string(""))
            // strftime walks its format a character at a time, about as slow per byte as a statement step.
            try sandbox.step(1 + format.utf8.count)
            return .string(Strftime.format(format, now))
        })
        s.vars["range"] = .function(TemplateFunction("range") { args, _ in
            .array(try range(args).map { .int($0) })
        })
        s.vars["namespace"] = .function(TemplateFunction("namespace") { args, kwargs in
            var attrs = TemplateObject()
            if case .object(let o) = args.first ?? TemplateValue.none { for (k, v) in o.pairs { attrs[k] = v } }
            for (k, v) in kwargs { attrs[k] = v }
            let ns = TemplateValue.namespace(TemplateNamespace(attrs))
            try sandbox.checkNesting(ns)
            return ns
        })
        s.vars["dict"] = .function(TemplateFunction("dict") { args, kwargs in
            var o = TemplateObject()
            switch args.first ?? TemplateValue.none {
            case .object(let src): for (k, v) in src.pairs { o[k] = v }
            case .array(let pairs), .tuple(let pairs):
                for p in pairs { if let kv = p.sequence, kv.count == 2, let k = PythonFormat.scalar(kv[0]) { o[k] = kv[1] } }
            default: break
            }
            for (k, v) in kwargs { o[k] = v }
            try sandbox.checkNesting(.object(o))
            return .object(o)
        })
        return s
    }

    /// jinja2's `safe_range`: Python's `range`, refused beyond `MAX_RANGE` items with the sandbox's OverflowError.
    static func range(_ args: [TemplateValue]) throws -> [Int] {
        guard !args.isEmpty else { throw TemplateError(.type, "range expected at least 1 argument, got 0") }
        guard args.count <= 3 else { throw TemplateError(.type, "range expected at most 3 arguments, got \(args.count)") }
        var n: [Int] = []
        for a in args {
            guard let i = a.intValue else { throw TemplateError(.type, "'\(a.typeName)' object cannot be interpreted as an integer") }
            n.append(i)
        }
        let (start, stop, step) = n.count == 1 ? (0, n[0], 1) : (n[0], n[1], n.count > 2 ? n[2] : 1)
        if step == 0 { throw TemplateError(.type, "range() arg 3 must not be zero") }
        // Int128: `stop - start` of two 64-bit integers cannot overflow it.
        let span = step > 0 ? Int128(stop) - Int128(start) : Int128(start) - Int128(stop)
        let count = max(0, (span + Int128(step.magnitude) - 1) / Int128(step.magnitude))
        if count > Int128(Int.max) { throw TemplateError(.overflow, "Python int too large to convert to C ssize_t") }
        if count > Int128(maxRange) {
            throw TemplateError(.overflow, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).")
        }
        // Every item lies between start and stop, so it fits; the product alone might not.
        return (0..<Int(count)).map { Int(Int128(start) + Int128($0) * Int128(step)) }
    }
}
