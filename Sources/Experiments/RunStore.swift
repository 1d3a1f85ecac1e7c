import Basics
import Foundation
import ModelFormats
import Models
import Interventions
import Compute

/// A run folder: the files a run publishes, and a `cache/` of stage results keyed by content hash
/// so a repeated or interrupted run picks up where it stopped. Every file is written atomically.
public final class RunStore {
    public let folder: URL
    public let cache: URL

    public init(folder: URL) throws {
        self.folder = folder
        cache = folder.appendingPathComponent("cache", isDirectory: true)
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
    }

    /// A stable key for a stage: FNV-1a (64-bit) over the JSON/description of its inputs.
    public func key(_ parts: Any...) -> String {
        var h = FNV1a()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for part in parts {
            let bytes: Data
            if let e = part as? Encodable, let data = try? encoder.encode(AnyEncodable(e)) { bytes = data } else {
                bytes = Data(String(describing: part).utf8)
            }
            h.update(bytes + [0x1f])
        }
        return String(h.value, radix: 16)
    }

    public func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    /// Where the value `name` of the stage keyed `key` is cached.
    func cacheURL(_ name: String, key: String) -> URL { cache.appendingPathComponent("\(key)-\(name)") }

    // MARK: JSON

    public func saveJSON<T: Encodable>(_ value: T, _ name: String, key: String? = nil) throws {
        let data = try Self.encode(value)
        try AtomicFile.write(data, to: url(name))
        if let key { try AtomicFile.write(data, to: cacheURL(name, key: key)) }
    }

    public func loadJSON<T: Decodable>(_ name: String, key: String) throws -> T? {
        guard let data = FileManager.default.contents(atPath: cacheURL(name, key: key).path) else { return nil }
        let value = try JSONDecoder().decode(T.self, from: data)
        try AtomicFile.write(data, to: url(name))
        return value
    }

    /// A value kept in `cache/` only (not published) under `key`, or nil when absent or unreadable (a
    /// cache entry is recomputed rather than trusted when it does not decode).
    func readCached<T: Decodable>(_ name: String, key: String) -> T? {
        guard let data = FileManager.default.contents(atPath: cacheURL(name, key: key).path) else { return nil }
        return try? JSONDecoder().decode(T.self, from: data)
    }

    func writeCached<T: Encodable>(_ value: T, _ name: String, key: String) throws {
        try AtomicFile.write(try Self.encode(value), to: cacheURL(name, key: key))
    }

    /// A stage result kept in `cache/` only: read back when present, else computed and saved. `keep` decides
    /// whether a computed value is saved (JSON holds no NaN or infinity, so such values are recomputed).
    func cached<T: Codable>(_ name: String, key: String, keep: (T) -> Bool = { _ in true }, _ compute: () throws -> T) throws -> T {
        if let value: T = readCached(name, key: key) { return value }
        let value = try compute()
        if keep(value) { try writeCached(value, name, key: key) }
        return value
    }

    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try e.encode(value)
        data.append(0x0a)
        return data
    }

    // MARK: Lines (JSONL) for resumable stages

    /// Appends one JSON line to a cache file (a checkpoint of partial progress).
    public func appendLine<T: Encodable>(_ value: T, cacheName: String) throws {
        let u = cache.appendingPathComponent(cacheName)
        var line = try JSONEncoder().encode(value)
        line.append(0x0a)
        if let h = try? FileHandle(forWritingTo: u) {
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: line)
        } else {
            try AtomicFile.write(line, to: u)
        }
    }

    /// Complete lines of a checkpoint file (a torn last line from an interruption is ignored).
    public func readLines<T: Decodable>(_ type: T.Type, cacheName: String) -> [T] {
        guard let data = FileManager.default.contents(atPath: cache.appendingPathComponent(cacheName).path) else { return [] }
        return data.split(separator: 0x0a).compactMap { try? JSONDecoder().decode(T.self, from: Data($0)) }
    }

    public func writeLines<T: Encodable>(_ rows: [T], _ name: String) throws {
        var data = Data()
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for r in rows { data.append(try e.encode(r)); data.append(0x0a) }
        let u = url(name)
        try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(data, to: u)
    }

    // MARK: Tensors

    func loadMeans(key: String) throws -> ([Double], [Double])? {
        let u = cacheURL("means.safetensors", key: key)
        guard FileManager.default.fileExists(atPath: u.path) else { return nil }
        let f = try SafeTensorsFile(url: u)
        // Means are cached as pairs of Float32 (high + residual) so Float64 survives the round trip.
        func read(_ n: String) throws -> [Double] {
            let hi = try f.floats(n + ".hi"), lo = try f.floats(n + ".lo")
            return zip(hi, lo).map { Double($0) + Double($1) }
        }
        return (try read("harmful"), try read("harmless"))
    }

    func saveMeans(key: String, harmful: [Double], harmless: [Double], shape: [Int]) throws {
        var w = SafeTensorsWriter()
        for (n, v) in [("harmful", harmful), ("harmless", harmless)] {
            let hi = v.map { Float($0) }
            w.add(n + ".hi", floats: hi, shape: shape, as: .f32)
            w.add(n + ".lo", floats: zip(v, hi).map { Float($0 - Double($1)) }, shape: shape, as: .f32)
        }
        try w.write(to: cacheURL("means.safetensors", key: key))
    }

    func writeCandidates(_ c: [[[Float]]], harmfulMean: [Double], harmlessMean: [Double], shape: [Int]) throws {
        var w = SafeTensorsWriter(metadata: ["format": "steer candidates", "positions": "\(-shape[0])..-1"])
        w.add("candidates", floats: c.flatMap { $0.flatMap { $0 } }, shape: shape, as: .f32)
        w.add("harmful_mean", floats: harmfulMean.map(Float.init), shape: shape, as: .f32)
        w.add("harmless_mean", floats: harmlessMean.map(Float.init), shape: shape, as: .f32)
        try w.write(to: url("candidates.safetensors"))
    }

    /// `direction.safetensors` (SPEC §2) with provenance, plus the harmless mean at the chosen
    /// position for every layer (`harmless_mean`, `[L, d]`), which projected abliteration uses.
    func writeDirection(_ r: [Float], position: Int, layer: Int, model: LanguageModel, harmlessMean: [Float],
                        extra: [String: String] = [:]) throws {
        var meta = extra
        meta["layer"] = "\(layer)"
        meta["position"] = "\(position)"
        meta["method"] = "difference-in-means (refusal, SPEC §3)"
        meta["model"] = model.directory?.path ?? "?"
        meta["model_type"] = model.config.modelType
        let mean = Direction.Stack(shape: [model.config.numLayers, model.config.hiddenSize], values: harmlessMean)
        try Direction(vector: r, harmlessMean: mean, metadata: meta).write(to: url("direction.safetensors"))
    }
}

/// Type-erased Encodable, for hashing heterogeneous stage inputs.
struct AnyEncodable: Encodable {
    let value: Encodable
    init(_ v: Encodable) { value = v }
    func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
}
