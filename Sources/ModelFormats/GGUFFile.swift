// A minimal GGUF (v2/v3) reader and writer: metadata, tensor infos, raw tensor data.
import Foundation

/// A GGUF metadata value (the format's `gguf_type`s).
public indirect enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String)
    /// Array of values; `elementType` is the declared type code (see `typeCode`).
    case array(elementType: UInt32, [GGUFValue])
    case uint64(UInt64), int64(Int64), float64(Double)

    /// The value's type code in the file.
    public var typeCode: UInt32 {
        switch self {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    /// The value as an `Int` when it is any integer type and fits.
    public var integer: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    /// The value when it is a string.
    public var string: String? {
        if case let .string(s) = self { return s }
        return nil
    }
}

/// One tensor's entry in a GGUF file.
public struct GGUFTensorInfo: Equatable, Sendable {
    public let name: String
    /// Dimensions in ggml order (`ne[0]` first, the fastest-varying; the reverse of numpy's shape).
    public let dimensions: [Int]
    /// The ggml type code (0 = F32, 1 = F16, 30 = BF16, others quantized).
    public let ggmlType: UInt32
    /// Offset of the data relative to the start of the data section.
    public let offset: Int
    /// Byte range within the file, when the type's size is known (F32/F16/BF16), else nil.
    public let fileRange: Range<Int>?

    /// Bytes per element for the unquantized ggml types this reader can size.
    static func elementSize(_ type: UInt32) -> Int? {
        switch type {
        case 0: return 4       // F32
        case 1, 30: return 2   // F16, BF16
        default: return nil
        }
    }
}

/// A GGUF file read into memory-mapped form and validated.
///
/// Layout (little-endian): magic `GGUF`, version (u32), tensor count (u64), metadata count (u64),
/// metadata key/value pairs, tensor infos (name, n_dims, dims as u64, type, offset), padding to
/// `general.alignment` (default 32), then the data section; every tensor offset is a multiple of
/// the alignment. Versions 2 and 3 are read (v1 used 32-bit counts and is rejected).
public final class GGUFFile: @unchecked Sendable {
    public static let defaultAlignment = 32
    static let magic: [UInt8] = Array("GGUF".utf8)

    public let url: URL
    public let version: UInt32
    /// Metadata keys in file order.
    public let keys: [String]
    /// Metadata by key.
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// File offset of the data section.
    public let dataStart: Int

    private let mapping: MappedFile
    public var path: String { url.path }

    /// Opens and validates `url`.
    public init(url: URL) throws {
        self.url = url
        mapping = try MappedFile(url: url)
        var r = GGUFReader(bytes: mapping.bytes, path: url.path)
        guard mapping.size >= 24 else { throw r.bad("file is \(mapping.size) bytes, shorter than the 24-byte header") }
        guard Array(mapping.bytes[0..<4]) == Self.magic else { throw r.bad("bad magic (not a GGUF file)") }
        r.position = 4
        version = try r.read(UInt32.self)
        guard version == 2 || version == 3 else { throw r.bad("unsupported version \(version) (expected 2 or 3)") }
        let tensorCount = try r.count(minimumItemSize: 8 + 4 + 8 + 4 + 8, what: "tensor count")
        let kvCount = try r.count(minimumItemSize: 8 + 4, what: "metadata count")

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<kvCount {
            let key = try r.string()
            let type = try r.read(UInt32.self)
            let value = try r.value(type: type, depth: 0)
            guard metadata[key] == nil else { throw r.bad("duplicate metadata key '\(key)'") }
            keys.append(key)
            metadata[key] = value
        }
        var alignment = Self.defaultAlignment
        if let a = metadata["general.alignment"] {
            guard case let .uint32(v) = a, v > 0, v & (v - 1) == 0 else {
                throw r.bad("general.alignment must be a power-of-two u32")
            }
            alignment = Int(v)
        }

        var raw: [(name: String, dims: [Int], type: UInt32, offset: Int)] = []
        var names = Set<String>()
        for _ in 0..<tensorCount {
            let name = try r.string()
            guard names.insert(name).inserted else { throw r.bad("duplicate tensor '\(name)'") }
            let nDims = try r.read(UInt32.self)
            guard (1...4).contains(nDims) else { throw r.bad("tensor '\(name)' has \(nDims) dimensions (1...4 allowed)") }
            var dims: [Int] = []
            for _ in 0..<nDims {
                let d = try r.read(UInt64.self)
                guard d <= UInt64(Int32.max) else { throw r.bad("tensor '\(name)' has dimension \(d)") }
                dims.append(Int(d))
            }
            let type = try r.read(UInt32.self)
            let offset = try r.read(UInt64.self)
            guard offset <= UInt64(mapping.size) else { throw r.bad("tensor '\(name)' offset \(offset) is past the end of the file") }
            guard Int(offset) % alignment == 0 else { throw r.bad("tensor '\(name)' offset \(offset) is not a multiple of \(alignment)") }
            raw.append((name, dims, type, Int(offset)))
        }
        let dataStart = (r.position + alignment - 1) / alignment * alignment
        guard dataStart <= mapping.size || raw.isEmpty else { throw r.bad("data section starts past the end of the file") }
        let dataSize = max(0, mapping.size - dataStart)
        tensors = try raw.map { t in
            var range: Range<Int>?
            if let size = GGUFTensorInfo.elementSize(t.type) {
                // Overflow-checked: dimensions up to 2^31 each can multiply past Int.max.
                var bytes = size, overflow = false
                for d in t.dims {
                    let (p, o) = bytes.multipliedReportingOverflow(by: d)
                    bytes = p
                    overflow = overflow || o
                }
                let (end, o2) = t.offset.addingReportingOverflow(bytes)
                guard !overflow, !o2, end <= dataSize else {
                    throw r.bad("tensor '\(t.name)' of dimensions \(t.dims) at offset \(t.offset) lies outside the data section of \(dataSize) bytes")
                }
                range = (dataStart + t.offset)..<(dataStart + t.offset + bytes)
            } else if t.offset > dataSize {
                throw r.bad("tensor '\(t.name)' offset \(t.offset) is outside the data section")
            }
            return GGUFTensorInfo(name: t.name, dimensions: t.dims, ggmlType: t.type, offset: t.offset, fileRange: range)
        }
        self.keys = keys
        self.metadata = metadata
        self.alignment = alignment
        self.dataStart = dataStart
    }

    /// The data of a sized tensor (F32/F16/BF16); nil for other types.
    public func rawBytes(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer? {
        guard let range = info.fileRange, range.upperBound <= mapping.size else { return nil }
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[range])
    }

    /// Writes a GGUF v3 file atomically: `metadata` in the given order, then F32 tensors
    /// (`dimensions` in ggml order), each padded to `alignment` (also after the last, as
    /// gguf-py and llama.cpp do). A `general.alignment` entry, if given, must match `alignment`.
    public static func write(metadata: [(String, GGUFValue)], tensors: [(name: String, dimensions: [Int], data: [Float])],
                             alignment: Int = defaultAlignment, to url: URL) throws {
        var out = GGUFBuffer()
        out.bytes += magic
        out.append(UInt32(3))
        out.append(UInt64(tensors.count))
        out.append(UInt64(metadata.count))
        for (key, value) in metadata {
            out.append(key)
            out.append(value.typeCode)
            out.append(value)
        }
        var offset = 0
        for t in tensors {
            guard t.dimensions.reduce(1, *) == t.data.count else {
                throw FormatError.invalidWriteRequest(path: url.path, tensor: t.name,
                    reason: "\(t.data.count) values for dimensions \(t.dimensions)")
            }
            out.append(t.name)
            out.append(UInt32(t.dimensions.count))
            for d in t.dimensions { out.append(UInt64(d)) }
            out.append(UInt32(0))   // GGML_TYPE_F32
            out.append(UInt64(offset))
            offset += (t.data.count * 4 + alignment - 1) / alignment * alignment
        }
        out.pad(to: alignment)
        for t in tensors {
            for v in t.data { out.append(v.bitPattern) }
            out.pad(to: alignment)
        }
        try AtomicFile.write(out.bytes, to: url)
    }
}

/// Serialises GGUF primitives (little-endian).
struct GGUFBuffer {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ s: String) {
        append(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    mutating func pad(to alignment: Int) {
        bytes.append(contentsOf: [UInt8](repeating: 0, count: (alignment - bytes.count % alignment) % alignment))
    }

    mutating func append(_ value: GGUFValue) {
        switch value {
        case let .uint8(v): append(v)
        case let .int8(v): append(v)
        case let .uint16(v): append(v)
        case let .int16(v): append(v)
        case let .uint32(v): append(v)
        case let .int32(v): append(v)
        case let .float32(v): append(v.bitPattern)
        case let .bool(v): append(UInt8(v ? 1 : 0))
        case let .string(v): append(v)
        case let .array(type, items):
            append(type)
            append(UInt64(items.count))
            for item in items { append(item) }
        case let .uint64(v): append(v)
        case let .int64(v): append(v)
        case let .float64(v): append(v.bitPattern)
        }
    }
}

/// Bounds-checked cursor over a GGUF file's bytes.
struct GGUFReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var position = 0
    /// Metadata values decoded so far (arrays count each element), see `maxValues`.
    var valuesRead = 0
    /// A bound on decoded metadata values: each takes far more memory than its bytes in the file,
    /// so a file of huge byte arrays could otherwise ask for many times its size.
    static let maxValues = 1 << 22

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    func bad(_ reason: String) -> FormatError { .invalidGGUF(path: path, reason: reason) }

    var remaining: Int { bytes.count - position }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw bad("truncated at byte \(position)") }
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += size
        return v
    }

    /// A u64 count, rejected when even minimal items of that many could not fit in the file.
    mutating func count(minimumItemSize: Int, what: String) throws -> Int {
        let n = try read(UInt64.self)
        guard n <= UInt64(remaining / minimumItemSize) else { throw bad("\(what) \(n) is impossible for the file size") }
        return Int(n)
    }

    mutating func string() throws -> String {
        let n = try read(UInt64.self)
        guard n <= UInt64(remaining) else { throw bad("string of \(n) bytes at byte \(position) runs past the end of the file") }
        let start = position
        position += Int(n)
        guard let s = String(bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), encoding: .utf8) else {
            throw bad("string at byte \(start) is not valid UTF-8")
        }
        return s
    }

    /// The fewest bytes a value of `type` takes in the file, nil for unknown types.
    static func minimumSize(_ type: UInt32) -> Int? {
        switch type {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8, 10, 11, 12: return 8   // a string is at least its u64 length
        case 9: return 12              // element type u32 + length u64
        default: return nil
        }
    }

    mutating func value(type: UInt32, depth: Int) throws -> GGUFValue {
        valuesRead += 1
        guard valuesRead <= Self.maxValues else { throw bad("more than \(Self.maxValues) metadata values") }
        switch type {
        case 0: return .uint8(try read(UInt8.self))
        case 1: return .int8(try read(Int8.self))
        case 2: return .uint16(try read(UInt16.self))
        case 3: return .int16(try read(Int16.self))
        case 4: return .uint32(try read(UInt32.self))
        case 5: return .int32(try read(Int32.self))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self)))
        case 7:
            let b = try read(UInt8.self)
            guard b <= 1 else { throw bad("bool value \(b) at byte \(position - 1)") }
            return .bool(b == 1)
        case 8: return .string(try string())
        case 9:
            guard depth < 4 else { throw bad("arrays nested too deeply") }
            let elementType = try read(UInt32.self)
            guard let itemSize = Self.minimumSize(elementType) else {
                throw bad("unknown array element type \(elementType) at byte \(position - 4)")
            }
            let n = try count(minimumItemSize: itemSize, what: "array length")
            var items: [GGUFValue] = []
            items.reserveCapacity(min(n, 1 << 16))
            for _ in 0..<n { items.append(try value(type: elementType, depth: depth + 1)) }
            return .array(elementType: elementType, items)
        case 10: return .uint64(try read(UInt64.self))
        case 11: return .int64(try read(Int64.self))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self)))
        default: throw bad("unknown value type \(type) at byte \(position - 4)")
        }
    }
}
