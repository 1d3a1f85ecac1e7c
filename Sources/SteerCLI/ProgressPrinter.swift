import Foundation

/// A progress line per stage: `stage done/total, elapsed, ETA`, redrawn in place on a terminal and
/// printed at most every few seconds otherwise.
final class ProgressPrinter {
    let console: Console
    private var stage = ""
    private var start = Date()
    private var lastPrint = Date.distantPast

    init(console: Console) { self.console = console }

    func update(_ name: String, _ done: Int, _ total: Int) {
        if name != stage {
            if !stage.isEmpty { console.endProgress() }
            stage = name
            start = Date()
            lastPrint = .distantPast
        }
        let now = Date()
        let finished = done >= total
        guard finished || now.timeIntervalSince(lastPrint) >= (console.isTerminal ? 0.2 : 5) else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        var line = "[\(name)] \(done)/\(total)  \(Self.format(elapsed))"
        if done > 0 && !finished { line += "  ETA \(Self.format(elapsed / Double(done) * Double(total - done)))" }
        console.progress(line)
    }

    func finish() { if !stage.isEmpty { console.endProgress() }; stage = "" }

    static func format(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : String(format: "%.1fs", s)
    }
}
