// All weights of a Hugging Face model folder, single-file or sharded.
import Foundation

/// The safetensors weights of a model folder, memory-mapped.
///
/// Looked up the way `transformers` does: `model.safetensors` if present, otherwise
/// `model.safetensors.index.json` (whose `weight_map` names the shard of every tensor), otherwise
/// every `*.safetensors` file in the folder (names must then be unique across files).
/// With an index, every listed shard must exist and hold the tensors the index assigns to it;
/// tensors present in a shard but absent from the index are ignored, as `transformers` does.
public final class WeightStore: @unchecked Sendable {
    /// How the folder stores its weights.
    public enum Layout: Equatable, Sendable {
        /// One `model.safetensors`.
        case single
        /// Shards listed by `model.safetensors.index.json`.
        case sharded
        /// Several `*.safetensors` files without an index.
        case unindexed
    }

    /// Name of the single-file weights.
    public static let singleFileName = "model.safetensors"
    /// Name of the shard index.
    public static let indexFileName = "model.safetensors.index.json"

    /// The model folder.
    public let folder: URL
    /// How the weights are stored.
    public let layout: Layout
    /// The opened files (shards in name order).
    public let files: [SafeTensorsFile]
    /// All tensor names, sorted.
    public let names: [String]
    /// The shard index (nil unless `layout == .sharded`).
    public let index: ShardIndex?

    private let location: [String: (file: Int, info: SafeTensorInfo)]

    /// Opens the weights of the model folder at `path`.
    public convenience init(path: String) throws {
        try self.init(folder: URL(fileURLWithPath: path))
    }

    /// Opens the weights of the model folder `folder`.
    public init(folder: URL) throws {
        self.folder = folder
        let fm = FileManager.default
        let single = folder.appendingPathComponent(Self.singleFileName)
        let indexURL = folder.appendingPathComponent(Self.indexFileName)
        var location: [String: (file: Int, info: SafeTensorInfo)] = [:]
        var files: [SafeTensorsFile] = []
        var shardIndex: ShardIndex?

        if fm.fileExists(atPath: single.path) {
            layout = .single
            let file = try SafeTensorsFile(url: single)
            files = [file]
            for t in file.tensors { location[t.name] = (0, t) }
        } else if fm.fileExists(atPath: indexURL.path) {
            layout = .sharded
            let index = try ShardIndex.read(indexURL)
            shardIndex = index
            var fileNumber: [String: Int] = [:]
            for shard in Set(index.weightMap.values).sorted() {
                let url = folder.appendingPathComponent(shard)
                guard fm.fileExists(atPath: url.path) else {
                    throw FormatError.missingShard(path: indexURL.path, shard: shard)
                }
                fileNumber[shard] = files.count
                files.append(try SafeTensorsFile(url: url))
            }
            for (name, shard) in index.weightMap {
                guard let n = fileNumber[shard] else { continue }
                guard let info = files[n].info(name) else {
                    throw FormatError.invalidIndex(path: indexURL.path,
                        reason: "tensor '\(name)' is assigned to '\(shard)' but that file does not contain it")
                }
                location[name] = (n, info)
            }
        } else {
            layout = .unindexed
            let entries = (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
            let shards = entries.filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }.sorted()
            guard !shards.isEmpty else { throw FormatError.noWeights(path: folder.path) }
            for shard in shards {
                let file = try SafeTensorsFile(url: folder.appendingPathComponent(shard))
                for t in file.tensors {
                    if let other = location[t.name] {
                        throw FormatError.duplicateTensor(path: file.path, tensor: t.name, otherPath: files[other.file].path)
                    }
                    location[t.name] = (files.count, t)
                }
                files.append(file)
            }
        }
        self.files = files
        self.location = location
        self.index = shardIndex
        names = location.keys.sorted()
    }

    /// Whether the folder holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { location[name] != nil }

    /// The entry for `name`; throws `tensorNotFound` naming the tensor and folder.
    public func info(_ name: String) throws -> SafeTensorInfo {
        try locate(name).info
    }

    /// The element type of `name`.
    public func dtype(_ name: String) throws -> DType {
        try locate(name).info.dtype
    }

    /// The shape of `name`.
    public func shape(_ name: String) throws -> [Int] {
        try locate(name).info.shape
    }

    /// The file holding `name`.
    public func file(containing name: String) throws -> SafeTensorsFile {
        files[try locate(name).file]
    }

    /// The file name (not path) of the file holding `name`, e.g. `model-00001-of-00002.safetensors`.
    public func fileName(containing name: String) throws -> String {
        try file(containing: name).url.lastPathComponent
    }

    /// The tensor's bytes in the mapping, valid while this store lives; may be unaligned
    /// (see `SafeTensorInfo.isAligned`).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let (file, info) = try locate(name)
        return files[file].rawBytes(of: info)
    }

    /// The tensor's values as `Float`, converting F16/BF16; other dtypes throw `unsupportedDType`.
    public func floats(_ name: String) throws -> [Float] {
        try files[try locate(name).file].floats(name)
    }

    /// Converts the tensor into `destination` (room for `elementCount` floats).
    public func floats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try files[try locate(name).file].floats(name, into: destination)
    }

    /// Total number of elements over all tensors (the parameter count).
    public var parameterCount: Int {
        location.values.reduce(0) { $0 + $1.info.elementCount }
    }

    /// Total bytes of tensor data.
    public var tensorByteCount: Int {
        location.values.reduce(0) { $0 + $1.info.byteCount }
    }

    /// Total size of the weight files on disk.
    public var fileByteCount: Int {
        files.reduce(0) { $0 + $1.fileSize }
    }

    /// The paths of every file this store read, for `SafeTensorsWriter.protectedPaths`.
    public var inputURLs: [URL] {
        var urls = files.map(\.url)
        if layout == .sharded { urls.append(folder.appendingPathComponent(Self.indexFileName)) }
        return urls
    }

    private func locate(_ name: String) throws -> (file: Int, info: SafeTensorInfo) {
        guard let found = location[name] else { throw FormatError.tensorNotFound(path: folder.path, tensor: name) }
        return found
    }
}
