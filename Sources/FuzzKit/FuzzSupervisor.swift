import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs cases in worker processes under a time and memory limit and counts how each ended.
///
/// Each kind is a lane of consecutive case indices. Up to `jobs` lanes run at once, each in its own
/// worker; when a worker dies mid-case (crash) or a case passes the time limit (the worker is
/// killed), the case is recorded, its reproducer is saved under `out/<kind>/`, and a new worker
/// continues at the next case. A lane ends after `cases` cases or its share of `seconds`.
public final class FuzzSupervisor {
    public struct Options {
        public var kinds: [FuzzKind]
        public var seed: UInt64 = 1
        /// Cases per kind (nil: until the time budget ends).
        public var cases: Int?
        /// Wall-clock budget for the whole run (nil: until every kind ran `cases`).
        public var seconds: Double?
        /// Per-case limit on the worker's CPU time. A case is also stopped when its worker sleeps
        /// for `blockedLimit` seconds without using CPU (blocked on a FIFO, a lock, a sleep), and
        /// after `timeout × wallFactor` seconds of wall-clock time. CPU time, unlike wall time,
        /// does not grow when other work crowds the machine.
        public var timeout: Double = 10
        public var memoryMB = 4096
        public var jobs = 1
        public var root: URL
        public var out: URL
        /// Seconds between progress lines on stderr (0: none).
        public var progress: Double = 0
        /// The `steer-fuzz` binary the workers run (default: this process's own executable).
        public var executable: String?

        public init(kinds: [FuzzKind], root: URL, out: URL) { self.kinds = kinds; self.root = root; self.out = out }
    }

    final class Lane {
        let kind: FuzzKind
        var next = 0
        var budgetEnd = Double.infinity
        var counts = FuzzCounts()
        var errors: [String: Int] = [:]
        /// Crash signatures (or "timeout") and how often each occurred.
        var findings: [String: Int] = [:]
        init(kind: FuzzKind) { self.kind = kind }
    }

    final class Slot {
        let lane: Lane
        let worker: WorkerProcess
        let log: URL
        var current: CaseClock?
        init(lane: Lane, worker: WorkerProcess, log: URL) { self.lane = lane; self.worker = worker; self.log = log }
    }

    /// The case a worker is on, and the clocks its limits are measured with.
    struct CaseClock {
        var index: Int
        /// False while the worker generates the case (harness time, not limited like the target's).
        var running: Bool
        var since: Double
        var cpuAtStart: Double
        var lastCPU: Double
        var lastProgress: Double
    }

    let options: Options
    let seeds: FuzzSeeds
    let executable: String
    var lanes: [Lane]

    public init(_ options: Options) throws {
        self.options = options
        seeds = try FuzzSeeds(root: options.root)
        executable = options.executable ?? Self.currentExecutable()
        lanes = options.kinds.map(Lane.init)
    }

    static func now() -> Double { ProcessInfo.processInfo.systemUptime }

    /// Set by SIGINT/SIGTERM: the run stops and reports what it has counted.
    nonisolated(unsafe) static var stopRequested: sig_atomic_t = 0

    /// Runs every lane to its end and returns the counts per kind.
    public func run() throws -> [FuzzResult] {
        let scratch = Self.scratchFolder()
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let share = options.seconds.map { $0 * Double(max(1, min(options.jobs, lanes.count))) / Double(max(1, lanes.count)) }
        var slots: [Slot] = []
        var queue = lanes
        var lastProgress = Self.now()
        // Ctrl-C (or SIGTERM) ends a long run early with the counts so far.
        signal(SIGINT) { _ in FuzzSupervisor.stopRequested = 1 }
        signal(SIGTERM) { _ in FuzzSupervisor.stopRequested = 1 }
        while !queue.isEmpty || !slots.isEmpty {
            if Self.stopRequested != 0 {
                for slot in slots { slot.worker.stop(kill: true) }
                FileHandle.standardError.write(Data("steer-fuzz: stopped; counts so far follow\n".utf8))
                break
            }
            while slots.count < options.jobs, !queue.isEmpty {
                let lane = queue.removeFirst()
                lane.budgetEnd = share.map { Self.now() + $0 } ?? .infinity
                if let slot = try spawn(lane, scratch: scratch) { slots.append(slot) }
            }
            try step(&slots, scratch: scratch)
            if options.progress > 0, Self.now() - lastProgress >= options.progress {
                lastProgress = Self.now()
                FileHandle.standardError.write(Data((FuzzReport.progressLine(lanes) + "\n").utf8))
            }
        }
        try? FileManager.default.removeItem(at: scratch)
        return lanes.map { FuzzResult(kind: $0.kind, counts: $0.counts, errors: $0.errors, findings: $0.findings) }
    }

    func finished(_ lane: Lane) -> Bool {
        lane.next >= (options.cases ?? Int.max) || Self.now() >= lane.budgetEnd
    }

    /// A worker for the lane's remaining cases, or nil when the lane is done.
    func spawn(_ lane: Lane, scratch: URL) throws -> Slot? {
        guard !finished(lane) else { return nil }
        let end = options.cases ?? Int.max
        let log = scratch.appendingPathComponent("\(lane.kind.rawValue).log")
        let args = ["worker", "--kind", lane.kind.rawValue, "--seed", String(options.seed), "--from", String(lane.next),
                    "--to", String(end), "--root", options.root.path, "--scratch",
                    scratch.appendingPathComponent(lane.kind.rawValue).path, "--memory-mb", String(options.memoryMB)]
        return Slot(lane: lane, worker: try WorkerProcess(executable: executable, arguments: args, log: log), log: log)
    }

    static let blockedLimit = 2.0
    static let wallFactor = 6.0
    /// Wall-clock limit on generating one case (a harness bug if reached).
    static let generationLimit = 120.0

    /// Waits for reports (or a limit) and handles them.
    func step(_ slots: inout [Slot], scratch: URL) throws {
        guard !slots.isEmpty else { return }
        var fds = slots.map { pollfd(fd: $0.worker.reportFD, events: Int16(POLLIN), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), slots.contains { $0.current != nil } ? 250 : 1000)
        var replaced: [Int: Slot?] = [:]
        for (i, slot) in slots.enumerated() {
            guard let lines = slot.worker.readLines() else {
                replaced[i] = try ended(slot, scratch: scratch)
                continue
            }
            for line in lines { handle(line, slot) }
            if slot.current == nil, finished(slot.lane) {
                slot.worker.stop(kill: true)
                replaced[i] = .some(nil)
            } else if let reason = overLimit(slot) {
                guard let c = slot.current else { continue }
                // A worker that has crashed may still be writing its backtrace: let it finish
                // (it is then recorded as the crash it is), within a grace period.
                let crashing = Self.crashBanner(slot.log)
                if crashing && Self.now() - c.since < options.timeout * Self.wallFactor + Self.backtraceGrace { continue }
                let how = slot.worker.stop(kill: true)
                if crashing {
                    record(.crash, index: c.index, slot: slot, detail: "\(how) while writing its backtrace")
                } else {
                    record(.timeout, index: c.index, slot: slot, detail: "\(reason); \(how)")
                }
                replaced[i] = try spawn(slot.lane, scratch: scratch)
            }
        }
        for (i, new) in replaced.sorted(by: { $0.key > $1.key }) {
            if let new { slots[i] = new } else { slots.remove(at: i) }
        }
    }

    /// Why the slot's case must be stopped, or nil while it is within its limits.
    func overLimit(_ slot: Slot) -> String? {
        guard var c = slot.current else { return nil }
        let now = Self.now(), wall = now - c.since
        guard c.running else {
            return wall > Self.generationLimit ? "generating the case took over \(Self.generationLimit) s" : nil
        }
        let sample = ProcessClock.sample(slot.worker.pid)
        let cpu = sample.map { $0.cpu } ?? now
        if cpu > c.lastCPU { c.lastCPU = cpu; c.lastProgress = now }
        slot.current = c
        if cpu - c.cpuAtStart > options.timeout { return "used over \(options.timeout) s of CPU" }
        if sample?.sleeping == true, now - c.lastProgress > Self.blockedLimit, wall > Self.blockedLimit {
            return "blocked for over \(Self.blockedLimit) s without using CPU"
        }
        if wall > options.timeout * Self.wallFactor { return "ran for over \(options.timeout * Self.wallFactor) s" }
        return nil
    }

    /// Seconds a crashed worker gets to finish writing its backtrace.
    static let backtraceGrace = 30.0

    /// Whether the worker's log shows a crash in progress (Swift prints these before the backtrace).
    static func crashBanner(_ log: URL) -> Bool {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return false }
        return text.contains("Fatal error") || text.contains("*** Signal") || text.contains("*** Program crashed")
    }

    func handle(_ line: String, _ slot: Slot) {
        let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 2, let index = Int(parts[1]) else { return }
        let now = Self.now()
        switch parts[0] {
        case "G":
            slot.current = CaseClock(index: index, running: false, since: now, cpuAtStart: 0, lastCPU: 0, lastProgress: now)
        case "S":
            let cpu = ProcessClock.sample(slot.worker.pid)?.cpu ?? now
            slot.current = CaseClock(index: index, running: true, since: now, cpuAtStart: cpu, lastCPU: cpu, lastProgress: now)
        case "E":
            slot.current = nil
            slot.lane.next = index + 1
            if parts.count >= 3, parts[2] == "err" {
                slot.lane.counts.add(.cleanError)
                let message = parts.count > 3 ? FuzzReport.errorClass(String(parts[3])) : "?"
                slot.lane.errors[message, default: 0] += 1
            } else {
                slot.lane.counts.add(.success)
            }
        default:
            break
        }
    }

    /// The worker closed its pipe: it finished its range, or died during a case (a crash).
    func ended(_ slot: Slot, scratch: URL) throws -> Slot? {
        let how = slot.worker.stop(kill: false)
        if Self.stopRequested != 0 { return nil }
        guard let c = slot.current else {
            if how == "exit status 0" || finished(slot.lane) { return nil }
            let log = (try? String(contentsOf: slot.log, encoding: .utf8)) ?? ""
            throw FuzzError.io("worker for \(slot.lane.kind.rawValue) ended before any case (\(how)): \(log.suffix(2000))")
        }
        record(.crash, index: c.index, slot: slot, detail: c.running ? how : "\(how) while generating the case (a harness bug)")
        return try spawn(slot.lane, scratch: scratch)
    }

    /// Counts a crash or timeout and saves its reproducer with the worker's log (the first few of
    /// each crash signature, so a long run does not fill the disk with copies of one bug).
    func record(_ outcome: FuzzOutcome, index: Int, slot: Slot, detail: String) {
        let lane = slot.lane
        lane.counts.add(outcome)
        lane.next = index + 1
        let log = (try? Data(contentsOf: slot.log)) ?? Data()
        let signature = outcome == .timeout
            ? "timeout: " + FuzzReport.errorClass(String(detail.prefix { $0 != ";" }))
            : FuzzReport.crashSignature(String(decoding: log, as: UTF8.self))
        lane.findings[signature, default: 0] += 1
        guard lane.findings[signature, default: 0] <= (outcome == .timeout ? 10 : 3) else { return }
        let folder = options.out.appendingPathComponent(lane.kind.rawValue)
            .appendingPathComponent("\(outcome.rawValue)-s\(options.seed)-\(index)")
        try? FileManager.default.removeItem(at: folder)
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // Regenerating a case whose generation crashed the worker would crash the supervisor too.
        if slot.current?.running != false {
            try? FuzzTargets.make(kind: lane.kind, seed: options.seed, index: index, seeds: seeds).save(to: folder)
        }
        try? (Data("\(outcome.rawValue): \(detail)\n".utf8) + log.suffix(64 << 10)).write(to: folder.appendingPathComponent("worker.log"))
        FileHandle.standardError.write(Data("\(lane.kind.rawValue) case \(index): \(outcome.rawValue) (\(detail)): \(signature) → \(folder.path)\n".utf8))
    }

    /// Where cases are created: memory-backed `/dev/shm` when there is one (creating and removing
    /// thousands of small folders on a loaded disk costs more than running the cases).
    static func scratchFolder() -> URL {
        let shm = URL(fileURLWithPath: "/dev/shm")
        let base = access(shm.path, W_OK) == 0 ? shm : FileManager.default.temporaryDirectory
        return base.appendingPathComponent("steer-fuzz-\(getpid())")
    }

    static func currentExecutable() -> String {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }
}
