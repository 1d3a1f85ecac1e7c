import Foundation

/// Python's two string-formatting operations as templates use them: `"fmt" % args` (the `format` filter too) and
/// `str.format`. Widths and precisions are checked against the sandbox's string limit before any padding is built.
enum StringFormat {
    /// `str.format` with `{}`, `{0}` and `{name}` fields (no format specs beyond plain conversion).
    static func format(_ s: String, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)], _ sandbox: Sandbox) throws -> String {
        var out = ""
        var auto = 0
        var chars = Array(s)[...]
        while let ch = chars.popFirst() {
            if ch == "{" {
                if chars.first == "{" { chars.removeFirst(); out += "{"; continue }
                var field = ""
                while let c = chars.popFirst(), c != "}" { field.append(c) }
                let key = field.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
                let value: TemplateValue
                if key.isEmpty { value = auto < args.count ? args[auto] : .undefined; auto += 1 }
                else if let i = Int(key) { value = i >= 0 && i < args.count ? args[i] : .undefined }
                else { value = kwargs.first { $0.0 == key }?.1 ?? .undefined }
                if value.isUndefined { throw TemplateError(.type, "format field '\(field)' has no value") }
                try sandbox.append(try sandbox.str(value), to: &out)
            } else if ch == "}" {
                if chars.first == "}" { chars.removeFirst() }
                out += "}"
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// One `%` conversion: flags, width and precision as parsed.
    private struct Spec {
        var flags = Set<Character>()
        var width = 0
        var precision: Int?
    }

    /// `"fmt" % args`: `%s %r %a %d %i %u %x %X %o %e %E %f %F %g %G %c %%` with flags `-+ 0#`, widths, precisions
    /// and `%(key)s` for a dict argument. Only a tuple spreads into several arguments, as in Python.
    static func percent(_ fmt: String, _ args: TemplateValue, _ sandbox: Sandbox) throws -> String {
        var values: [TemplateValue]
        if case .tuple(let t) = args { values = t } else { values = [args] }
        var next = 0
        func take() throws -> TemplateValue {
            guard next < values.count else { throw TemplateError(.type, "not enough arguments for format string") }
            next += 1
            return values[next - 1]
        }
        func number(_ chars: inout ArraySlice<Character>) throws -> Int? {
            if chars.first == "*" {
                chars.removeFirst()
                guard let n = try take().intValue else { throw TemplateError(.type, "* wants int") }
                return n
            }
            var digits = ""
            while let c = chars.first, c.isASCII, c.isNumber { digits.append(c); chars.removeFirst() }
            if digits.isEmpty { return nil }
            guard let n = Int(digits) else { throw TemplateError(.overflow, "width too big") }
            return n
        }
        var out = ""
        var usedMapping = false
        var chars = Array(fmt)[...]
        while let ch = chars.popFirst() {
            guard ch == "%" else { out.append(ch); continue }
            var value: TemplateValue?
            if chars.first == "(" {
                chars.removeFirst()
                var key = ""
                while let c = chars.popFirst(), c != ")" { key.append(c) }
                guard case .object(let o) = args else { throw TemplateError(.type, "format requires a mapping") }
                guard let v = o[key] else { throw TemplateError(.type, "KeyError: '\(key)'") }
                value = v
                usedMapping = true
            }
            var spec = Spec()
            while let c = chars.first, "-+ 0#".contains(c) { spec.flags.insert(c); chars.removeFirst() }
            var width = try number(&chars) ?? 0
            if width < 0 { spec.flags.insert("-"); width = -width }  // a negative `*` width left-justifies
            spec.width = width
            if chars.first == "." {
                chars.removeFirst()
                spec.precision = max(0, try number(&chars) ?? 0)
            }
            while let c = chars.first, "hlL".contains(c) { chars.removeFirst() }
            guard let conv = chars.popFirst() else { throw TemplateError(.type, "incomplete format") }
            if conv == "%" { out += "%"; continue }
            // CPython keeps the precision in a C int.
            if (spec.precision ?? 0) > Int(Int32.max) { throw TemplateError(.type, "precision too big") }
            try sandbox.checkString(bytes: spec.width)
            try sandbox.checkString(bytes: spec.precision ?? 0)
            let piece = try convert(conv, value ?? take(), spec, sandbox)
            try sandbox.append(pad(piece, spec), to: &out)
        }
        if !usedMapping && next < values.count {
            throw TemplateError(.type, "not all arguments converted during string formatting")
        }
        return out
    }

    private static func convert(_ conv: Character, _ v: TemplateValue, _ spec: Spec, _ sandbox: Sandbox) throws -> (sign: String, body: String, numeric: Bool) {
        switch conv {
        case "s", "r", "a":
            var s = conv == "s" ? try sandbox.str(v) : try PythonFormat.repr(v, limit: sandbox.limits.maxStringBytes)
            if let p = spec.precision, s.unicodeScalars.count > p { s = String(String.UnicodeScalarView(s.unicodeScalars.prefix(p))) }
            return ("", s, false)
        case "d", "i", "u", "x", "X", "o":
            let i: Int
            if let n = v.intValue { i = n }
            else if case .double(let d) = v, conv == "d" || conv == "i" || conv == "u" { i = try Operators.truncate(d) }
            else if case .double = v { throw TemplateError(.type, "%\(conv) format: an integer is required, not float") }
            else { throw TemplateError(.type, "%\(conv) format: a real number is required, not \(v.typeName)") }
            let radix = conv == "x" || conv == "X" ? 16 : (conv == "o" ? 8 : 10)
            var digits = String(i.magnitude, radix: radix, uppercase: conv == "X")
            if let p = spec.precision, digits.count < p { digits = String(repeating: "0", count: p - digits.count) + digits }
            if spec.flags.contains("#") && radix != 10 { digits = (radix == 16 ? (conv == "X" ? "0X" : "0x") : "0o") + digits }
            return (sign(i < 0, spec), digits, true)
        case "e", "E", "f", "F", "g", "G":
            guard let d = v.number else { throw TemplateError(.type, "must be real number, not \(v.typeName)") }
            if !d.isFinite {
                let word = d.isNaN ? "nan" : "inf"
                return (sign(d < 0, spec), conv.isUppercase ? word.uppercased() : word, false)
            }
            let alt = spec.flags.contains("#") ? "#" : ""
            let body = String(format: "%\(alt).\(spec.precision ?? 6)\(conv)", abs(d))
            return (sign(d.sign == .minus, spec), body, true)
        case "c":
            if case .string(let s) = v, s.unicodeScalars.count == 1 { return ("", s, false) }
            guard let n = v.intValue, let u = UInt32(exactly: n), let scalar = Unicode.Scalar(u) else {
                throw TemplateError(.overflow, "%c arg not in range(0x110000)")
            }
            return ("", String(scalar), false)
        default:
            throw TemplateError(.type, "unsupported format character '\(conv)'")
        }
    }

    private static func sign(_ negative: Bool, _ spec: Spec) -> String {
        negative ? "-" : (spec.flags.contains("+") ? "+" : (spec.flags.contains(" ") ? " " : ""))
    }

    /// Fills to the width: left-justified with `-`, zeros after the sign with `0` (numbers only), else spaces before.
    private static func pad(_ piece: (sign: String, body: String, numeric: Bool), _ spec: Spec) -> String {
        let text = piece.sign + piece.body
        let missing = spec.width - text.unicodeScalars.count
        guard missing > 0 else { return text }
        if spec.flags.contains("-") { return text + String(repeating: " ", count: missing) }
        if spec.flags.contains("0") && piece.numeric {
            // Zeros go after a sign and a 0x / 0o prefix.
            let prefixLength = piece.body.hasPrefix("0x") || piece.body.hasPrefix("0X") || piece.body.hasPrefix("0o") ? 2 : 0
            let prefix = piece.body.prefix(prefixLength)
            return piece.sign + prefix + String(repeating: "0", count: missing) + piece.body.dropFirst(prefixLength)
        }
        return String(repeating: " ", count: missing) + text
    }
}
