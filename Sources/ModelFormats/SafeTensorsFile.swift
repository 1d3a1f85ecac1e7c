// A memory-mapped, validated safetensors file.
import Foundation

/// One tensor's entry in a safetensors header.
public struct SafeTensorInfo: Equatable, Sendable {
    /// The tensor's name, e.g. `model.layers.0.mlp.up_proj.weight`.
    public let name: String
    /// The element type.
    public let dtype: DType
    /// The shape (row-major); `[]` is a scalar.
    public let shape: [Int]
    /// The header's `data_offsets`: the byte range relative to the start of the data area.
    public let dataOffsets: Range<Int>
    /// The byte range within the file.
    public let fileRange: Range<Int>

    /// Number of elements (product of `shape`).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Number of data bytes.
    public var byteCount: Int { dataOffsets.count }
    /// The compute dtype when the tensor is F32, F16 or BF16.
    public var floatType: DType? { dtype.floatType }
    /// Whether the data starts at a file offset that is a multiple of the element size, so a
    /// mapped pointer can be used as `UnsafePointer<Float>` / `<UInt16>` directly. safetensors
    /// does not guarantee this (the header length only pads to 8); callers copy when false.
    public var isAligned: Bool { fileRange.lowerBound % dtype.byteSize == 0 }
}

/// A safetensors file opened read-only and memory-mapped (never read into memory as a whole).
///
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping tensor names to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional `__metadata__` string map),
/// then the data area. Opening validates everything a reader relies on; any problem throws a
/// `FormatError` naming the file and tensor. Gaps between tensors and bytes after the last one are
/// tolerated (the Rust library rejects them) since they cannot cause a wrong read.
///
/// Pointers returned by `rawBytes` stay valid as long as this object lives.
public final class SafeTensorsFile: @unchecked Sendable {
    /// Headers larger than this are rejected (the same limit as the `safetensors` library).
    public static let maxHeaderLength = 100_000_000

    /// The file.
    public let url: URL
    /// The header's `__metadata__` (empty when absent).
    public let metadata: [String: String]
    /// All tensors, in data-offset order.
    public let tensors: [SafeTensorInfo]
    /// Length of the JSON header in bytes (without the 8-byte length prefix).
    public let headerLength: Int

    private let mapping: MappedFile
    private let index: [String: Int]

    /// The file's path, as used in error messages.
    public var path: String { url.path }
    /// The file's size in bytes.
    public var fileSize: Int { mapping.size }
    /// File offset of the data area.
    public var dataStart: Int { 8 + headerLength }
    /// Tensor names in data-offset order.
    public var names: [String] { tensors.map(\.name) }

    /// Opens, maps and validates `url`.
    public convenience init(path: String) throws {
        try self.init(url: URL(fileURLWithPath: path))
    }

    /// Opens, maps and validates `url`.
    public init(url: URL) throws {
        self.url = url
        mapping = try MappedFile(url: url)
        let header = try SafeTensorsHeader.parse(mapping.bytes, path: url.path)
        metadata = header.metadata
        tensors = header.tensors
        headerLength = header.headerLength
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// The entry for `name`, or nil.
    public func info(_ name: String) -> SafeTensorInfo? {
        index[name].map { tensors[$0] }
    }

    /// Whether the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The entry for `name`; throws `tensorNotFound` naming the file.
    public func tensorInfo(_ name: String) throws -> SafeTensorInfo {
        guard let i = index[name] else { throw FormatError.tensorNotFound(path: path, tensor: name) }
        return tensors[i]
    }

    /// The tensor's bytes in the mapping, valid while this object lives. May be unaligned
    /// (see `SafeTensorInfo.isAligned`).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        rawBytes(of: try tensorInfo(name))
    }

    /// The bytes of an entry of this file (offsets were checked against the mapping on open).
    func rawBytes(of info: SafeTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: mapping.bytes[info.fileRange])
    }

    /// The tensor's values converted to `Float` (F32, F16 or BF16 tensors only).
    public func floats(_ name: String) throws -> [Float] {
        let info = try tensorInfo(name)
        guard let dtype = info.floatType else {
            throw FormatError.unsupportedDType(path: path, tensor: name, dtype: info.dtype.rawValue)
        }
        return DTypeConversion.floats(from: rawBytes(of: info), dtype: dtype)
    }

    /// Converts the tensor into `destination`, which must have room for `elementCount` floats.
    public func floats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let info = try tensorInfo(name)
        guard let dtype = info.floatType else {
            throw FormatError.unsupportedDType(path: path, tensor: name, dtype: info.dtype.rawValue)
        }
        guard destination.count >= info.elementCount else {
            throw FormatError.invalidWriteRequest(path: path, tensor: name,
                reason: "destination holds \(destination.count) floats, tensor has \(info.elementCount)")
        }
        let raw = rawBytes(of: info)
        guard let src = raw.baseAddress, let dst = destination.baseAddress else { return }
        DTypeConversion.toFloats(src, dtype: dtype, count: info.elementCount, into: dst)
    }
}
