import Foundation

/// A command-line option a command accepts.
public struct OptionSpec: Sendable {
    public let name: String          // "--max-tokens"
    public let value: String?        // "N" for options taking a value; nil for flags
    public let help: String
    public let repeatable: Bool

    public init(_ name: String, value: String? = nil, help: String, repeatable: Bool = false) {
        self.name = name; self.value = value; self.help = help; self.repeatable = repeatable
    }
}

/// A subcommand's grammar, used for parsing and for `--help`.
public struct CommandSpec: Sendable {
    public let name: String
    public let summary: String
    public let positionals: [(name: String, help: String)]
    /// Positionals after the listed ones are optional (their count may be lower).
    public let requiredPositionals: Int
    public let options: [OptionSpec]
    public let discussion: String

    public init(name: String, summary: String, positionals: [(name: String, help: String)] = [],
                requiredPositionals: Int? = nil, options: [OptionSpec] = [], discussion: String = "") {
        self.name = name; self.summary = summary; self.positionals = positionals
        self.requiredPositionals = requiredPositionals ?? positionals.count
        self.options = options; self.discussion = discussion
    }

    public var usage: String {
        var s = "usage: steer \(name)"
        for (i, p) in positionals.enumerated() { s += i < requiredPositionals ? " \(p.name)" : " [\(p.name)]" }
        if !options.isEmpty { s += " [options]" }
        return s
    }

    public var help: String {
        var lines = ["\(summary)", "", usage]
        if !positionals.isEmpty {
            lines.append("")
            lines.append("arguments:")
            for p in positionals { lines.append("  " + pad(p.name, 24) + p.help) }
        }
        lines.append("")
        lines.append("options:")
        for o in options {
            let left = o.value.map { "\(o.name) \($0)" } ?? o.name
            lines.append("  " + pad(left, 24) + o.help)
        }
        lines.append("  " + pad("-h, --help", 24) + "show this help")
        if !discussion.isEmpty { lines += ["", discussion] }
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + "  " : s + String(repeating: " ", count: n - s.count) }
}

/// A problem with the command line itself: printed with the usage line, exit status 64 (EX_USAGE).
public struct UsageError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The parsed command line of one subcommand, with typed accessors that raise `UsageError`.
public struct ParsedArguments {
    public var positionals: [String] = []
    public var values: [String: [String]] = [:]
    public var flags: Set<String> = []
    public var helpRequested = false

    /// Parses `args` against `spec`: `--opt value`, `--opt=value`, flags, and `--` ending options.
    public static func parse(_ args: [String], spec: CommandSpec) throws -> ParsedArguments {
        var out = ParsedArguments()
        var i = 0
        var optionsEnded = false
        while i < args.count {
            let a = args[i]
            i += 1
            if optionsEnded || !a.hasPrefix("-") || a == "-" || Double(a) != nil {
                out.positionals.append(a)
                continue
            }
            if a == "--" { optionsEnded = true; continue }
            if a == "-h" || a == "--help" { out.helpRequested = true; continue }
            var name = a, inline: String?
            if let eq = a.firstIndex(of: "=") { name = String(a[..<eq]); inline = String(a[a.index(after: eq)...]) }
            guard let opt = spec.options.first(where: { $0.name == name }) else {
                let close = spec.options.map(\.name).filter { $0.hasPrefix(name) || name.hasPrefix($0) }
                let hint = close.isEmpty ? "" : " (did you mean \(close.joined(separator: ", "))?)"
                throw UsageError("unknown option '\(name)' for 'steer \(spec.name)'\(hint)")
            }
            if opt.value == nil {
                if inline != nil { throw UsageError("option '\(name)' takes no value") }
                out.flags.insert(name)
                continue
            }
            let v: String
            if let inline { v = inline } else {
                guard i < args.count else { throw UsageError("option '\(name)' needs a value (\(opt.value ?? ""))") }
                v = args[i]
                i += 1
            }
            if out.values[name] != nil && !opt.repeatable { throw UsageError("option '\(name)' given more than once") }
            out.values[name, default: []].append(v)
        }
        if !out.helpRequested {
            if out.positionals.count < spec.requiredPositionals {
                let missing = spec.positionals[out.positionals.count].name
                throw UsageError("missing argument \(missing)")
            }
            if out.positionals.count > spec.positionals.count {
                throw UsageError("unexpected argument '\(out.positionals[spec.positionals.count])'")
            }
        }
        return out
    }

    public func flag(_ name: String) -> Bool { flags.contains(name) }
    public func string(_ name: String) -> String? { values[name]?.last }
    public func strings(_ name: String) -> [String] { values[name] ?? [] }
    public func positional(_ i: Int) -> String? { i < positionals.count ? positionals[i] : nil }

    public func int(_ name: String) throws -> Int? {
        guard let s = string(name) else { return nil }
        guard let v = Int(s) else { throw UsageError("option '\(name)' expects an integer, got '\(s)'") }
        return v
    }

    public func int(_ name: String, default d: Int, range: ClosedRange<Int>? = nil) throws -> Int {
        let v = try int(name) ?? d
        if let range, !range.contains(v) {
            throw UsageError("option '\(name)' must be in \(range.lowerBound)...\(range.upperBound), got \(v)")
        }
        return v
    }

    public func double(_ name: String) throws -> Double? {
        guard let s = string(name) else { return nil }
        guard let v = Double(s), v.isFinite else { throw UsageError("option '\(name)' expects a number, got '\(s)'") }
        return v
    }

    /// A comma-separated list of integers (`1,2,3`); ranges `a-b` are not allowed here.
    public func intList(_ name: String) throws -> [Int]? {
        guard let s = string(name) else { return nil }
        let parts = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [Int] = []
        for p in parts {
            guard let v = Int(p) else { throw UsageError("option '\(name)' expects comma-separated integers, got '\(p)' in '\(s)'") }
            out.append(v)
        }
        return out
    }

    /// One of a fixed set of words.
    public func choice(_ name: String, _ allowed: [String], default d: String) throws -> String {
        let v = string(name) ?? d
        guard allowed.contains(v) else {
            throw UsageError("option '\(name)' must be one of \(allowed.joined(separator: ", ")), got '\(v)'")
        }
        return v
    }
}
