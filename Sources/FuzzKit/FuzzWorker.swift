import Foundation
import Compute
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The child process of a run: executes cases `from..<to` of one kind in-process, in order, and
/// reports each on file descriptor 3 (`G <index>` while generating it, `S <index>` when the target
/// starts, `E <index> ok|err <message>` after), so the supervisor knows which case was running when
/// the process died or hung, and times only the target.
public enum FuzzWorker {
    /// The descriptor the supervisor reads.
    public static let reportFD: Int32 = 3

    public struct Options {
        public var kind: FuzzKind
        public var seed: UInt64
        public var range: Range<Int>
        public var root: URL
        public var scratch: URL
        public var memoryMB: Int

        public init(kind: FuzzKind, seed: UInt64, range: Range<Int>, root: URL, scratch: URL, memoryMB: Int) {
            self.kind = kind; self.seed = seed; self.range = range; self.root = root; self.scratch = scratch; self.memoryMB = memoryMB
        }
    }

    /// Runs the cases; returns only when all are done (a crash or hang ends the process instead).
    public static func run(_ o: Options) throws {
        limitResources(memoryMB: o.memoryMB)
        // Ctrl-C in a terminal reaches the whole process group: the supervisor stops the workers.
        signal(SIGINT, SIG_IGN)
        CPUBackend.shared.threads = 1
        let seeds = try FuzzSeeds(root: o.root)
        try FileManager.default.createDirectory(at: o.scratch, withIntermediateDirectories: true)
        for i in o.range {
            report("G \(i)")
            let c = FuzzTargets.make(kind: o.kind, seed: o.seed, index: i, seeds: seeds)
            let folder = o.scratch.appendingPathComponent("case-\(i)")
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var result = "ok"
            do {
                try c.materialize(in: folder, fixtures: seeds.fixtures)
                report("S \(i)")
                try FuzzTargets.target(c.kind).run(c, folder: folder)
            } catch {
                result = "err " + String("\(error)".map { $0.isNewline ? " " : $0 }.prefix(300))
            }
            try? FileManager.default.removeItem(at: folder)
            report("E \(i) \(result)")
        }
    }

    /// The address-space limit (the memory limit: an allocation past it fails and the process
    /// dies, which the supervisor records as a crash) and no core files.
    static func limitResources(memoryMB: Int) {
        var core = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(resourceCore, &core)
        guard memoryMB > 0 else { return }
        let bytes = rlim_t(memoryMB) << 20
        var memory = rlimit(rlim_cur: bytes, rlim_max: bytes)
        _ = setrlimit(resourceAddressSpace, &memory)
    }

    static func report(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(reportFD, $0.baseAddress, $0.count) }
            if n <= 0 { if errno == EINTR { continue }; exit(3) }   // the supervisor is gone
            done += n
        }
    }
}

#if canImport(Glibc)
let resourceCore = __rlimit_resource_t(RLIMIT_CORE.rawValue)
let resourceAddressSpace = __rlimit_resource_t(RLIMIT_AS.rawValue)
#else
let resourceCore = RLIMIT_CORE
let resourceAddressSpace = RLIMIT_AS
#endif
