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
        let d = config.hiddenSize
        var out: [ResidualWriter] = []
        if includeEmbedding { out.append(ResidualWriter(name: family.embeddingName, kind: .embedding, layer: nil, postNorm: nil)) }
        for l in layers {
            let o: String, down: String
            if config.modelType == "qwen" {
                o = "transformer.h.\(l).attn.c_proj"; down = "transformer.h.\(l).mlp.c_proj"
            } else {
                o = "model.layers.\(l).self_attn.o_proj"; down = "model.layers.\(l).mlp.down_proj"
            }
            let postO = config.sandwichNorms ? "model.layers.\(l).post_attention_layernorm.weight" : nil
            let postD = config.sandwichNorms ? "model.layers.\(l).post_feedforward_layernorm.weight" : nil
            for (base, post) in [(o, postO), (down, postD)] {
                out.append(ResidualWriter(name: base + ".weight", kind: .projection, layer: l, postNorm: post))
                if store.contains(base + ".bias") {
                    out.append(ResidualWriter(name: base + ".bias", kind: .bias, layer: l, postNorm: post))
                }
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
            guard let dt = try store.dtype(w.name).floatType else {
                throw InterventionError.unsupportedModel(path: store.folder.path,
                    reason: "tensor '\(w.name)' has dtype \(try store.dtype(w.name)); only F32, F16 and BF16 can be edited")
            }
            _ = dt
            if let p = w.postNorm, !store.contains(p) {
                throw InterventionError.unsupportedModel(path: store.folder.path, reason: "post-norm weight '\(p)' is missing")
            }
        }
        return out
    }
}

/// The projections weight orthogonalization applies, in place, on Float32 values with Double
/// accumulation. `unit` is the direction to remove, of length d_model and unit norm.
public enum Orthogonalize {
    /// `W ← W − u uᵀ W` for `W` of `rows = d_model` × `cols` (row-major): every column loses its
    /// component along `u`. With `preserveNorms`, every column is then rescaled to its original
    /// Euclidean norm (a column reduced to zero stays zero).
    public static func columns(_ w: inout [Float], rows: Int, cols: Int, unit u: [Double], preserveNorms: Bool) {
        precondition(w.count == rows * cols && u.count == rows)
        var dots = [Double](repeating: 0, count: cols)
        var oldNorm = [Double](repeating: 0, count: preserveNorms ? cols : 0)
        w.withUnsafeMutableBufferPointer { wp in
            dots.withUnsafeMutableBufferPointer { dp in
                for i in 0..<rows {
                    let ui = u[i], row = wp.baseAddress! + i * cols
                    for j in 0..<cols { dp[j] += ui * Double(row[j]) }
                }
                if preserveNorms {
                    oldNorm.withUnsafeMutableBufferPointer { np in
                        for i in 0..<rows {
                            let row = wp.baseAddress! + i * cols
                            for j in 0..<cols { let x = Double(row[j]); np[j] += x * x }
                        }
                    }
                }
                if !preserveNorms {
                    for i in 0..<rows {
                        let ui = u[i], row = wp.baseAddress! + i * cols
                        for j in 0..<cols { row[j] = Float(Double(row[j]) - ui * dp[j]) }
                    }
                    return
                }
                // Norm-preserving: new column = (w − (w·u) u) · ‖w‖ / ‖w − (w·u) u‖, in Double.
                var newNorm = [Double](repeating: 0, count: cols)
                for i in 0..<rows {
                    let ui = u[i], row = wp.baseAddress! + i * cols
                    for j in 0..<cols { let x = Double(row[j]) - ui * dp[j]; newNorm[j] += x * x }
                }
                let factor = (0..<cols).map { j -> Double in
                    let n = newNorm[j].squareRoot()
                    return n > 0 ? oldNorm[j].squareRoot() / n : 1
                }
                for i in 0..<rows {
                    let ui = u[i], row = wp.baseAddress! + i * cols
                    for j in 0..<cols { row[j] = Float((Double(row[j]) - ui * dp[j]) * factor[j]) }
                }
            }
        }
    }

    /// Every row `e` of `rows × d` (row-major) becomes `e − (e·u) u` (rescaled to `‖e‖` with `preserveNorms`).
    public static func rows(_ w: inout [Float], rows: Int, d: Int, unit u: [Double], preserveNorms: Bool) {
        precondition(w.count == rows * d && u.count == d)
        w.withUnsafeMutableBufferPointer { wp in
            for r in 0..<rows {
                let e = wp.baseAddress! + r * d
                var dot = 0.0, old = 0.0
                for k in 0..<d { let x = Double(e[k]); dot += x * u[k]; old += x * x }
                if !preserveNorms {
                    for k in 0..<d { e[k] = Float(Double(e[k]) - dot * u[k]) }
                    continue
                }
                var new = 0.0
                for k in 0..<d { let x = Double(e[k]) - dot * u[k]; new += x * x }
                let f = new > 0 ? (old / new).squareRoot() : 1
                for k in 0..<d { e[k] = Float((Double(e[k]) - dot * u[k]) * f) }
            }
        }
    }

    /// `normalize((offset + w) ⊙ u)`: the direction to remove before a post-norm of weight `w`.
    public static func throughNorm(_ u: [Double], weight w: [Float], offset: Float) throws -> [Double] {
        let s = zip(u, w).map { $0 * (Double(offset) + Double($1)) }
        let n = s.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard n > 0, n.isFinite else { throw InterventionError.degenerateDirection("(1+w) ⊙ r̂ for a post-norm") }
        return s.map { $0 / n }
    }
}
