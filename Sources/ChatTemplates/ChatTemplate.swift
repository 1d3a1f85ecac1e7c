import Foundation

/// A compiled Hugging Face chat template (Jinja), rendered the way transformers' `apply_chat_template` does.
///
/// ```swift
/// let template = try ChatTemplate(source)
/// let prompt = try template.renderChat(messages: try TemplateValue(json: messagesJSON),
///                                      addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
/// ```
public struct ChatTemplate {
    private let body: [Stmt]

    /// Parses the template once. Throws `TemplateError` (kind `.syntax`) with the line and column of the problem.
    public init(_ source: String) throws {
        var lexer = Lexer(source)
        var parser = Parser(try lexer.tokenize())
        body = try parser.parseTemplate()
        try Validator.check(body)
    }

    /// Renders with exactly the given variables plus transformers' globals (`raise_exception`, `strftime_now`,
    /// `namespace`, `dict`, `range`). `now` is the clock `strftime_now` reads (formatted in UTC).
    public func render(_ context: [String: TemplateValue], now: Date = Date()) throws -> String {
        let interpreter = Interpreter(now: now)
        let globals = Globals.scope(now: now)
        let top = Scope(parent: globals)
        top.vars = context
        return try interpreter.render(body, globals: top)
    }

    /// Renders a conversation with the context transformers builds: `messages` (keys whose value is `None`
    /// dropped, reasoning aliased to `reasoning_content`/`thinking`), `add_generation_prompt`, `bos_token`,
    /// `eos_token` (left undefined when nil), `tools`, `documents` (`None` when nil), plus extra keyword
    /// arguments such as `enable_thinking`.
    public func renderChat(messages: TemplateValue, addGenerationPrompt: Bool, bosToken: String?, eosToken: String?,
                           tools: TemplateValue? = nil, documents: TemplateValue? = nil,
                           extra: [String: TemplateValue] = [:], now: Date = Date()) throws -> String {
        var context: [String: TemplateValue] = [:]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        for (k, v) in extra { context[k] = v }
        context["messages"] = ChatTemplate.normalize(messages)
        context["tools"] = tools ?? TemplateValue.none
        context["documents"] = documents ?? TemplateValue.none
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
    static func scope(now: Date) -> Scope {
        let s = Scope(parent: nil)
        s.vars["raise_exception"] = .function(TemplateFunction("raise_exception") { args, _ in
            throw TemplateError(.raised, PythonFormat.str(args.first ?? .undefined))
        })
        s.vars["strftime_now"] = .function(TemplateFunction("strftime_now") { args, _ in
            .string(Strftime.format(PythonFormat.str(args.first ?? .string("")), now))
        })
        s.vars["range"] = .function(TemplateFunction("range") { args, _ in
            let ints = args.map { $0.intValue }
            guard !ints.isEmpty, !ints.contains(where: { $0 == nil }) else {
                throw TemplateError(.type, "range() integer arguments expected")
            }
            let n = ints.compactMap { $0 }
            let (start, stop, step) = n.count == 1 ? (0, n[0], 1) : (n[0], n[1], n.count > 2 ? n[2] : 1)
            if step == 0 { throw TemplateError(.type, "range() arg 3 must not be zero") }
            let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
            if count > 100_000 { throw TemplateError(.security, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).") }
            return .array((0..<count).map { .int(start + $0 * step) })
        })
        s.vars["namespace"] = .function(TemplateFunction("namespace") { args, kwargs in
            var attrs = TemplateObject()
            if case .object(let o) = args.first ?? TemplateValue.none { for (k, v) in o.pairs { attrs[k] = v } }
            for (k, v) in kwargs { attrs[k] = v }
            return .namespace(TemplateNamespace(attrs))
        })
        s.vars["dict"] = .function(TemplateFunction("dict") { args, kwargs in
            var o = TemplateObject()
            switch args.first ?? TemplateValue.none {
            case .object(let src): for (k, v) in src.pairs { o[k] = v }
            case .array(let pairs), .tuple(let pairs):
                for p in pairs { if let kv = p.sequence, kv.count == 2 { o[PythonFormat.str(kv[0])] = kv[1] } }
            default: break
            }
            for (k, v) in kwargs { o[k] = v }
            return .object(o)
        })
        return s
    }
}
