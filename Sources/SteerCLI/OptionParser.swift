import Foundation

/// A command-line option a command accepts.
public struct OptionSpec: Sendable {
    public let name: String          // "--max-tokens"
    public let value: String?        // "N" for options taking a value; nil for flags
    public let help: String
    public let repeatable: Bool
    /// The command cannot run without it: shown in the usage line, marked in the help, and a missing one
    /// is a usage error.
    public let required: Bool

    public init(_ name: String, value: String? = nil, help: String, repeatable: Bool = false, required: Bool = false) {
        self.name = name; self.value = value; self.help = help; self.repeatable = repeatable; self.required = required
    }

    /// `--out DIR`, or the bare name of a flag.
    var synopsis: String { value.map { "\(name) \($0)" } ?? name }
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

    /// `usage: steer NAME ARGS --required VALUE … [options]`.
    public var usage: String {
        var s = "usage: steer \(name)"
        for (i, p) in positionals.enumerated() { s += i < requiredPositionals ? " \(p.name)" : " [\(p.name)]" }
        for o in options where o.required { s += " " + o.synopsis }
        if options.contains(where: { !$0.required }) { s += " [options]" }
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
        for o in options { lines.append("  " + pad(o.synopsis, 24) + (o.required ? "(required) " : "") + o.help) }
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
            if let missing = spec.options.first(where: { $0.required && out.values[$0.name] == nil && !out.flags.contains($0.name) }) {
                throw UsageError("missing required option \(missing.synopsis)")
            }
        }
        return out
    }

    public func flag(_ name: String) -> Bool { flags.contains(name) }
    public func string(_ name: String) -> String? { values[name]?.last }
    public func strings(_ name: String) -> [String] { values[name] ?? [] }
    public func positional(_ i: Int) -> String? { i < positionals.count ? positionals[i] : nil }

    /// An integer option, checked against `range` when given.
    public func int(_ name: String, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let s = string(name) else { return nil }
        return try Self.integer(s, option: name, range: range)
    }

    public func int(_ name: String, default d: Int, range: ClosedRange<Int>? = nil) throws -> Int {
        try int(name, range: range) ?? d
    }

    /// A finite number option, checked against `range` when given.
    public func double(_ name: String, range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let s = string(name) else { return nil }
        guard let v = Double(s), v.isFinite else { throw UsageError("option '\(name)' expects a number, got '\(s)'") }
        if let range, !range.contains(v) { throw UsageError("option '\(name)': \(s) is out of range (\(Self.describe(range)))") }
        return v
    }

    /// A comma-separated list of integers (`1,2,3`; ranges `a-b` are not allowed here), each in `range`
    /// (default: not negative — ids, layers, widths and sizes all are).
    public func intList(_ name: String, range: ClosedRange<Int> = 0...Int.max) throws -> [Int]? {
        guard let s = string(name) else { return nil }
        let parts = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try parts.map { try Self.integer($0, option: name, range: range, list: parts.count > 1 ? s : nil) }
    }

    /// Parses one integer: a malformed value and one outside `range` (or outside Int) are distinct usage errors.
    static func integer(_ s: String, option: String, range: ClosedRange<Int>?, list: String? = nil) throws -> Int {
        let context = list.map { " in '\($0)'" } ?? ""
        let digits = s.first.map { "+-".contains($0) } == true ? s.dropFirst() : Substring(s)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw UsageError("option '\(option)' expects \(list == nil ? "an integer" : "comma-separated integers"), got '\(s)'\(context)")
        }
        let bounds = range ?? Int.min...Int.max
        guard let v = Int(s), bounds.contains(v) else {
            throw UsageError("option '\(option)': \(s) is out of range (\(describe(bounds)))\(context)")
        }
        return v
    }

    static func describe(_ r: ClosedRange<Int>) -> String {
        switch (r.lowerBound == Int.min, r.upperBound == Int.max) {
        case (true, true): return "not a 64-bit integer"
        case (false, true): return "must be ≥ \(r.lowerBound)"
        case (true, false): return "must be ≤ \(r.upperBound)"
        case (false, false): return "must be in \(r.lowerBound)...\(r.upperBound)"
        }
    }

    static func describe(_ r: ClosedRange<Double>) -> String {
        r.upperBound == .greatestFiniteMagnitude ? "must be ≥ \(r.lowerBound)" : "must be in \(r.lowerBound)...\(r.upperBound)"
    }

    /// Checks token ids given with `option` against a vocabulary of `vocabularySize` tokens.
    public static func checkTokenIds(_ ids: [Int], option: String, vocabularySize: Int) throws {
        if let bad = ids.first(where: { !(0..<vocabularySize).contains($0) }) {
            throw UsageError("option '\(option)': token id \(bad) is out of range (the vocabulary has ids 0...\(vocabularySize - 1))")
        }
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
