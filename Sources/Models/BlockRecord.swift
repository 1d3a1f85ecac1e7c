import Foundation
import Compute

/// The activations of one block that its backward pass needs, kept by a recording forward pass: the
/// inputs of every normalisation and of the attention and MLP nonlinearities. Keys and values stay in
/// the pass's key/value store; the other intermediates (normalised inputs, attention output, gated
/// activation) are not needed for input gradients and are not kept.
final class BlockRecord {
    /// `resid_pre` of the block (the input norm's input).
    let residPre: Tensor
    /// `[q | k | v]` after the q/k norms and RoPE (the forward computes them here, no copy).
    let qkv: Tensor
    /// `[q | k | v]` before the q/k norms (only with q/k norms).
    let qkvRaw: Tensor?
    /// The attention output projection before a post-attention norm (only with that norm).
    let attnProj: Tensor?
    /// `resid_mid` of the block (the MLP norm's input).
    let residMid: Tensor
    /// `[gate | up]` before the activation (the forward computes them here, no copy).
    let gateUp: Tensor
    /// The MLP down projection before a post-MLP norm (only with that norm).
    let mlpProj: Tensor?

    init(spec: BlockSpec, rows n: Int, d: Int, backend be: ComputeBackend) {
        let a = spec.attention
        residPre = be.tensor(rows: n, cols: d)
        qkv = be.tensor(rows: n, cols: a.qkvWidth)
        qkvRaw = a.qkNorm == .none ? nil : be.tensor(rows: n, cols: a.qkvWidth)
        attnProj = spec.postAttentionNorm ? be.tensor(rows: n, cols: d) : nil
        residMid = be.tensor(rows: n, cols: d)
        gateUp = be.tensor(rows: n, cols: 2 * spec.mlp.width)
        mlpProj = spec.postMLPNorm ? be.tensor(rows: n, cols: d) : nil
    }

    /// Floats kept per token row for a block of `spec` (for sizing passes).
    static func floatsPerRow(_ spec: BlockSpec, d: Int) -> Int {
        let a = spec.attention
        return 2 * d + a.qkvWidth * (a.qkNorm == .none ? 1 : 2) + 2 * spec.mlp.width
            + (spec.postAttentionNorm ? d : 0) + (spec.postMLPNorm ? d : 0)
    }
}

/// The records a forward pass keeps: one per block in `layers`, for every row of the pass (whose groups
/// must all start at block 0 or at `layers.lowerBound` or below).
final class ForwardRecorder {
    let layers: Range<Int>
    private(set) var records: [Int: BlockRecord] = [:]

    init(layers: Range<Int>, config c: ModelConfig, rows n: Int, backend be: ComputeBackend) {
        self.layers = layers
        for l in layers { records[l] = BlockRecord(spec: c.blocks[l], rows: n, d: c.hiddenSize, backend: be) }
    }

    func record(layer l: Int) -> BlockRecord? { records[l] }
}
