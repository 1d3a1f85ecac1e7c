// model.safetensors.index.json: which shard holds which tensor.
import Basics
import Foundation

/// The contents of a `*.safetensors.index.json` file.
public struct ShardIndex: Equatable, Sendable {
    /// Tensor name → shard file name.
    public var weightMap: [String: String]
    /// A value of the index's `metadata` object (`total_size`, `total_parameters` are integers).
    public enum MetadataValue: Equatable, Sendable {
        case int(Int)
        case string(String)
    }

    /// The `metadata` object (entries that are neither integers nor strings are dropped).
    public var metadata: [String: MetadataValue]

    /// `metadata["total_size"]` when it is an integer.
    public var totalSize: Int? {
        if case let .int(n)? = metadata["total_size"] { return n }
        return nil
    }

    public init(weightMap: [String: String], metadata: [String: MetadataValue] = [:]) {
        self.weightMap = weightMap
        self.metadata = metadata
    }

    /// Index files larger than this are refused (real ones are well under a megabyte).
    public static let maxFileSize = 64 << 20

    /// Reads and validates an index file. Shard names must be plain file names in the same folder.
    public static func read(_ url: URL) throws -> ShardIndex {
        let path = url.path
        let data = try RegularFile.read(url, limit: maxFileSize)
        let json: JSONValue
        do { json = try JSONValue.parse(data, options: JSONParseOptions(rejectDuplicateKeys: true)) } catch {
            throw FormatError.invalidIndex(path: path, reason: "not valid JSON: \(error)")
        }
        guard json.members != nil else { throw FormatError.invalidIndex(path: path, reason: "not a JSON object") }
        guard let mapValue = json["weight_map"] else { throw FormatError.invalidIndex(path: path, reason: "missing 'weight_map'") }
        guard let map = mapValue.members else {
            throw FormatError.invalidIndex(path: path, reason: "'weight_map' is \(mapValue.kind), not an object")
        }
        var weightMap: [String: String] = [:]
        for (name, value) in map {
            guard let shard = value.string else {
                throw FormatError.invalidIndex(path: path, reason: "'weight_map' entry '\(name)' is not a string")
            }
            guard isPlainFileName(shard) else {
                throw FormatError.invalidIndex(path: path, reason: "shard name '\(shard)' for '\(name)' is not a plain file name")
            }
            weightMap[name] = shard
        }
        var metadata: [String: MetadataValue] = [:]
        for (key, value) in json["metadata"]?.members ?? [] {
            if let n = value.integer {
                metadata[key] = .int(n)
            } else if let s = value.string {
                metadata[key] = .string(s)
            }
        }
        return ShardIndex(weightMap: weightMap, metadata: metadata)
    }

    /// The index as `transformers` writes it: `{"metadata": {...}, "weight_map": {...}}`, keys
    /// sorted, two-space indent, trailing newline (`json.dumps(index, indent=2, sort_keys=True)`).
    public func jsonText() -> String {
        let meta: [JSONMember] = metadata.map { key, value in
            switch value {
            case let .int(n): return (key, .int(n))
            case let .string(s): return (key, .string(s))
            }
        }
        let map: [JSONMember] = weightMap.map { ($0.key, .string($0.value)) }
        let index = JSONValue.object([("metadata", .object(meta)), ("weight_map", .object(map))])
        return index.text(JSONFormat(indent: "  ", keySeparator: ": ", sortKeys: true, asciiOnly: true)) + "\n"
    }

    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }
}

/// Orders strings by Unicode code point (UTF-8 byte order), as Python and Rust sort strings.
func codePointOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
