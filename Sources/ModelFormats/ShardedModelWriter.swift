// Writing a model's weights split over several safetensors files plus an index.
import Foundation

extension SafeTensorsWriter {
    /// The `transformers` shard name, e.g. `model-00001-of-00004.safetensors` for (1, 4).
    public static func shardFileName(_ number: Int, of count: Int) -> String {
        func pad(_ n: Int) -> String { let s = String(n); return String(repeating: "0", count: max(0, 5 - s.count)) + s }
        return "model-\(pad(number))-of-\(pad(count)).safetensors"
    }

    /// A plan that puts every tensor in the file of the same name in `store` (so an edited model
    /// keeps its source's sharding). Tensors the store lacks go to the store's last file.
    public func shardPlan(matching store: WeightStore) -> [String: String] {
        let fallback = store.files.map(\.url.lastPathComponent).sorted().last ?? WeightStore.singleFileName
        var plan: [String: String] = [:]
        for e in entries {
            plan[e.name] = (try? store.fileName(containing: e.name)) ?? fallback
        }
        return plan
    }

    /// A plan that fills shards in the order tensors were added, starting a new one when the next
    /// tensor would push a shard past `maxShardBytes` (like `huggingface_hub`). One shard is
    /// named `model.safetensors`.
    public func shardPlan(maxShardBytes: Int) -> [String: String] {
        var groups: [[String]] = [[]]
        var size = 0
        for e in entries {
            if size + e.byteCount > maxShardBytes, !(groups.last?.isEmpty ?? true) {
                groups.append([])
                size = 0
            }
            groups[groups.count - 1].append(e.name)
            size += e.byteCount
        }
        var plan: [String: String] = [:]
        for (i, names) in groups.enumerated() {
            let file = groups.count == 1 ? WeightStore.singleFileName : Self.shardFileName(i + 1, of: groups.count)
            for n in names { plan[n] = file }
        }
        return plan
    }

    /// Writes every tensor to the file `plan` assigns it, each file atomically, then (when there is
    /// more than one file) `model.safetensors.index.json` with `total_parameters`, `total_size` and
    /// the weight map, formatted as `transformers` writes it. Returns the index, or nil for one file.
    /// Nothing is written if any target is protected or any tensor lacks a plan entry.
    @discardableResult
    public func writeSharded(to folder: URL, plan: [String: String]) throws -> ShardIndex? {
        var byFile: [String: [Entry]] = [:]
        for e in entries {
            guard let file = plan[e.name] else {
                throw FormatError.invalidWriteRequest(path: folder.path, tensor: e.name, reason: "no shard assigned")
            }
            guard ShardIndex.isPlainFileName(file), file.hasSuffix(".safetensors") else {
                throw FormatError.invalidWriteRequest(path: folder.path, tensor: e.name, reason: "bad shard name '\(file)'")
            }
            byFile[file, default: []].append(e)
        }
        let files = byFile.keys.sorted(by: codePointOrder)
        let indexURL = folder.appendingPathComponent(WeightStore.indexFileName)
        let sharded = files.count > 1
        for file in files { try refuseProtected(folder.appendingPathComponent(file)) }
        if sharded { try refuseProtected(indexURL) }
        for file in files {
            try write(byFile[file] ?? [], to: folder.appendingPathComponent(file))
        }
        guard sharded else { return nil }
        var weightMap: [String: String] = [:]
        for e in entries { weightMap[e.name] = plan[e.name] }
        let index = ShardIndex(weightMap: weightMap, metadata: [
            "total_parameters": .int(entries.reduce(0) { $0 + $1.shape.reduce(1, *) }),
            "total_size": .int(entries.reduce(0) { $0 + $1.byteCount }),
        ])
        try AtomicFile.write(Array(index.jsonText().utf8), to: indexURL)
        return index
    }
}
