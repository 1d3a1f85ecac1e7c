// Opening input files safely: only regular files, with a size limit, without blocking.
import Foundation
#if canImport(Glibc)
import Glibc
private let systemOpen: (UnsafePointer<CChar>, Int32) -> Int32 = { Glibc.open($0, $1) }
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemOpen: (UnsafePointer<CChar>, Int32) -> Int32 = { Darwin.open($0, $1) }
private let systemRead = Darwin.read
#endif

/// Opens and reads input files (model files, configs, prompt files) so that a hostile path cannot
/// hang or exhaust the process: a FIFO, socket or device named like a model file is refused
/// before anything is read from it (opening a FIFO for reading blocks until a writer appears;
/// reading `/dev/zero` never ends), and whole-file reads stop at a size limit.
///
/// Symbolic links are followed: a link to a regular file is a regular file.
public enum RegularFile {
    /// Opens `path` read-only and returns the descriptor with the file's size. The file is checked
    /// with `stat` before opening and with `fstat` on the open descriptor (the path may be
    /// swapped in between); the open itself is non-blocking so that even a swapped-in FIFO cannot
    /// hang it. The caller closes the descriptor.
    public static func open(_ path: String) throws -> (fd: Int32, size: Int) {
        var before = stat()
        guard stat(path, &before) == 0 else { throw FormatError.io(path: path, reason: "cannot open: \(systemError(errno))") }
        try requireRegular(before, path: path)
        let fd = systemOpen(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FormatError.io(path: path, reason: "cannot open: \(systemError(errno))") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = systemError(errno)
            close(fd)
            throw FormatError.io(path: path, reason: "cannot stat: \(reason)")
        }
        do { try requireRegular(info, path: path) } catch {
            close(fd)
            throw error
        }
        // Regular files never block; clear the flag so reads behave as usual.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return (fd, Int(info.st_size))
    }

    /// The whole contents of the regular file at `url`, refused when larger than `limit` bytes.
    public static func read(_ url: URL, limit: Int) throws -> Data {
        let path = url.path
        let (fd, size) = try open(path)
        defer { close(fd) }
        guard size <= limit else {
            throw FormatError.io(path: path, reason: "file is \(size) bytes, over the \(limit)-byte limit for this kind of file")
        }
        var data = Data(count: size)
        var done = 0
        // Reads at most the size fstat reported: a file that grows while being read cannot push
        // the read past the limit.
        while done < size {
            let n = data.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return systemRead(fd, base + done, size - done)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError.io(path: path, reason: "cannot read: \(systemError(errno))")
            }
            if n == 0 { break }
            done += n
        }
        if done < size { data.count = done }
        return data
    }

    /// Whether `path` names a regular file (following links); false when it does not exist.
    public static func isRegular(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    private static func requireRegular(_ info: stat, path: String) throws {
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else {
            throw FormatError.io(path: path, reason: "not a regular file (\(describe(kind))); only regular files are read")
        }
    }

    private static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "file type \(kind)"
        }
    }
}
