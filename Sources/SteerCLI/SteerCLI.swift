import Foundation

/// A `steer` subcommand.
protocol Command {
    static var spec: CommandSpec { get }
    static func run(_ args: ParsedArguments, _ out: Console) throws
}

/// Where commands print: standard output for results, standard error for progress and errors.
/// Tests substitute buffers.
public final class Console {
    private let writeOut: (String) -> Void
    private let writeErr: (String) -> Void
    /// True when standard error is a terminal (progress lines redraw in place).
    public let isTerminal: Bool

    public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void, isTerminal: Bool = false) {
        writeOut = out; writeErr = err; self.isTerminal = isTerminal
    }

    public static let standard = Console(
        out: { s in FileHandle.standardOutput.write(Data(s.utf8)) },
        err: { s in FileHandle.standardError.write(Data(s.utf8)) },
        isTerminal: isatty(2) == 1)

    public func print(_ s: String, terminator: String = "\n") { writeOut(s + terminator) }
    public func info(_ s: String) { writeErr(s + "\n") }
    public func progress(_ s: String) { writeErr(isTerminal ? "\r\u{1B}[K" + s : s + "\n") }
    public func endProgress() { if isTerminal { writeErr("\n") } }
}

/// Entry point of the `steer` executable.
public enum SteerCLI {
    static let commands: [Command.Type] = [
        InfoCommand.self, LogitsCommand.self, GenerateCommand.self, TokenizeCommand.self, DetokenizeCommand.self,
        TemplateCommand.self, CaptureCommand.self, RefusalCommand.self, LocalityCommand.self, SearchCommand.self, LeaceCommand.self,
        AbliterateCommand.self,
        VectorCommand.self, RolloutsCommand.self, TraceCommand.self, ProfilesCommand.self, ArticulationCommand.self,
        DemoCommand.self, BenchCommand.self, GradientCommand.self, LatentsCommand.self,
    ]

    public static let version = "0.1.0"

    static var overview: String {
        var lines = ["steer \(version) — find directions inside transformer language models and intervene with them.",
                     "", "usage: steer COMMAND [arguments] [options]", "", "commands:"]
        let width = (commands.map { $0.spec.name.count }.max() ?? 0) + 2
        for c in commands { lines.append("  " + c.spec.name.padding(toLength: width, withPad: " ", startingAt: 0) + c.spec.summary) }
        lines += ["", "Run 'steer COMMAND --help' for a command's arguments and options."]
        return lines.joined(separator: "\n")
    }

    /// Runs a command line (without the program name); returns the exit status.
    public static func main(_ args: [String], console: Console = .standard) -> Int32 {
        guard let first = args.first else {
            console.info(overview)
            return 64
        }
        if first == "-h" || first == "--help" || first == "help" { console.print(overview); return 0 }
        if first == "--version" || first == "version" { console.print("steer \(version)"); return 0 }
        guard let command = commands.first(where: { $0.spec.name == first }) else {
            console.info("steer: unknown command '\(first)'\n\n" + overview)
            return 64
        }
        let spec = command.spec
        do {
            let parsed = try ParsedArguments.parse(Array(args.dropFirst()), spec: spec)
            if parsed.helpRequested { console.print(spec.help); return 0 }
            try command.run(parsed, console)
            return 0
        } catch let e as UsageError {
            console.info("steer \(spec.name): \(e.message)\n\(spec.usage)\nRun 'steer \(spec.name) --help' for more.")
            return 64
        } catch {
            console.info("steer \(spec.name): error: \(error)")
            return 1
        }
    }
}
