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
        let family = try ModelRegistry.family(for: config.modelType)
        // Names as the files store them (a multimodal checkpoint nests the text model; its other towers are no writers).
        let layout = family.layout(of: store), stored = layout.stored
        let d = config.hiddenSize
        var out: [ResidualWriter] = []
        if includeEmbedding { out.append(ResidualWriter(name: stored(family.embeddingName), kind: .embedding, layer: nil, postNorm: nil)) }
        for l in layers {
            for writer in family.tensors(layer: l, config: config, has: { store.contains(stored($0)) }).residualWriters {
                let post = writer.postNorm.map(stored)
                out.append(ResidualWriter(name: stored(writer.weight), kind: .projection, layer: l, postNorm: post))
                if let b = writer.bias { out.append(ResidualWriter(name: stored(b), kind: .bias, layer: l, postNorm: post)) }
            }
        }
        for w in out {
            guard store.contains(w.name) else {
                throw InterventionError.unsupportedModel(path: store.folder.path,
                    reason: "model_type '\(config.modelType)': expected tensor '\(w.name)' is missing")
            }
            let shape = try store.shape(w.name)
            let ok: Bool
            switch w.kind {
            case .embedding: ok = shape.count == 2 && shape[1] == d
            case .projection: ok = shape.count == 2 && shape[0] == d
            case .bias: ok = shape == [d]
            }
            guard ok else {
                throw InterventionError.unsupportedModel(path: store.folder.path,
                    reason: "tensor '\(w.name)' has shape \(shape), which does not write into a residual stream of width \(d)")
            }
            guard try store.dtype(w.name).floatType != nil else {
                throw InterventionError.unsupportedModel(path: store.folder.path,
                    reason: "tensor '\(w.name)' has dtype \(try store.dtype(w.name)); only F32, F16 and BF16 can be edited")
            }
            if let p = w.postNorm, !store.contains(p) {
                throw InterventionError.unsupportedModel(path: store.folder.path, reason: "post-norm weight '\(p)' is missing")
            }
        }
        return out
    }
}
