import Foundation
import Compute

/// A point of the residual stream where a gradient is taken: `resid_pre` or `resid_mid` of a block
/// (`resid_post[l]` is `resid_pre[l + 1]`).
public struct StreamPoint: Sendable, Equatable {
    public var layer: Int
    public var point: HookPoint

    public init(layer: Int, point: HookPoint = .residPre) {
        self.layer = layer; self.point = point
    }

    /// The stream point of a TransformerLens hook (`resid_pre`, `resid_mid`, `resid_post`), or nil for
    /// hooks that are not the residual stream.
    public init?(hook point: HookPoint, layer: Int) {
        switch point {
        case .residPre, .residMid: self.init(layer: layer, point: point)
        case .residPost: self.init(layer: layer + 1, point: .residPre)
        default: return nil
        }
    }
}

/// The refusal metric of one prompt and its gradient (SPEC §6).
public struct MetricGradient: Sendable {
    /// `m = ⟨resid_pre[M] at the last position, r̂⟩`.
    public var metric: Double
    /// `∂m/∂x_t` for every position t: `T × d`, row-major.
    public var gradient: [Float]
    /// The stream `x_t` at the point itself (`T × d`), what an SAE at that point encodes.
    public var activation: [Float]
}

extension LanguageModel {
    /// For every prompt (token ids, used as given): `m = ⟨resid_pre[M][last], unit⟩` and its gradient
    /// with respect to the stream at `point` at every position, through blocks `point.layer … M−1`.
    ///
    /// `M` may be `numLayers`: the stream after the last block, before the final norm (TransformerLens's
    /// `blocks.{L−1}.hook_resid_post`). Prompts run in passes of at most `tokenBudget` tokens (default:
    /// what keeps the recorded activations near 1 GB), each one forward pass that records blocks
    /// `point.layer ..< M` and one backward pass. `progress(done)` counts prompts.
    public func metricGradients(_ prompts: [[Int]], unit: [Float], metricLayer M: Int, at point: StreamPoint,
                                tokenBudget: Int? = nil, progress: (Int) -> Void = { _ in }) throws -> [MetricGradient] {
        let c = config, L = c.numLayers
        try checkBackwardSupport()
        guard unit.count == c.hiddenSize else {
            throw ModelError.badInput("the direction has \(unit.count) entries for d_model \(c.hiddenSize)")
        }
        guard (1...L).contains(M) else { throw ModelError.badInput("metric layer \(M) is outside 1...\(L)") }
        guard point.point == .residPre || point.point == .residMid else {
            throw ModelError.badInput("gradients are taken at resid_pre or resid_mid, not \(point.point.rawValue)")
        }
        guard (0..<M).contains(point.layer) else {
            throw ModelError.badInput("the gradient's layer \(point.layer) must be below the metric layer \(M) (and ≥ 0)")
        }
        guard !prompts.isEmpty, prompts.allSatisfy({ !$0.isEmpty }) else { throw ModelError.badInput("no prompts, or an empty prompt") }
        let perRow = c.blocks[point.layer..<M].reduce(0) { $0 + BlockRecord.floatsPerRow($1, d: c.hiddenSize) }
            + 2 * L * (c.blocks.map(\.attention.kvDim).max() ?? 0) + 12 * c.hiddenSize + 3 * c.intermediateSize
        let budget = tokenBudget ?? max(64, (1 << 30) / (4 * max(1, perRow)))
        var out: [MetricGradient] = []
        for chunk in PackedGroup.chunks(prompts, budget: budget) {
            out += try metricGradients(Array(prompts[chunk]), unit: unit, metricLayer: M, at: point)
            progress(out.count)
        }
        return out
    }

    /// One pass: record, read the metric rows, seed `unit` at each prompt's last row, run backward.
    private func metricGradients(_ prompts: [[Int]], unit: [Float], metricLayer M: Int, at point: StreamPoint) throws -> [MetricGradient] {
        let be = backend, c = config, d = c.hiddenSize, L = c.numLayers
        var input = ForwardInput.prompts(prompts)
        input.logitRows = []
        let n = input.rows, ranges = ForwardInput.rowRanges(prompts), last = ranges.map { $0.upperBound - 1 }
        let kv = be.kvStore(layers: L, slots: n, kvDim: c.blocks.map(\.attention.kvDim).max() ?? 0)
        let recorder = ForwardRecorder(layers: point.layer..<M, config: c, rows: n, backend: be)
        // resid_pre[M] of the last rows: a capture at block M's input, or after the last block when M = L.
        let final = be.tensor(rows: last.count, cols: d)
        let capture = Capture(rows: last, mode: .copy([M < L ? M : L - 1: final]))
        let edit = ActivationEdit(point: M < L ? .residPre : .residPost, layers: [M < L ? M : L - 1], op: .capture(capture))
        _ = try forward(input, kv: kv, edits: prepare([edit]), stopAtLayer: M < L ? M : nil, workspace: nil, recorder: recorder)
        let finals = be.read(final)
        let metrics = (0..<last.count).map { i in (0..<d).reduce(0.0) { $0 + Double(finals[i * d + $1]) * Double(unit[$1]) } }

        let dx = be.tensor(rows: n, cols: d)
        be.zero(dx, rows: 0..<n)
        for r in last { unit.withUnsafeBufferPointer { if let p = $0.baseAddress { be.write(p, rows: r..<(r + 1), of: dx) } } }
        BackwardPass(model: self, input: input, kv: kv, recorder: recorder).run(from: dx, metricLayer: M, to: point)
        guard let record = recorder.record(layer: point.layer) else { throw ModelError.badInput("no record of block \(point.layer)") }
        let grads = be.read(dx), acts = be.read(point.point == .residMid ? record.residMid : record.residPre)
        return ranges.enumerated().map { i, r in
            let span = (r.lowerBound * d)..<(r.upperBound * d)
            return MetricGradient(metric: metrics[i], gradient: Array(grads[span]), activation: Array(acts[span]))
        }
    }

    /// Refuses blocks whose backward `BackwardPass` does not implement, rather than return a wrong
    /// gradient: every `BlockSpec` feature of today is covered; routed experts (an `MLPKind` other than
    /// `.gated`) and attention features beyond `AttentionBlock`'s current fields (such as attention
    /// sinks) are not.
    public func checkBackwardSupport() throws {
        let place = directory?.path ?? "model"
        for (l, b) in config.blocks.enumerated() {
            guard case .gated = b.mlp else {
                throw ModelError.unsupportedFeature(path: place, feature: "gradients through block \(l): its MLP is not a gated MLP (routed experts have no backward yet)")
            }
            let a = b.attention
            let covered = AttentionBlock(heads: a.heads, kvHeads: a.kvHeads, headDim: a.headDim, scale: a.scale, softcap: a.softcap,
                                         window: a.window, rope: a.rope, qkNorm: a.qkNorm)
            let block = BlockSpec(attention: covered, mlp: b.mlp, preNorms: b.preNorms, postAttentionNorm: b.postAttentionNorm,
                                  postMLPNorm: b.postMLPNorm, residualMultiplier: b.residualMultiplier)
            guard block == b else {
                throw ModelError.unsupportedFeature(path: place, feature: "gradients through block \(l): it has features the backward pass does not cover (such as attention sinks)")
            }
        }
    }
}
