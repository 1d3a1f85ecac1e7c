import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The input kinds the harness mutates, each with its own structure-aware mutator and target.
public enum FuzzKind: String, CaseIterable, Sendable, Codable {
    case config, safetensors, tokenizer, template, gguf, prompts
    /// A harness self-check: cases that succeed, fail cleanly, crash or hang on purpose, so that
    /// the supervisor's classification can be checked (`scripts/fuzz.sh` runs it first).
    case selfcheck

    /// The kinds a normal run covers (every input kind; not the self-check).
    public static var inputs: [FuzzKind] { allCases.filter { $0 != .selfcheck } }
}

/// How one case ended.
public enum FuzzOutcome: String, CaseIterable, Sendable, Codable {
    /// The target accepted the input and ran to the end.
    case success
    /// The target refused the input with a thrown error.
    case cleanError = "clean-error"
    /// The worker process died (signal, trap, exhausted memory limit).
    case crash
    /// The case ran past the time limit and the worker was killed.
    case timeout
}

/// A file of a case: bytes, or one of the special files hostile folders contain.
public enum FuzzFile: Hashable, Sendable {
    case bytes(Data)
    /// A named pipe (opening it for reading blocks until a writer appears).
    case fifo
    /// A symbolic link (e.g. to `/dev/zero`, or to a fixture file used unchanged: a target starting
    /// with `@fixtures/` is resolved against the fixture folder, so reproducers stay portable).
    case symlink(String)
    /// An empty folder where a file is expected.
    case directory
}

/// One generated input: files to place in a fresh folder, and parameters for the target.
public struct FuzzCase: Equatable, Sendable {
    public var kind: FuzzKind
    public var seed: UInt64
    public var index: Int
    /// File name (relative, may contain one folder level) → contents.
    public var files: [String: FuzzFile]
    /// Target parameters (the file to open, a prompt format, sample texts as JSON, …).
    public var params: [String: String]

    public init(kind: FuzzKind, seed: UInt64, index: Int, files: [String: FuzzFile] = [:], params: [String: String] = [:]) {
        self.kind = kind; self.seed = seed; self.index = index; self.files = files; self.params = params
    }

    /// Creates the case's files in `folder` (which must exist and be empty); `fixtures` resolves
    /// `@fixtures/` link targets.
    public func materialize(in folder: URL, fixtures: URL) throws {
        for name in files.keys.sorted() {
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            switch files[name] {
            case .bytes(let data)?: try data.write(to: url)
            case .fifo?:
                guard mkfifo(url.path, 0o600) == 0 else { throw FuzzError.io("mkfifo \(url.path) failed") }
            case .symlink(let target)?:
                let resolved = target.hasPrefix(Self.fixturePrefix)
                    ? fixtures.appendingPathComponent(String(target.dropFirst(Self.fixturePrefix.count))).path : target
                try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: resolved)
            case .directory?: try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            case nil: break
            }
        }
    }

    static let fixturePrefix = "@fixtures/"

    /// Saves the case as a reproducer folder: `case.json` describing it, and its files under `files/`
    /// (special files are described in `case.json` and recreated by `load`; they are not saved).
    public func save(to folder: URL) throws {
        let dir = folder.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, file) in files {
            guard case .bytes(let data) = file else { continue }
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        var special: [String: String] = [:]
        for (name, file) in files {
            switch file {
            case .bytes: break
            case .fifo: special[name] = "fifo"
            case .symlink(let target): special[name] = "symlink:" + target
            case .directory: special[name] = "directory"
            }
        }
        let description: [String: Any] = ["kind": kind.rawValue, "seed": String(seed), "index": index, "params": params,
                                          "special": special, "files": files.keys.sorted()]
        let json = try JSONSerialization.data(withJSONObject: description, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: folder.appendingPathComponent("case.json"))
    }

    /// Reads a reproducer folder written by `save(to:)`.
    public static func load(from folder: URL) throws -> FuzzCase {
        let data = try Data(contentsOf: folder.appendingPathComponent("case.json"))
        guard let d = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let kind = (d["kind"] as? String).flatMap(FuzzKind.init(rawValue:)),
              let names = d["files"] as? [String] else {
            throw FuzzError.io("\(folder.path)/case.json is not a fuzz case description")
        }
        let special = d["special"] as? [String: String] ?? [:]
        var files: [String: FuzzFile] = [:]
        for name in names {
            switch special[name] {
            case "fifo"?: files[name] = .fifo
            case "directory"?: files[name] = .directory
            case let s? where s.hasPrefix("symlink:"): files[name] = .symlink(String(s.dropFirst("symlink:".count)))
            default: files[name] = .bytes(try Data(contentsOf: folder.appendingPathComponent("files").appendingPathComponent(name)))
            }
        }
        return FuzzCase(kind: kind, seed: UInt64(d["seed"] as? String ?? "") ?? 0, index: d["index"] as? Int ?? 0,
                        files: files, params: d["params"] as? [String: String] ?? [:])
    }
}

/// Errors of the harness itself (not of the code under test).
public struct FuzzError: Error, CustomStringConvertible {
    public let description: String
    public static func io(_ message: String) -> FuzzError { FuzzError(description: message) }
    public static func usage(_ message: String) -> FuzzError { FuzzError(description: message) }
}
