import Foundation
import ModelFormats
import Models

/// The tensors of a checkpoint that write into the residual stream, which weight orthogonalization
/// edits: the token embedding, every attention output projection and every MLP down projection
/// (with their biases when present).
public struct ResidualWriter: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// `[vocab, d_model]`: every row is written into the stream.
        case embedding
        /// `[d_model, in]` (`nn.Linear` layout): every column is what one input unit writes.
        case projection
        /// `[d_model]`, added by a projection.
        case bias
        /// `[…, d_model]`: every row is a vector written into the stream (gpt-oss's fused expert
        /// `down_proj` `[experts, width, d]` and `down_proj_bias` `[experts, d]`).
        case rows
    }

    public var name: String
    public var kind: Kind
    /// The block (nil for the embedding).
    public var layer: Int?
    /// The norm applied to this tensor's output before it is added to the stream (Gemma-2's
    /// post-attention / post-feedforward norms), whose weight decides the direction to remove.
    public var postNorm: String?

    /// The writers of `layers` (and the embedding when `includeEmbedding`) for a model of `config`,
    /// checked against `store`: every weight must exist with the expected shape.
    public static func plan(config: ModelConfig, store: WeightStore, layers: [Int], includeEmbedding: Bool) throws -> [ResidualWriter] {
        try plan(config: config, source: ExportSource(store: store, dtype: nil), layers: layers, includeEmbedding: includeEmbedding)
    }

    /// `plan` over an export's tensors (MXFP4 pairs seen as their dequantized tensors).
    static func plan(config: ModelConfig, source: ExportSource, layers: [Int], includeEmbedding: Bool) throws -> [ResidualWriter] {
        let family = try ModelRegistry.family(for: config.modelType)
        // Names as the files store them (a multimodal checkpoint nests the text model; its other towers are no writers).
        let d = config.hiddenSize, store = source.store
        let layout = family.layout(of: store), stored = layout.stored
        var out: [ResidualWriter] = []
        if includeEmbedding { out.append(ResidualWriter(name: stored(family.embeddingName), kind: .embedding, layer: nil, postNorm: nil)) }
        for l in layers {
            // The family names tensors by what the checkpoint holds (an MXFP4 pair's blocks, say).
            for writer in family.tensors(layer: l, config: config, has: { store.contains(stored($0)) }).residualWriters {
                let kind: Kind
                switch writer.layout { case .columns: kind = .projection; case .bias: kind = .bias; case .rows: kind = .rows }
                out.append(ResidualWriter(name: stored(writer.name), kind: kind, layer: l, postNorm: writer.postNorm.map(stored)))
            }
        }
        for w in out {
            guard source.contains(w.name) else {
                throw InterventionError.unsupportedModel(path: store.folder.path,
                    reason: "model_type '\(config.modelType)': expected tensor '\(w.name)' is missing")
            }
            let shape = try source.shape(w.name)
            let ok: Bool
            switch w.kind {
            case .embedding: ok = shape.count == 2 && shape[1] == d
            case .projection: ok = shape.count == 2 && shape[0] == d
            case .bias: ok = shape == [d]
            case .rows: ok = shape.count >= 2 && shape.last == d
            }
            guard ok else {
                throw InterventionError.unsupportedModel(path: store.folder.path,
                    reason: "tensor '\(w.name)' has shape \(shape), which does not write into a residual stream of width \(d)")
            }
            guard try source.dtype(w.name).floatType != nil else {
                throw InterventionError.unsupportedModel(path: store.folder.path,
                    reason: "tensor '\(w.name)' has dtype \(try source.dtype(w.name)); only F32, F16 and BF16 (or MXFP4 pairs) can be edited")
            }
            if let p = w.postNorm, !store.contains(p) {
                throw InterventionError.unsupportedModel(path: store.folder.path, reason: "post-norm weight '\(p)' is missing")
            }
        }
        return out
    }
}
