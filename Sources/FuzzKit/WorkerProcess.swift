import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A worker child started with `posix_spawn`: its report pipe on descriptor 3, stdout to
/// /dev/null, stderr to a log file (crash messages and backtraces), one BLAS thread.
final class WorkerProcess {
    let pid: pid_t
    /// The supervisor's end of the report pipe (non-blocking).
    let reportFD: Int32
    private var buffer: [UInt8] = []
    private(set) var exited = false

    init(executable: String, arguments: [String], log: URL) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw FuzzError.io("pipe failed: \(String(cString: strerror(errno)))") }
        // Keep both ends away from 0...3 and closed on exec; the child gets the write end as fd 3.
        let readEnd = fcntl(fds[0], F_DUPFD_CLOEXEC, 10), writeEnd = fcntl(fds[1], F_DUPFD_CLOEXEC, 10)
        close(fds[0]); close(fds[1])
        defer { close(writeEnd) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, writeEnd, FuzzWorker.reportFD)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        // Crash logs: the crashed thread's frames only (the signature comes from them), no registers.
        env["SWIFT_BACKTRACE"] = env["SWIFT_BACKTRACE"] ?? "preset=medium,registers=none,images=none,threads=crashed"
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, nil, argv, envp)
        guard rc == 0 else {
            close(readEnd)
            throw FuzzError.io("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        reportFD = readEnd
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
    }

    /// Complete lines read so far; `nil` once the child closed the pipe (exited or died).
    func readLines() -> [String]? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        var sawEOF = false
        while true {
            let n = chunk.withUnsafeMutableBytes { read(reportFD, $0.baseAddress, $0.count) }
            if n > 0 { buffer += chunk[0..<n]; continue }
            if n == 0 { sawEOF = true }
            break   // EAGAIN: nothing more now
        }
        var lines: [String] = []
        while let nl = buffer.firstIndex(of: 0x0A) {
            lines.append(String(decoding: buffer[..<nl], as: UTF8.self))
            buffer.removeSubrange(...nl)
        }
        return sawEOF && lines.isEmpty ? nil : lines
    }

    /// Kills the child (if still running) and reaps it; returns a description of how it ended.
    @discardableResult
    func stop(kill force: Bool) -> String {
        if force { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        close(reportFD)
        exited = true
        let signal = status & 0x7F
        if signal == 0 { return "exit status \((status >> 8) & 0xFF)" }
        return "signal \(signal) (\(String(cString: strsignal(signal))))"
    }
}

/// A process's CPU time and whether it is sleeping, from `/proc/<pid>/stat` (Linux; nil elsewhere).
enum ProcessClock {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func sample(_ pid: pid_t) -> (cpu: Double, sleeping: Bool)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // After "pid (name)": state, then fields 4…; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        return ((utime + stime) / ticksPerSecond, fields[0] == "S")
    }
}
