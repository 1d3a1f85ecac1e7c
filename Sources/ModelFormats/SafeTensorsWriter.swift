// Writing safetensors files (single or sharded), atomically and byte-compatible with the library.
import Basics
import Foundation

/// Collects tensors and writes them as a safetensors file, or as a sharded model with an index.
///
/// The output matches the Python/Rust `safetensors` library byte for byte: tensors laid out by
/// descending dtype (`DType` order) then by name, compact JSON header with
/// `__metadata__` first (keys sorted here; the library's order is unspecified), padded with spaces
/// to a multiple of 8 bytes. Files are written through `AtomicFile`. Paths in `protectedPaths`
/// (the inputs the data came from) are never overwritten.
///
/// Tensor data is streamed: `.view` payloads (e.g. `WeightStore.rawBytes`) are copied from their
/// mapping and `.floats` payloads converted chunk by chunk, so a large model is never held twice.
public struct SafeTensorsWriter {
    /// Where a tensor's bytes come from.
    public enum Payload {
        /// Little-endian bytes in the tensor's dtype.
        case bytes([UInt8])
        /// Values converted to the tensor's dtype (F32, F16 or BF16) when written.
        case floats([Float])
        /// Bytes owned elsewhere, e.g. a mapped input tensor; `owner` is retained to keep them valid.
        case view(UnsafeRawBufferPointer, owner: AnyObject?)
        /// `byteCount` bytes the caller writes itself after `header(for:)` (a tensor computed while the
        /// file is written, as a weight export's); `write(to:)` refuses it.
        case external(byteCount: Int)

        var byteCountIfRaw: Int? {
            switch self {
            case let .bytes(b): return b.count
            case .floats: return nil
            case let .view(v, _): return v.count
            case let .external(n): return n
            }
        }
    }

    /// One tensor to write.
    public struct Entry {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var payload: Payload

        /// Bytes the tensor occupies in the file.
        public var byteCount: Int { shape.reduce(1, *) * dtype.byteSize }
    }

    /// The `__metadata__` map (omitted from the header when empty, like `save_file(metadata=None)`).
    public var metadata: [String: String]
    /// Files that must never be replaced (compared by resolved path and by inode).
    public var protectedPaths: [URL]
    /// The tensors added so far.
    public private(set) var entries: [Entry] = []

    public init(metadata: [String: String] = [:], protecting protectedPaths: [URL] = []) {
        self.metadata = metadata
        self.protectedPaths = protectedPaths
    }

    /// Adds a tensor from floats, stored as `dtype`.
    public mutating func add(_ name: String, floats: [Float], shape: [Int], as dtype: DType) {
        entries.append(Entry(name: name, dtype: dtype, shape: shape, payload: .floats(floats)))
    }

    /// Adds a tensor from raw little-endian bytes.
    public mutating func add(_ name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
        entries.append(Entry(name: name, dtype: dtype, shape: shape, payload: .bytes(bytes)))
    }

    /// Adds a tensor whose bytes live elsewhere (kept alive by `owner` until written).
    public mutating func add(_ name: String, dtype: DType, shape: [Int],
                             view: UnsafeRawBufferPointer, owner: AnyObject?) {
        entries.append(Entry(name: name, dtype: dtype, shape: shape, payload: .view(view, owner: owner)))
    }

    /// Declares a tensor whose bytes the caller writes after `header(for:)`.
    public mutating func add(_ name: String, dtype: DType, shape: [Int], externalBytes: Int) {
        entries.append(Entry(name: name, dtype: dtype, shape: shape, payload: .external(byteCount: externalBytes)))
    }

    /// Adds tensor `name` of `store` unchanged (no copy until written), optionally renamed.
    public mutating func addUnchanged(_ name: String, from store: WeightStore, as newName: String? = nil) throws {
        let info = try store.info(name)
        add(newName ?? name, dtype: info.dtype, shape: info.shape, view: try store.rawBytes(name), owner: store)
    }

    // MARK: Writing

    /// Writes all tensors to `url` atomically.
    public func write(to url: URL) throws {
        try write(entries, to: url)
    }

    /// The header (8-byte length and padded JSON) for `entries`, plus the entries in file order.
    public func header(for entries: [Entry], path: String) throws -> (bytes: [UInt8], ordered: [Entry]) {
        try validate(entries, path: path)
        let ordered = entries.sorted { a, b in
            a.dtype != b.dtype ? a.dtype > b.dtype : codePointOrder(a.name, b.name)
        }
        var members: [JSONMember] = []
        if !metadata.isEmpty {
            members.append(("__metadata__", .object(metadata.keys.sorted(by: codePointOrder).map { ($0, .string(metadata[$0] ?? "")) })))
        }
        var offset = 0
        for e in ordered {
            let end = offset + e.byteCount
            members.append((e.name, .object([("dtype", .string(e.dtype.rawValue)), ("shape", .array(e.shape.map { .int($0) })),
                                             ("data_offsets", .array([.int(offset), .int(end)]))])))
            offset = end
        }
        let json = JSONValue.object(members).text()
        var text = Array(json.utf8)
        text.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - text.count % 8) % 8))
        let length = withUnsafeBytes(of: UInt64(text.count).littleEndian, Array.init)
        return (length + text, ordered)
    }

    func write(_ entries: [Entry], to url: URL) throws {
        try refuseProtected(url)
        let (header, ordered) = try header(for: entries, path: url.path)
        try AtomicFile.write(to: url) { out in
            try out.write(header)
            for e in ordered { try Self.writeData(of: e, to: out) }
        }
    }

    private static func writeData(of entry: Entry, to out: AtomicFileWriter) throws {
        switch entry.payload {
        case let .bytes(b):
            try out.write(b)
        case let .view(v, owner):
            try withExtendedLifetime(owner) { try out.write(v) }
        case .external:
            throw FormatError.invalidWriteRequest(path: out.destination.path, tensor: entry.name, reason: "its bytes are written by the caller")
        case let .floats(values):
            guard let dtype = entry.dtype.floatType else { return }   // rejected by validate
            let chunk = 1 << 20
            var scratch = [UInt8](repeating: 0, count: min(values.count, chunk) * dtype.byteSize)
            try values.withUnsafeBufferPointer { src in
                var start = 0
                while start < values.count, let base = src.baseAddress {
                    let n = min(chunk, values.count - start)
                    try scratch.withUnsafeMutableBytes { dst in
                        guard let d = dst.baseAddress else { return }
                        DTypeConversion.fromFloats(base + start, count: n, dtype: dtype, into: d)
                        try out.write(UnsafeRawBufferPointer(rebasing: dst[0..<(n * dtype.byteSize)]))
                    }
                    start += n
                }
            }
        }
    }

    private func validate(_ entries: [Entry], path: String) throws {
        var seen = Set<String>()
        for e in entries {
            func bad(_ reason: String) -> FormatError { .invalidWriteRequest(path: path, tensor: e.name, reason: reason) }
            guard !e.name.isEmpty, e.name != "__metadata__" else { throw bad("reserved or empty tensor name") }
            guard seen.insert(e.name).inserted else { throw bad("added twice") }
            guard e.shape.allSatisfy({ $0 >= 0 }) else { throw bad("negative dimension in shape \(e.shape)") }
            var elements = 1
            for d in e.shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad("shape \(e.shape) is too large") }
                elements = p
            }
            switch e.payload {
            case let .floats(values):
                guard e.dtype.floatType != nil else { throw bad("floats cannot be stored as \(e.dtype)") }
                guard values.count == elements else { throw bad("\(values.count) values for shape \(e.shape)") }
            default:
                let have = e.payload.byteCountIfRaw ?? 0
                guard have == elements * e.dtype.byteSize else {
                    throw bad("\(have) bytes for shape \(e.shape) of \(e.dtype) (needs \(elements * e.dtype.byteSize))")
                }
            }
        }
    }

    func refuseProtected(_ url: URL) throws {
        let target = url.standardizedFileURL.resolvingSymlinksInPath().path
        var targetStat = stat()
        let targetExists = stat(url.path, &targetStat) == 0
        for p in protectedPaths {
            if p.standardizedFileURL.resolvingSymlinksInPath().path == target {
                throw FormatError.wouldOverwriteInput(path: url.path)
            }
            var s = stat()
            if targetExists, stat(p.path, &s) == 0, s.st_dev == targetStat.st_dev, s.st_ino == targetStat.st_ino {
                throw FormatError.wouldOverwriteInput(path: url.path)
            }
        }
    }
}
