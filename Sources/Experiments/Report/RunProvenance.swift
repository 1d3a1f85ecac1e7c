import Foundation

/// Where a report's numbers come from — the command, seed, model and tool — printed on the page so that a
/// reader can reproduce them without the run folder's `config.json`.
public struct RunProvenance: Sendable {
    /// The command line as typed.
    public var command: String
    /// E.g. "steer 0.1.0".
    public var tool: String
    /// The seed of the prompt split (nil when the splits were given as files and nothing was subsampled).
    public var seed: Int?
    /// SHA-256 over the model's files (names and their SHA-256).
    public var modelHash: String?
    public var threads: Int?
    /// Further facts in display order, e.g. the prompt files' SHA-256.
    public var details: [(String, String)]

    public init(command: String, tool: String, seed: Int? = nil, modelHash: String? = nil, threads: Int? = nil,
                details: [(String, String)] = []) {
        self.command = command
        self.tool = tool
        self.seed = seed
        self.modelHash = modelHash
        self.threads = threads
        self.details = details
    }

    /// The facts as key–value rows.
    public var rows: [(String, String)] {
        var out: [(String, String)] = [("command", command), ("tool", tool)]
        if let seed { out.append(("seed", String(seed))) }
        if let modelHash { out.append(("model files (SHA-256 of their hashes)", modelHash)) }
        if let threads { out.append(("threads", String(threads))) }
        return out + details
    }

    /// A section with the facts, and the footer line naming tool and command.
    func add(to page: inout HTMLReport) {
        page.heading("Provenance")
        page.keyValues(rows)
        page.footer = (page.footer.map { $0 + "\n" } ?? "") + "\(tool): \(command)"
    }
}
