import Foundation
import Compute

/// The weights of one decoder block in the backend, as its `BlockTensors` name them. Parts of a fused
/// projection are kept as a list (written side by side), or joined into one weight where the backend can.
public struct BlockWeights {
    public var inputNorm: Weight?
    /// Parts producing `[q | k | v]` columns in order.
    public var qkv: [Weight]
    public var qkvBias: Weight?
    public var qNorm: Weight?
    public var kNorm: Weight?
    public var o: Weight
    public var oBias: Weight?
    public var postAttentionNorm: Weight?
    public var preMLPNorm: Weight?
    /// Parts producing `[gate | up]` columns in order (empty for routed experts).
    public var gateUp: [Weight] = []
    public var gateUpBias: Weight?
    /// nil for routed experts.
    public var down: Weight?
    public var downBias: Weight?
    /// A routed-experts MLP (`MLPKind.experts`).
    public var experts: ExpertWeights?
    /// Attention-sink logits, one per query head (`AttentionBlock.sinks`).
    public var sinks: [Float]?
    public var postMLPNorm: Weight?
    /// Host copies of the post-sublayer norm weights (what an ablation matching a weight edit needs).
    public var postAttentionNormValues: [Float]?
    public var postMLPNormValues: [Float]?

    /// Reads block `names` of shape `spec` for a stream of width `d`.
    init(_ names: BlockTensors, spec: BlockSpec, d: Int, weights w: WeightLoader) throws {
        let a = spec.attention, f = spec.mlp.width
        let qkvRows = names.qkv.count == 3 ? [a.qDim, a.kvDim, a.kvDim] : [a.qkvWidth]
        let gateUpRows = names.gateUp.count == 2 ? [f, f] : [2 * f]
        if spec.preNorms {
            guard let n = names.inputNorm else { throw ModelError.badInput("the block's input norm is not named") }
            inputNorm = try w.vector(n, count: d)
        }
        qkv = try w.stacked(names.qkv, rows: qkvRows, cols: d)
        qkvBias = names.qkvBias.isEmpty ? nil : try w.vector(names.qkvBias, counts: qkvRows)
        if a.qkNorm != .none {
            guard let qn = names.qNorm, let kn = names.kNorm else { throw ModelError.badInput("q/k norm tensors not named") }
            let whole = a.qkNorm == .whole
            qNorm = try w.vector(qn, count: whole ? a.qDim : a.headDim)
            kNorm = try w.vector(kn, count: whole ? a.kvDim : a.headDim)
        }
        if a.sinks {
            guard let n = names.sinks else { throw ModelError.badInput("the block's attention sinks are not named") }
            sinks = try w.floats(n, count: a.heads)
        }
        o = try w.matrix(names.o, rows: d, cols: a.qDim)
        oBias = try names.oBias.map { try w.vector($0, count: d) }
        if spec.postAttentionNorm, let n = names.postAttentionNorm {
            let values = try w.floats(n, count: d)
            postAttentionNorm = try w.upload(n, values)
            postAttentionNormValues = values
        }
        if spec.preNorms {
            guard let n = names.preMLPNorm else { throw ModelError.badInput("the block's MLP norm is not named") }
            preMLPNorm = try w.vector(n, count: d)
        }
        if let e = spec.mlp.experts {
            guard let n = names.experts else { throw ModelError.badInput("the block's experts are not named") }
            experts = try w.experts(n, spec: e, d: d)
        } else {
            gateUp = try w.stacked(names.gateUp, rows: gateUpRows, cols: d)
            gateUpBias = names.gateUpBias.isEmpty ? nil : try w.vector(names.gateUpBias, counts: gateUpRows)
            down = try w.matrix(names.down, rows: d, cols: f)
            downBias = try names.downBias.map { try w.vector($0, count: d) }
        }
        if spec.postMLPNorm, let n = names.postMLPNorm {
            let values = try w.floats(n, count: d)
            postMLPNorm = try w.upload(n, values)
            postMLPNormValues = values
        }
    }
}
