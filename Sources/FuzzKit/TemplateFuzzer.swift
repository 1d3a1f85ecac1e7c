import ChatTemplates
import Foundation

/// Chat templates (the 48 real ones) with tags deleted, repeated, swapped or replaced, literals
/// swapped for interesting ones, hostile snippets inserted (huge repeats and ranges, overflowing
/// arithmetic, deep nesting, runaway loops and recursion), rendered with mutated conversations.
enum TemplateFuzzer: FuzzTarget {
    static func make(_ c: inout FuzzCase, rng: inout FuzzRandom, seeds: FuzzSeeds) {
        guard let seed = rng.pick(seeds.templates), let messages = rng.pick(seeds.conversations) else { return }
        var source = String(decoding: seed.data, as: UTF8.self)
        switch rng.below(10) {
        case 0...5: for _ in 0..<rng.count(max: 3) { source = mutateTags(source, rng: &rng) }
        case 6, 7: source = insert(rng.pick(hostile)!, into: source, rng: &rng)
        default: source = String(decoding: ByteMutator.mutate(Data(source.utf8), count: rng.count(max: 4), rng: &rng), as: UTF8.self)
        }
        c.files["chat_template.jinja"] = .bytes(Data(source.utf8))
        var conversation = FuzzJSON.parse(messages) ?? .array([])
        if rng.chance(0.4) { conversation = JSONMutator(vocabulary: messageVocabulary).mutate(conversation, count: rng.count(max: 3), rng: &rng) }
        c.files["messages.json"] = .bytes(conversation.data())
        c.params["agp"] = rng.chance(0.5) ? "1" : "0"
        c.params["bos"] = rng.pick("<s>", "", "<|begin_of_text|>", "none")
        c.params["eos"] = rng.pick("</s>", "<|im_end|>", "none")
        c.params["thinking"] = rng.pick("none", "1", "0")
    }

    static func run(_ c: FuzzCase, folder: URL) throws {
        let source = String(decoding: try Data(contentsOf: folder.appendingPathComponent("chat_template.jinja")), as: UTF8.self)
        let template = try ChatTemplate(source)
        let messages = try TemplateValue(json: Data(contentsOf: folder.appendingPathComponent("messages.json")))
        var extra: [String: TemplateValue] = [:]
        if let t = c.params["thinking"], t != "none" { extra["enable_thinking"] = .bool(t == "1") }
        func token(_ key: String) -> String? { c.params[key].flatMap { $0 == "none" ? nil : $0 } }
        _ = try template.renderChat(messages: messages, addGenerationPrompt: c.params["agp"] == "1", bosToken: token("bos"),
                                    eosToken: token("eos"), extra: extra, now: Date(timeIntervalSince1970: 1_741_356_309))
    }

    /// The template cut into text and tags (`{{ }}`, `{% %}`, `{# #}`), tags whole; a `{` that opens no tag ends
    /// a text segment. One pass over the bytes: a hostile snippet makes templates of 40,000 tags, where searching
    /// the rest of the string for every tag took minutes.
    static func segments(_ s: String) -> [Substring] {
        let u = s.utf8, open = UInt8(ascii: "{")
        var out: [Substring] = []
        var rest = u.startIndex, i = u.startIndex
        while let o = u[i...].firstIndex(of: open) {
            let after = u.index(after: o)
            let next = after < u.endIndex ? u[after] : 0
            let closer: (UInt8, UInt8)
            switch next {
            case UInt8(ascii: "{"): closer = (UInt8(ascii: "}"), UInt8(ascii: "}"))
            case UInt8(ascii: "%"): closer = (UInt8(ascii: "%"), UInt8(ascii: "}"))
            case UInt8(ascii: "#"): closer = (UInt8(ascii: "#"), UInt8(ascii: "}"))
            default:
                out.append(s[rest..<after]); rest = after; i = after; continue
            }
            if o > rest { out.append(s[rest..<o]) }
            // The closer is searched from the character after `{`, as `range(of:)` on the rest did.
            var j = after, close: String.Index?
            while j < u.endIndex {
                let k = u.index(after: j)
                if k < u.endIndex, u[j] == closer.0, u[k] == closer.1 { close = u.index(after: k); break }
                j = k
            }
            guard let end = close else { out.append(s[o...]); return out }
            out.append(s[o..<end])
            rest = end; i = end
        }
        if rest < u.endIndex { out.append(s[rest...]) }
        return out
    }

    static func mutateTags(_ source: String, rng: inout FuzzRandom) -> String {
        var parts = segments(source).map(String.init)
        guard !parts.isEmpty else { return source }
        let i = rng.below(parts.count)
        switch rng.below(6) {
        case 0: parts.remove(at: i)
        case 1: parts.insert(parts[i], at: rng.below(parts.count + 1))
        case 2: parts.swapAt(i, rng.below(parts.count))
        case 3: parts[i] = replaceLiteral(in: parts[i], rng: &rng)
        case 4: parts[i] = replaceOperator(in: parts[i], rng: &rng)
        default: parts.insert(rng.pick(hostile)!, at: i)
        }
        return parts.joined()
    }

    static func insert(_ snippet: String, into source: String, rng: inout FuzzRandom) -> String {
        var parts = segments(source).map(String.init)
        parts.insert(snippet, at: rng.below(parts.count + 1))
        return parts.joined()
    }

    /// A number, quoted string or name inside a tag replaced by an interesting one.
    static func replaceLiteral(in tag: String, rng: inout FuzzRandom) -> String {
        let words = tag.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "_" && $0 != "'" && $0 != "\"" })
        guard let w = rng.pick(words) else { return tag }
        let replacement = rng.pick(literals)!
        return tag.replacingCharacters(in: w.startIndex..<w.endIndex, with: replacement)
    }

    static func replaceOperator(in tag: String, rng: inout FuzzRandom) -> String {
        let ops = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", " and ", " or ", " not ", " in ", " is ", "|", "[", "(", "."]
        var out = tag
        if let op = rng.pick(ops.filter { tag.contains($0) }), let r = out.range(of: op) {
            out.replaceSubrange(r, with: rng.pick(ops)!)
        } else if out.count > 4 {
            let at = out.index(out.startIndex, offsetBy: rng.below(out.count - 3) + 2)
            out.insert(contentsOf: rng.pick(ops)!, at: at)
        }
        return out
    }

    static let literals = ["0", "-1", "1", "2**63-1", "2**64", "-2**63", "10**12", "1e400", "9223372036854775807", "''", "'x'*9",
                           "none", "undefined", "loop", "messages", "namespace", "range", "self", "caller", "__class__",
                           "tojson", "length", "[]", "{}", "True", "x.y.z", "messages[-1]", "messages[10**20]"]

    static let hostile: [String] = [
        "{{ \"x\" * 10**12 }}", "{{ [1] * 10**10 }}", "{{ range(2**63-1)|length }}", "{{ (-2**63)//-1 }}",
        "{{ -9223372036854775807-1|abs }}", "{{ (-9223372036854775807-1)|abs }}", "{{ 'a'|indent(2**63-1) }}",
        "{{ '%d'|format(1e400) }}", "{{ 'a'|center(10**12) }}", "{{ 'a'|center(2**63-1) }}",
        String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000),
        "{{ " + String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000) + " }}",
        String(repeating: "{% if true %}", count: 20_000) + String(repeating: "{% endif %}", count: 20_000),
        "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "{{ 1/0 }}", "{{ 1 % 0 }}", "{{ 1 // 0 }}", "{{ 2**64 }}",
        "{{ 10**400 }}", "{{ 1e308*10 }}", "{{ 'abc'[::-1] }}", "{{ 'abc'[::0] }}", "{{ [1,2,3]|batch(0)|list }}",
        "{{ 'x'|wordwrap(0) }}", "{{ 'x'|truncate(-1) }}", "{{ 'x'|replace('', 'yy') }}", "{{ messages.__class__ }}",
        "{% for m in messages recursive %}{{ loop(messages) }}{% endfor %}", "{{ 9223372036854775807 + 1 }}",
        "{{ -9223372036854775807 - 2 }}", "{{ 9223372036854775807 * 2 }}", "{{ 2**-1 }}", "{{ 0**-1 }}",
        "{{ '%s%s%s'|format(1) }}", "{{ '{:>99999999999}'.format(1) }}", "{{ 'a' ~ 'b' * 99999999 }}",
        "{{ messages|tojson(indent=2**62) }}", "{{ range(0, 10, 0)|list }}", "{{ range(-2**63, 2**63-1, 2**62)|list }}",
        "{% set x = [] %}{% for i in range(100000) %}{% set x = x + [i] %}{% endfor %}{{ x|length }}",
        "{{ (messages * 1000000)|length }}", "{{ 'x'.ljust(10**12) }}", "{{ 'x'.zfill(2**63-1) }}", "{{ 'x'|join('y' * 10**9) }}",
        "{% for i in range(10**5) %}{{ i|string * 1000 }}{% endfor %}", "{{ dict(a=1)|dictsort(by='nope') }}",
        "{{ strftime_now('%' * 100000) }}", "{{ raise_exception('boom') }}", "{{ 0.1 + 2**1023 * 2 }}", "{{ -0.0 // 0.0 }}",
        "{% if %}", "{% for %}", "{{", "{%", "{# unterminated", "{% endfor %}", "{% set %}", "{{ ) }}", "{{ a.b.c.d.e }}",
    ]

    static let messageVocabulary: [String: [FuzzJSON]] = [
        "role": ["system", "user", "assistant", "tool", "ipython", "developer", "", "x"].map(FuzzJSON.string) + [.number("1"), .null],
        "content": [.null, .string(""), .number("1"), .array([.object([("type", .string("text")), ("text", .string("hi"))])]),
                    .array([.object([("type", .string("image"))])]), .object([]), .string(String(repeating: "x", count: 100_000))],
        "tool_calls": [.array([.object([("function", .object([("name", .string("f")), ("arguments", .string("{"))]))])]),
                       .array([.object([("function", .object([("name", .number("1")), ("arguments", .object([]))]))])]), .null, .string("x")],
        "reasoning_content": [.string("think"), .null, .number("0")],
        "name": [.string("f"), .null],
    ]
}
