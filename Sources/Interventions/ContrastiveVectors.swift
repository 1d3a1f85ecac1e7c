import Foundation
import ModelFormats
import Models
import Compute

/// Contrastive steering directions per layer from two prompt sets (control vectors, as repeng and
/// llama.cpp's `cvector-generator` make them), read at the last prompt token of `resid_post[l]`.
public enum ContrastiveVectors {
    public enum Method: String, Sendable, CaseIterable {
        /// `mean(positive) − mean(negative)` (unnormalised; counts may differ).
        case mean
        /// repeng's `pca_diff`: the first principal component of the paired differences
        /// `positive[i] − negative[i]` after centering them (as scikit-learn's PCA does), unit
        /// length, its sign chosen so that it points along the mean difference. Needs equal counts
        /// and at least two pairs.
        case pca
    }

    /// The last-token `resid_post[l]` of every prompt, for each of `layers`: `[layer: [prompt: [d]]]`.
    /// Prompts run in batches of `batchSize`, captured by the backend.
    public static func lastTokenActivations(model: LanguageModel, prompts: [[Int]], layers: [Int],
                                            batchSize: Int = 8) throws -> [Int: [[Float]]] {
        try ModelCheck.layers(layers, "vector layers", model)
        guard batchSize > 0 else { throw InterventionError.badInput("batch size must be positive") }
        let d = model.config.hiddenSize
        var out: [Int: [[Float]]] = [:]
        for l in layers { out[l] = [] }
        var start = 0
        while start < prompts.count {
            let chunk = Array(prompts[start..<min(prompts.count, start + batchSize)])
            let lastRows = ForwardInput.rowRanges(chunk).map { $0.upperBound - 1 }
            var tensors: [Int: Tensor] = [:]
            for l in layers { tensors[l] = model.backend.tensor(rows: chunk.count, cols: d) }
            let capture = Capture(rows: lastRows, mode: .copy(tensors))
            _ = try model.prefill(chunk, edits: [ActivationEdit(point: .residPost, layers: layers, op: .capture(capture))], logits: .none)
            for l in layers {
                guard let t = tensors[l] else { continue }
                let values = model.backend.read(t)
                out[l, default: []] += (0..<chunk.count).map { Array(values[($0 * d)..<(($0 + 1) * d)]) }
            }
            start += chunk.count
        }
        return out
    }

    /// One direction from positive and negative activations (each `[n][d]`).
    public static func direction(positive: [[Float]], negative: [[Float]], method: Method) throws -> [Float] {
        guard let d = positive.first?.count, !negative.isEmpty else {
            throw InterventionError.badInput("both prompt sets need at least one prompt")
        }
        guard (positive + negative).allSatisfy({ $0.count == d }) else { throw InterventionError.badInput("activations differ in length") }
        let meanDiff = zip(mean(positive, d), mean(negative, d)).map { $0 - $1 }
        switch method {
        case .mean:
            return meanDiff.map { Float($0) }
        case .pca:
            guard positive.count == negative.count else {
                throw InterventionError.badInput("pca pairs prompts: \(positive.count) positive vs \(negative.count) negative prompts")
            }
            guard positive.count >= 2 else { throw InterventionError.badInput("pca needs at least two prompt pairs") }
            let diffs = zip(positive, negative).map { p, n in (0..<d).map { Double(p[$0]) - Double(n[$0]) } }
            var pc = try firstPrincipalComponent(diffs)
            if zip(pc, meanDiff).reduce(0, { $0 + $1.0 * $1.1 }) < 0 { pc = pc.map { -$0 } }
            return pc.map { Float($0) }
        }
    }

    /// Directions for `layers` from two sets of prompt token ids.
    public static func compute(model: LanguageModel, positive: [[Int]], negative: [[Int]], layers: [Int],
                               method: Method, batchSize: Int = 8) throws -> [Int: [Float]] {
        let pos = try lastTokenActivations(model: model, prompts: positive, layers: layers, batchSize: batchSize)
        let neg = try lastTokenActivations(model: model, prompts: negative, layers: layers, batchSize: batchSize)
        var out: [Int: [Float]] = [:]
        for l in layers { out[l] = try direction(positive: pos[l] ?? [], negative: neg[l] ?? [], method: method) }
        return out
    }

    /// The per-layer directions as a llama.cpp control vector: `direction.l` for `resid_post[l]`
    /// (layer 0 cannot be stored in that format and is refused).
    public static func controlVector(_ directions: [Int: [Float]], modelHint: String) throws -> ControlVector {
        if directions.keys.contains(0) {
            throw InterventionError.layerOutOfRange(what: "llama.cpp control vectors start at direction.1 (resid_post[0] cannot be steered)",
                                                    layer: 0, layers: directions.count)
        }
        return ControlVector(modelHint: modelHint, directions: directions)
    }

    static func mean(_ rows: [[Float]], _ d: Int) -> [Double] {
        var m = [Double](repeating: 0, count: d)
        for r in rows { for i in 0..<d { m[i] += Double(r[i]) } }
        return m.map { $0 / Double(rows.count) }
    }

    /// The unit eigenvector of the largest eigenvalue of the covariance of `rows` (centred), by
    /// power iteration on the small Gram matrix `X Xᵀ` (n × n), then mapped back with `Xᵀ`.
    static func firstPrincipalComponent(_ rows: [[Double]]) throws -> [Double] {
        let n = rows.count, d = rows[0].count
        let mu = (0..<d).map { i in rows.reduce(0) { $0 + $1[i] } / Double(n) }
        let x = rows.map { r in (0..<d).map { r[$0] - mu[$0] } }
        var g = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for a in 0..<n { for b in a..<n {
            var s = 0.0
            for i in 0..<d { s += x[a][i] * x[b][i] }
            g[a][b] = s; g[b][a] = s
        } }
        // Symmetric Jacobi eigen-decomposition of the (small) Gram matrix: exact and deterministic.
        let (values, vectors) = jacobiEigen(g)
        guard let top = values.indices.max(by: { values[$0] < values[$1] }), values[top] > 1e-20 else {
            throw InterventionError.degenerateDirection("the centred prompt differences (all pairs differ identically)")
        }
        var pc = [Double](repeating: 0, count: d)
        for a in 0..<n { let c = vectors[a][top]; for i in 0..<d { pc[i] += c * x[a][i] } }
        let norm = pc.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return pc.map { $0 / norm }
    }

    /// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.
    static func jacobiEigen(_ m: [[Double]]) -> ([Double], [[Double]]) {
        let n = m.count
        var a = m
        var v = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<max(p + 1, n) { off += a[p][q] * a[p][q] } }
            if off < 1e-30 { break }
            for p in 0..<n { for q in (p + 1)..<max(p + 1, n) where a[p][q] != 0 {
                let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<n {
                    let akp = a[k][p], akq = a[k][q]
                    a[k][p] = c * akp - s * akq; a[k][q] = s * akp + c * akq
                }
                for k in 0..<n {
                    let apk = a[p][k], aqk = a[q][k]
                    a[p][k] = c * apk - s * aqk; a[q][k] = s * apk + c * aqk
                }
                for k in 0..<n {
                    let vkp = v[k][p], vkq = v[k][q]
                    v[k][p] = c * vkp - s * vkq; v[k][q] = s * vkp + c * vkq
                }
            } }
        }
        return ((0..<n).map { a[$0][$0] }, v)
    }
}
