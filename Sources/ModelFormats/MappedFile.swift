// A read-only memory map of a whole file.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file mapped read-only (`PROT_READ`, `MAP_PRIVATE`); nothing is copied into memory,
/// pages are read on demand. The mapping lives as long as this object. Anything but a regular
/// file (FIFO, device, socket, directory) is refused before it is opened for reading.
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
        // Only regular files: a FIFO would block the open, a device would map endless or no data.
        let (fd, fileSize) = try RegularFile.open(path)
        defer { close(fd) }
        size = fileSize
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
