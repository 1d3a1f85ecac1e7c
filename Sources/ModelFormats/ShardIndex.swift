// model.safetensors.index.json: which shard holds which tensor.
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
        do { json = try JSONValue.parse([UInt8](data)) } catch {
            throw FormatError.invalidIndex(path: path, reason: "not valid JSON: \(error)")
        }
        guard let root = json.object else { throw FormatError.invalidIndex(path: path, reason: "not a JSON object") }
        guard let mapValue = root["weight_map"] else { throw FormatError.invalidIndex(path: path, reason: "missing 'weight_map'") }
        guard let map = mapValue.object else {
            throw FormatError.invalidIndex(path: path, reason: "'weight_map' is \(mapValue.kind), not an object")
        }
        var weightMap: [String: String] = [:]
        for name in map.keys {
            guard let shard = map[name]?.string else {
                throw FormatError.invalidIndex(path: path, reason: "'weight_map' entry '\(name)' is not a string")
            }
            guard isPlainFileName(shard) else {
                throw FormatError.invalidIndex(path: path, reason: "shard name '\(shard)' for '\(name)' is not a plain file name")
            }
            weightMap[name] = shard
        }
        var metadata: [String: MetadataValue] = [:]
        if let meta = root["metadata"]?.object {
            for key in meta.keys {
                guard let value = meta[key] else { continue }
                if let n = value.integer {
                    metadata[key] = .int(n)
                } else if let s = value.string {
                    metadata[key] = .string(s)
                }
            }
        }
        return ShardIndex(weightMap: weightMap, metadata: metadata)
    }

    /// The index as `transformers` writes it: `{"metadata": {...}, "weight_map": {...}}`, keys
    /// sorted, two-space indent, trailing newline (`json.dumps(index, indent=2, sort_keys=True)`).
    public func jsonText() -> String {
        var out = "{\n  \"metadata\": {"
        let metaKeys = metadata.keys.sorted(by: codePointOrder)
        for (i, key) in metaKeys.enumerated() {
            let rendered: String
            switch metadata[key] {
            case let .int(n)?: rendered = String(n)
            case let .string(v)?: rendered = q(v)
            case nil: rendered = "null"
            }
            out += (i == 0 ? "\n" : ",\n") + "    \(q(key)): \(rendered)"
        }
        out += metaKeys.isEmpty ? "},\n" : "\n  },\n"
        out += "  \"weight_map\": {"
        let names = weightMap.keys.sorted(by: codePointOrder)
        for (i, name) in names.enumerated() {
            out += (i == 0 ? "\n" : ",\n") + "    \(q(name)): \(q(weightMap[name] ?? ""))"
        }
        out += names.isEmpty ? "}\n}\n" : "\n  }\n}\n"
        return out
    }

    private func q(_ s: String) -> String { JSONValue.quote(s, asciiOnly: true) }

    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }
}

/// Orders strings by Unicode code point (UTF-8 byte order), as Python and Rust sort strings.
func codePointOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
