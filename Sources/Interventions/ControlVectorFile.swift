import Foundation
import ModelFormats

/// Control vectors on disk: llama.cpp GGUF (`.gguf`, see `ControlVector`) or safetensors with the
/// same tensor names (`direction.{n}`, F32 `[d_model]`, added to `resid_post[n]`) and
/// `controlvector.model_hint` / `controlvector.layer_convention` in `__metadata__`.
public enum ControlVectorFile {
    /// Reads a `.gguf` or `.safetensors` control vector (by extension).
    public static func read(from url: URL) throws -> ControlVector {
        guard FileManager.default.isReadableFile(atPath: url.path) else { throw InterventionError.missingFile(url.path) }
        if url.pathExtension.lowercased() != "safetensors" { return try ControlVector.read(from: url) }
        let file = try SafeTensorsFile(url: url)
        var directions: [Int: [Float]] = [:]
        for t in file.tensors {
            let parts = t.name.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, parts[0] == "direction", let n = Int(parts[1]), n >= 1 else {
                throw InterventionError.badInput("\(url.path): tensor '\(t.name)' is not named direction.<layer ≥ 1>")
            }
            guard t.dtype == .f32, t.shape.count == 1 else {
                throw InterventionError.badInput("\(url.path): tensor '\(t.name)' must be F32 [d_model], is \(t.dtype) \(t.shape)")
            }
            directions[n] = try file.floats(t.name)
        }
        guard Set(directions.values.map(\.count)).count == 1 else {
            throw InterventionError.badInput("\(url.path): no directions, or directions of different lengths")
        }
        return ControlVector(modelHint: file.metadata["controlvector.model_hint"] ?? "", directions: directions)
    }

    /// Writes `vector` as GGUF, or as safetensors when `url` ends in `.safetensors` (atomically).
    /// `metadata` goes into the safetensors header (GGUF gets llama.cpp's keys only).
    public static func write(_ vector: ControlVector, to url: URL, metadata: [String: String] = [:], protecting: [URL] = []) throws {
        if url.pathExtension.lowercased() != "safetensors" { return try vector.write(to: url) }
        var meta = metadata
        meta["controlvector.model_hint"] = vector.modelHint
        meta["controlvector.layer_convention"] = "direction.n is added to resid_post[n] (output of block n, 0-based), as llama.cpp"
        var w = SafeTensorsWriter(metadata: meta, protecting: protecting)
        for n in vector.layers { w.add("direction.\(n)", floats: vector.directions[n] ?? [], shape: [vector.dModel ?? 0], as: .f32) }
        try w.write(to: url)
    }
}
