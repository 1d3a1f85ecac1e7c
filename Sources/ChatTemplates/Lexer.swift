/// A token of template source: literal text between tags, tag delimiters, or a piece of an expression.
enum TokenKind: Equatable {
    case text(String)
    case varBegin, varEnd, blockBegin, blockEnd
    case name(String)
    case string(String)
    case int(Int)
    case float(Double)
    case op(String)
    case eof
}

struct Token {
    let kind: TokenKind
    let pos: SourcePos
}

/// Splits template source into tokens the way Jinja's lexer does with transformers' settings:
/// `trim_blocks` and `lstrip_blocks` on, `-`/`+` whitespace control, comments dropped, `raw` blocks
/// passed through, newlines normalised to `\n` and one trailing newline removed (`keep_trailing_newline=False`).
struct Lexer {
    private let c: [Unicode.Scalar]
    private var lineStarts: [Int] = [0]
    private var tokens: [Token] = []
    /// Whether the last thing consumed ended with a newline (Jinja's `line_starting`, used by `lstrip_blocks`).
    private var lineStarting = true

    init(_ source: String) {
        var text = source.replacingCRLF()
        if text.hasSuffix("\n") { text.removeLast() }
        c = Array(text.unicodeScalars)
        for (i, ch) in c.enumerated() where ch == "\n" { lineStarts.append(i + 1) }
    }

    func position(_ index: Int) -> SourcePos {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= index { lo = mid } else { hi = mid - 1 }
        }
        return SourcePos(line: lo + 1, column: index - lineStarts[lo] + 1)
    }

    private func at(_ i: Int) -> Unicode.Scalar? { i < c.count ? c[i] : nil }

    private func isSpace(_ s: Unicode.Scalar?) -> Bool {
        guard let s else { return false }
        return s == " " || s == "\t" || s == "\n" || s == "\r" || s == "\u{0B}" || s == "\u{0C}"
    }

    private func string(_ from: Int, _ to: Int) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: c[from..<to])
        return String(s)
    }

    /// Text before a tag, after `-` stripping or `lstrip_blocks`.
    private func leadingText(_ from: Int, _ to: Int, strip: Unicode.Scalar?, isBlock: Bool) -> String {
        var end = to
        if strip == "-" {
            while end > from, isSpace(c[end - 1]) { end -= 1 }
        } else if strip != "+" && isBlock {
            var lineStart = end
            while lineStart > from, c[lineStart - 1] != "\n" { lineStart -= 1 }
            if lineStart > from || lineStarting {
                let onlyBlanks = (lineStart..<end).allSatisfy { isSpace(c[$0]) }
                if onlyBlanks && lineStart < end { end = lineStart }
            }
        }
        return string(from, end)
    }

    /// Consumes what follows a closing delimiter (`-` strips all whitespace, `trim_blocks` one newline).
    private mutating func afterTagEnd(_ i: Int, strip: Unicode.Scalar?, trimNewline: Bool) -> Int {
        var j = i
        if strip == "-" {
            while isSpace(at(j)) { j += 1 }
        } else if strip != "+" && trimNewline && at(j) == "\n" {
            j += 1
        }
        lineStarting = j > 0 && c[j - 1] == "\n"
        return j
    }

    mutating func tokenize() throws -> [Token] {
        var i = 0
        while i < c.count {
            // Find the next tag opening.
            var j = i
            while j + 1 < c.count, !(c[j] == "{" && (c[j + 1] == "{" || c[j + 1] == "%" || c[j + 1] == "#")) { j += 1 }
            if j + 1 >= c.count {
                tokens.append(Token(kind: .text(string(i, c.count)), pos: position(i)))
                break
            }
            let kind = c[j + 1]
            var k = j + 2
            var strip: Unicode.Scalar?
            if at(k) == "-" || at(k) == "+" { strip = c[k]; k += 1 }
            let text = leadingText(i, j, strip: strip, isBlock: kind != "{")
            if !text.isEmpty { tokens.append(Token(kind: .text(text), pos: position(i))) }
            switch kind {
            case "#":
                var e = k
                while e + 1 < c.count, !(c[e] == "#" && c[e + 1] == "}") { e += 1 }
                if e + 1 >= c.count { throw TemplateError(.syntax, "Missing end of comment tag", line: position(j).line, column: position(j).column) }
                let endStrip: Unicode.Scalar? = (e > k && (c[e - 1] == "-" || c[e - 1] == "+")) ? c[e - 1] : nil
                i = afterTagEnd(e + 2, strip: endStrip, trimNewline: true)
            case "%":
                if let after = try rawBlock(from: k, tagStart: j) { i = after; continue }
                tokens.append(Token(kind: .blockBegin, pos: position(j)))
                i = try lexTagBody(from: k, isBlock: true)
            default:
                tokens.append(Token(kind: .varBegin, pos: position(j)))
                i = try lexTagBody(from: k, isBlock: false)
            }
        }
        tokens.append(Token(kind: .eof, pos: position(c.count)))
        return tokens
    }

    /// Matches `name` at `i` followed by a non-identifier character.
    private func word(_ name: String, at i: Int) -> Bool {
        let w = Array(name.unicodeScalars)
        guard i + w.count <= c.count, Array(c[i..<i + w.count]) == w else { return false }
        if let n = at(i + w.count), n.properties.isAlphabetic || n == "_" || ("0"..."9").contains(n) { return false }
        return true
    }

    /// Matches `[-+]? '%}'` at `i`; returns the strip sign and the index after `%}`.
    private func blockClose(at i: Int) -> (Unicode.Scalar?, Int)? {
        var k = i
        var sign: Unicode.Scalar?
        if at(k) == "-" || at(k) == "+" { sign = c[k]; k += 1 }
        return (at(k) == "%" && at(k + 1) == "}") ? (sign, k + 2) : nil
    }

    /// Handles `{% raw %}…{% endraw %}`; returns the index after it, or nil if the tag is not `raw`.
    private mutating func rawBlock(from start: Int, tagStart: Int) throws -> Int? {
        var k = start
        while isSpace(at(k)) { k += 1 }
        guard word("raw", at: k) else { return nil }
        k += 3
        while isSpace(at(k)) { k += 1 }
        guard let (openSign, bodyStart0) = blockClose(at: k) else { return nil }
        let bodyStart = afterTagEnd(bodyStart0, strip: openSign, trimNewline: false)
        var e = bodyStart
        while e + 1 < c.count {
            if c[e] == "{" && c[e + 1] == "%" {
                var m = e + 2
                var sign: Unicode.Scalar?
                if at(m) == "-" || at(m) == "+" { sign = c[m]; m += 1 }
                while isSpace(at(m)) { m += 1 }
                if word("endraw", at: m) {
                    m += 6
                    while isSpace(at(m)) { m += 1 }
                    if let (closeSign, after) = blockClose(at: m) {
                        let body = leadingText(bodyStart, e, strip: sign, isBlock: true)
                        if !body.isEmpty { tokens.append(Token(kind: .text(body), pos: position(bodyStart))) }
                        return afterTagEnd(after, strip: closeSign, trimNewline: true)
                    }
                }
            }
            e += 1
        }
        let p = position(tagStart)
        throw TemplateError(.syntax, "Missing end of raw directive", line: p.line, column: p.column)
    }

    /// Lexes the expression tokens inside `{{ … }}` or `{% … %}` and the closing delimiter.
    private mutating func lexTagBody(from start: Int, isBlock: Bool) throws -> Int {
        var i = start
        var depth = 0  // open brackets: a closing delimiter inside them is just braces
        while true {
            while isSpace(at(i)) { i += 1 }
            guard let ch = at(i) else {
                let p = position(i)
                throw TemplateError(.syntax, "unexpected end of template", line: p.line, column: p.column)
            }
            if depth == 0 {
                var k = i
                var sign: Unicode.Scalar?
                if ch == "-" || (isBlock && ch == "+") { sign = ch; k += 1 }
                let closer: Unicode.Scalar = isBlock ? "%" : "}"
                if at(k) == closer && at(k + 1) == "}" {
                    tokens.append(Token(kind: isBlock ? .blockEnd : .varEnd, pos: position(i)))
                    return afterTagEnd(k + 2, strip: sign, trimNewline: isBlock)
                }
            }
            let pos = position(i)
            if ch == "'" || ch == "\"" {
                let (s, next) = try lexString(i)
                tokens.append(Token(kind: .string(s), pos: pos))
                i = next
            } else if ("0"..."9").contains(ch) {
                i = try lexNumber(i, pos: pos)
            } else if ch.properties.isAlphabetic || ch == "_" {
                var k = i
                while let n = at(k), n.properties.isAlphabetic || n == "_" || ("0"..."9").contains(n) { k += 1 }
                tokens.append(Token(kind: .name(string(i, k)), pos: pos))
                i = k
            } else {
                let two = i + 1 < c.count ? string(i, i + 2) : ""
                if ["//", "**", "==", "!=", "<=", ">="].contains(two) {
                    tokens.append(Token(kind: .op(two), pos: pos))
                    i += 2
                } else if "+-*/%~<>=.,:|()[]{}".unicodeScalars.contains(ch) {
                    if "([{".unicodeScalars.contains(ch) { depth += 1 }
                    if ")]}".unicodeScalars.contains(ch) { depth = max(0, depth - 1) }
                    tokens.append(Token(kind: .op(String(ch)), pos: pos))
                    i += 1
                } else {
                    throw TemplateError(.syntax, "unexpected char '\(ch)'", line: pos.line, column: pos.column)
                }
            }
        }
    }

    private mutating func lexNumber(_ start: Int, pos: SourcePos) throws -> Int {
        var i = start
        func digits() { while let d = at(i), ("0"..."9").contains(d) || d == "_" { i += 1 } }
        digits()
        var isFloat = false
        let afterDot = tokens.last.map { $0.kind == .op(".") } ?? false  // `xs.0.1` is two lookups, not a float
        if !afterDot, at(i) == ".", let d = at(i + 1), ("0"..."9").contains(d) { isFloat = true; i += 1; digits() }
        if !afterDot, at(i) == "e" || at(i) == "E" {
            var k = i + 1
            if at(k) == "+" || at(k) == "-" { k += 1 }
            if let d = at(k), ("0"..."9").contains(d) { isFloat = true; i = k; digits() }
        }
        let text = string(start, i).replacingOccurrences(of: "_", with: "")
        if isFloat, let d = Double(text) { tokens.append(Token(kind: .float(d), pos: pos)) }
        else if let n = Int(text) { tokens.append(Token(kind: .int(n), pos: pos)) }
        else if !isFloat, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // Python reads it as a big integer; Steer's integers are 64-bit.
            throw TemplateError(.overflow, "integer literal \(text) exceeds 64 bits", line: pos.line, column: pos.column)
        } else { throw TemplateError(.syntax, "bad number '\(text)'", line: pos.line, column: pos.column) }
        return i
    }

    /// A quoted string literal with Python escapes.
    private func lexString(_ start: Int) throws -> (String, Int) {
        let quote = c[start]
        var out = String.UnicodeScalarView()
        var i = start + 1
        while let ch = at(i) {
            if ch == quote { return (String(out), i + 1) }
            if ch == "\\", let e = at(i + 1) {
                i += 2
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "0": out.append("\0")
                case "a": out.append("\u{07}")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "v": out.append("\u{0B}")
                case "\\", "'", "\"": out.append(e)
                case "\n": break
                case "x", "u", "U":
                    let width = e == "x" ? 2 : (e == "u" ? 4 : 8)
                    if i + width <= c.count, let v = UInt32(string(i, i + width), radix: 16), let s = Unicode.Scalar(v) {
                        out.append(s)
                        i += width
                    } else { out.append("\\"); out.append(e) }
                default: out.append("\\"); out.append(e)
                }
                continue
            }
            out.append(ch)
            i += 1
        }
        let p = position(start)
        throw TemplateError(.syntax, "unexpected end of string", line: p.line, column: p.column)
    }
}

extension String {
    /// Normalises `\r\n` and lone `\r` to `\n`, as Jinja does for template source.
    func replacingCRLF() -> String {
        guard unicodeScalars.contains("\r") else { return self }
        var out = String.UnicodeScalarView()
        var prevCR = false
        for s in unicodeScalars {
            if s == "\r" { out.append("\n"); prevCR = true; continue }
            if s == "\n" && prevCR { prevCR = false; continue }
            prevCR = false
            out.append(s)
        }
        return String(out)
    }
}
