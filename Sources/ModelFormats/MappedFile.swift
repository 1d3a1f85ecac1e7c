// A read-only memory map of a whole file.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file mapped read-only (`PROT_READ`, `MAP_PRIVATE`); nothing is copied into memory, pages
/// are read on demand. The mapping lives as long as this object.
///
/// If another process truncates the file while it is mapped, touching the lost pages raises
/// SIGBUS; model files are treated as immutable while open.
public final class MappedFile: @unchecked Sendable {
    /// The mapped file.
    public let url: URL
    /// The file's size in bytes.
    public let size: Int
    /// The mapped bytes (empty for an empty file).
    public let bytes: UnsafeRawBufferPointer

    /// Maps `url` read-only.
    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError.io(path: path, reason: "cannot open: \(systemError(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FormatError.io(path: path, reason: "cannot stat: \(systemError(errno))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw FormatError.io(path: path, reason: "not a regular file") }
        size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw FormatError.io(path: path, reason: "cannot map \(size) bytes: \(systemError(errno))")
        }
        bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(address), count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        }
    }
}
