import Foundation

/// How many cases of one kind ended each way.
public struct FuzzCounts: Equatable, Sendable {
    public var success = 0, cleanError = 0, crash = 0, timeout = 0

    public init() {}

    public var total: Int { success + cleanError + crash + timeout }
    /// Crashes and timeouts: the findings.
    public var findings: Int { crash + timeout }

    public mutating func add(_ outcome: FuzzOutcome) {
        switch outcome {
        case .success: success += 1
        case .cleanError: cleanError += 1
        case .crash: crash += 1
        case .timeout: timeout += 1
        }
    }
}

/// What a run found for one kind.
public struct FuzzResult {
    public var kind: FuzzKind
    public var counts: FuzzCounts
    /// Clean errors grouped by `FuzzReport.errorClass`.
    public var errors: [String: Int]
    /// Crash signatures (`FuzzReport.crashSignature`) and "timeout", with counts.
    public var findings: [String: Int]
}

/// The run's summary: a table per kind, the commonest clean errors, and `summary.json`.
public enum FuzzReport {
    /// A clean error's message with numbers and quoted names blanked, to group similar errors.
    static func errorClass(_ message: String) -> String {
        // Addresses differ per run: "0x7ffe…" becomes "<addr>".
        var message = message
        while let r = message.range(of: "0x[0-9a-fA-F]+", options: .regularExpression) { message.replaceSubrange(r, with: "<addr>") }
        var out = ""
        var inQuote: Character?
        var lastDigit = false
        for ch in message.prefix(160) {
            if let q = inQuote { if ch == q { inQuote = nil; out.append(ch) }; continue }
            if ch == "'" || ch == "\"" { inQuote = ch; out.append(ch); out.append("…"); continue }
            if ch.isNumber { if !lastDigit { out.append("#") }; lastDigit = true; continue }
            lastDigit = false
            out.append(ch)
        }
        // Paths differ per case folder; keep only what follows the last path.
        if let r = out.range(of: "/case-#/") { out = String(out[r.upperBound...]) }
        return out
    }

    /// What a crash log says went wrong, and where: the fatal error or runtime failure (numbers
    /// blanked) and the first frame in Steer's sources, so crashes can be grouped.
    static func crashSignature(_ log: String) -> String {
        let lines = log.split(separator: "\n").map(String.init)
        var reason = lines.first { $0.contains("Fatal error:") || $0.contains("Program crashed:") } ?? ""
        if let failure = lines.first(where: { $0.contains("Swift runtime failure:") }),
           let r = failure.range(of: "Swift runtime failure: ") {
            // "*** Swift runtime failure: X ***", or a frame "… Swift runtime failure: X in binary at …".
            var text = failure[r.upperBound...]
            if let tail = text.range(of: " in \\S+ at ", options: .regularExpression) { text = text[..<tail.lowerBound] }
            reason = String(text)
        }
        if reason.isEmpty { reason = lines.first { $0.hasPrefix("***") } ?? "no message" }
        reason = errorClass(reason.replacingOccurrences(of: "*", with: "").trimmingCharacters(in: .whitespaces))
        // The first frame in Steer's sources outside the harness: "… 0x55… function + 12 in binary at /…/Sources/M/F.swift:L:C".
        var location = "?"
        let harness = ["/Sources/FuzzKit/", "/Sources/steer-fuzz/"]
        if let frame = lines.first(where: { line in line.contains("/Sources/") && !harness.contains { line.contains($0) } }),
           let src = frame.range(of: "/Sources/"),
           let at = frame.range(of: " at ", options: .backwards, range: frame.startIndex..<src.lowerBound),
           let inBinary = frame.range(of: " in ", options: .backwards, range: frame.startIndex..<at.lowerBound) {
            let words = frame[..<inBinary.lowerBound].split(separator: " ")
            let function = words.drop { !$0.hasPrefix("0x") }.dropFirst().joined(separator: " ")
                .components(separatedBy: " + ").first ?? ""
            location = String(frame[src.upperBound...]).components(separatedBy: ":").prefix(2).joined(separator: ":")
                + (function.isEmpty ? "" : " (\(function.prefix(80)))")
        }
        return "\(reason) @ \(location)"
    }

    static func progressLine(_ lanes: [FuzzSupervisor.Lane]) -> String {
        lanes.filter { $0.counts.total > 0 }.map { l in
            "\(l.kind.rawValue) \(l.counts.total) (crash \(l.counts.crash), timeout \(l.counts.timeout))"
        }.joined(separator: " · ")
    }

    /// The table printed at the end of a run.
    public static func table(_ results: [FuzzResult], seconds: Double, topErrors: Int = 0) -> String {
        func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        var out = "kind          cases   success  clean-error  crash  timeout\n"
        var sum = FuzzCounts()
        for r in results {
            let c = r.counts
            out += r.kind.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                + pad(String(c.total), 7) + pad(String(c.success), 10) + pad(String(c.cleanError), 13)
                + pad(String(c.crash), 7) + pad(String(c.timeout), 9) + "\n"
            sum.success += c.success; sum.cleanError += c.cleanError; sum.crash += c.crash; sum.timeout += c.timeout
        }
        out += "all".padding(toLength: 12, withPad: " ", startingAt: 0) + pad(String(sum.total), 7) + pad(String(sum.success), 10)
            + pad(String(sum.cleanError), 13) + pad(String(sum.crash), 7) + pad(String(sum.timeout), 9)
            + String(format: "   (%.0f s, %.0f cases/s)\n", seconds, Double(sum.total) / max(seconds, 0.001))
        func list(_ title: String, _ entries: [String: Int], _ limit: Int) {
            out += title + "\n"
            for (message, n) in entries.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }).prefix(limit) {
                out += "  \(pad(String(n), 7))  \(message)\n"
            }
        }
        for r in results where !r.findings.isEmpty { list("\(r.kind.rawValue): crashes and timeouts by signature", r.findings, 50) }
        if topErrors > 0 {
            for r in results where !r.errors.isEmpty { list("\(r.kind.rawValue): commonest clean errors", r.errors, topErrors) }
        }
        return out
    }

    /// `summary.json`: the options and counts per kind.
    public static func json(_ results: [FuzzResult], seed: UInt64, seconds: Double) -> Data {
        var kinds: [String: Any] = [:]
        for r in results {
            let c = r.counts
            kinds[r.kind.rawValue] = ["cases": c.total, "success": c.success, "clean_error": c.cleanError,
                                      "crash": c.crash, "timeout": c.timeout, "findings": r.findings]
        }
        let object: [String: Any] = ["seed": String(seed), "seconds": Int(seconds), "kinds": kinds]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }
}
