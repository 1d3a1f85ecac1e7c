// Crash-safe file replacement: write a temporary file beside the target, fsync, rename.
import Foundation
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Writes files atomically: readers see either the old file or the complete new one, never a
/// partial write, even if the process dies midway.
///
/// The data goes to a hidden temporary file in the destination's folder (same file system, so
/// the final `rename` is atomic), is flushed with `fsync`, then renamed over the destination;
/// the folder is fsynced too so the rename itself survives a crash. On any error the temporary
/// file is removed and the destination is left untouched.
public enum AtomicFile {
    /// Atomically replaces `url` with `data`.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { try $0.write(data) }
    }

    /// Atomically replaces `url` with `bytes`.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try write(to: url) { try $0.write(bytes) }
    }

    /// Atomically replaces `url` with whatever `body` writes to the stream it is given
    /// (for files too large to build in memory).
    public static func write(to url: URL, _ body: (AtomicFileWriter) throws -> Void) throws {
        let writer = try AtomicFileWriter(destination: url)
        do {
            try body(writer)
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
    }
}

/// The stream given to `AtomicFile.write(to:_:)`; writes are buffered.
public final class AtomicFileWriter {
    /// Where the file will appear once complete.
    public let destination: URL
    /// The temporary file being written.
    public let temporaryURL: URL
    /// Bytes written so far.
    public private(set) var bytesWritten = 0

    private var fd: Int32
    private var finished = false  // the temporary file was renamed or removed
    private var buffer: [UInt8] = []
    private static let bufferSize = 4 << 20

    init(destination: URL) throws {
        self.destination = destination
        let folder = destination.deletingLastPathComponent()
        temporaryURL = folder.appendingPathComponent(".\(destination.lastPathComponent).tmp-\(getpid())-\(UUID().uuidString.prefix(8))")
        fd = open(temporaryURL.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FormatError.io(path: destination.path, reason: "cannot create temporary file in \(folder.path): \(systemError(errno))")
        }
        buffer.reserveCapacity(Self.bufferSize)
    }

    deinit { abandon() }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        bytesWritten += bytes.count
        if buffer.count + bytes.count <= Self.bufferSize {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        if bytes.count >= Self.bufferSize {
            try writeAll(bytes)   // large blocks (tensor data) go straight to the file
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends `data`.
    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Appends `count` zero bytes.
    public func writeZeros(_ count: Int) throws {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(fd, p, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError.io(path: destination.path, reason: "write failed: \(systemError(errno))")
            }
            p += n
            left -= n
        }
    }

    func commit() throws {
        try flush()
        guard fsync(fd) == 0 else { throw FormatError.io(path: destination.path, reason: "fsync failed: \(systemError(errno))") }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw FormatError.io(path: destination.path, reason: "close failed: \(systemError(errno))") }
        guard rename(temporaryURL.path, destination.path) == 0 else {
            throw FormatError.io(path: destination.path, reason: "rename failed: \(systemError(errno))")
        }
        finished = true
        // Make the rename durable; failure here does not undo the (already visible) file.
        let dir = open(destination.deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }

    func abandon() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if !finished {
            unlink(temporaryURL.path)
            finished = true
        }
    }
}
