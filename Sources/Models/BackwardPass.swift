import Foundation
import Compute

/// Reverse mode through blocks `l … M−1` for one batch of prompts: the gradient of a metric read at
/// `resid_pre[M]` with respect to the residual stream at a point inside block `l` (weights are constants).
///
/// Each block is undone as `BlockSpec` declares it, in reverse: post-MLP norm and residual multiplier,
/// down projection, gated activation, gate/up projection, pre-MLP norm (into `resid_mid`), then the
/// same for attention, whose backward recomputes the softmax from the recorded queries and the keys and
/// values left in the pass's store (causal, GQA, RoPE, sliding windows, soft-capping, q/k norms).
/// `BlockRecord` holds what the forward kept; nothing is kept for blocks below `l`.
struct BackwardPass {
    let model: LanguageModel
    let input: ForwardInput
    let kv: KVStore
    let recorder: ForwardRecorder

    /// The gradient with respect to `point` (`resid_pre` or `resid_mid` of a recorded block), given the
    /// gradient `dx` of `resid_pre[M]` (`rows × d`, overwritten: it holds the result on return).
    func run(from dx: Tensor, metricLayer M: Int, to point: StreamPoint) {
        let be = model.backend, c = model.config, n = input.rows, rows = 0..<n
        let f = c.intermediateSize, qkvWidth = c.blocks.map(\.attention.qkvWidth).max() ?? 0
        let qDim = c.blocks.map(\.attention.qDim).max() ?? 0
        let t = be.tensor(rows: n, cols: c.hiddenSize), dh = be.tensor(rows: n, cols: c.hiddenSize)
        let dqkv = be.tensor(rows: n, cols: qkvWidth), dattn = be.tensor(rows: n, cols: qDim)
        let dact = be.tensor(rows: n, cols: f), dgu = be.tensor(rows: n, cols: 2 * f)
        let seqLen = (input.layout.positions.max() ?? 0) + 1
        var tables: [Int: RoPETables] = [:]
        for l in point.layer..<M {
            if let r = c.blocks[l].attention.rope, tables[r] == nil {
                tables[r] = be.ropeTables(c.ropes[r], positions: input.layout.positions, sequenceLength: seqLen)
            }
        }
        for l in stride(from: M - 1, through: point.layer, by: -1) {
            guard let record = recorder.record(layer: l) else { continue }
            let spec = c.blocks[l], w = model.blocks[l], a = spec.attention, width = spec.mlp.width

            // MLP: stream ← stream + m·post?(down(act(gate)·up)) with gate, up from pre?(resid_mid).
            let dOut = sublayerOutputGradient(dx, postNorm: w.postMLPNorm, recorded: record.mlpProj,
                                              multiplier: spec.residualMultiplier, rows: rows, scratch: t)
            be.linearInputGradient(dOut, rows: rows, dyColumn: 0, weight: w.down, out: dact, column: 0, accumulate: false)
            be.gatedActivationBackward(record.gateUp, rows: rows, width: width, kind: activation(spec.mlp), gradient: dact, out: dgu)
            inputGradient(parts: w.gateUp, gradient: dgu, rows: rows, out: dh)
            addNormInputGradient(dh, norm: w.preMLPNorm, input: record.residMid, rows: rows, into: dx)
            if l == point.layer && point.point == .residMid { return }

            // Attention: stream ← stream + m·post?(o(attention(rope(qk-norm(qkv(pre?(resid_pre))))))).
            let dAttnOut = sublayerOutputGradient(dx, postNorm: w.postAttentionNorm, recorded: record.attnProj,
                                                  multiplier: spec.residualMultiplier, rows: rows, scratch: t)
            be.linearInputGradient(dAttnOut, rows: rows, dyColumn: 0, weight: w.o, out: dattn, column: 0, accumulate: false)
            be.zero(dqkv, rows: rows)
            // Rows are their own key/value slots (`ForwardInput.prompts` without bases), so slot gradients land in place.
            be.attentionBackward(record.qkv, column: 0, queries: Array(rows), layout: input.layout, kv: kv, layer: l, spec: a.spec,
                                 outputGradient: dattn, queryGradient: dqkv, dqColumn: 0, keyValueGradient: dqkv,
                                 keyColumn: a.qDim, valueColumn: a.qDim + a.kvDim)
            if let r = a.rope, let tab = tables[r] {
                be.ropeBackward(dqkv, rows: rows, column: 0, heads: a.heads, headDim: a.headDim, tables: tab, tableRow: 0)
                be.ropeBackward(dqkv, rows: rows, column: a.qDim, heads: a.kvHeads, headDim: a.headDim, tables: tab, tableRow: 0)
            }
            if let qn = w.qNorm, let kn = w.kNorm, let raw = record.qkvRaw, a.qkNorm != .none {
                let whole = a.qkNorm == .whole
                be.rmsNormBackward(raw, rows: rows, column: 0, width: whole ? a.qDim : a.headDim, groups: whole ? 1 : a.heads,
                                   weight: qn, offset: c.normWeightOffset, eps: c.normEps, gradient: dqkv, dyColumn: 0,
                                   out: dqkv, outColumn: 0, accumulate: false)
                be.rmsNormBackward(raw, rows: rows, column: a.qDim, width: whole ? a.kvDim : a.headDim, groups: whole ? 1 : a.kvHeads,
                                   weight: kn, offset: c.normWeightOffset, eps: c.normEps, gradient: dqkv, dyColumn: a.qDim,
                                   out: dqkv, outColumn: a.qDim, accumulate: false)
            }
            inputGradient(parts: w.qkv, gradient: dqkv, rows: rows, out: dh)
            addNormInputGradient(dh, norm: w.inputNorm, input: record.residPre, rows: rows, into: dx)
        }
    }

    private func activation(_ mlp: MLPKind) -> MLPActivation {
        switch mlp { case .gated(_, let act): return act }
    }

    /// The gradient of a sublayer's projection output (before its post-norm and multiplier) from the
    /// stream's gradient `dx`: `dx` itself when the block has neither, else computed into `scratch`.
    private func sublayerOutputGradient(_ dx: Tensor, postNorm: Weight?, recorded: Tensor?, multiplier: Float?, rows: Range<Int>,
                                        scratch: Tensor) -> Tensor {
        let be = model.backend, c = model.config
        guard postNorm != nil || multiplier != nil else { return dx }
        be.copyRows(dx, from: rows.lowerBound, count: rows.count, into: scratch, to: rows.lowerBound)
        if let m = multiplier { be.scale(scratch, rows: rows, by: m) }
        if let norm = postNorm, let x = recorded {
            be.rmsNormBackward(x, rows: rows, column: 0, width: c.hiddenSize, groups: 1, weight: norm, offset: c.normWeightOffset,
                               eps: c.normEps, gradient: scratch, dyColumn: 0, out: scratch, outColumn: 0, accumulate: false)
        }
        return scratch
    }

    /// `out = Σ_parts gradient[:, part columns] · W_part`: the input gradient of a fused projection.
    private func inputGradient(parts: [Weight], gradient: Tensor, rows: Range<Int>, out: Tensor) {
        var column = 0
        for (k, p) in parts.enumerated() {
            model.backend.linearInputGradient(gradient, rows: rows, dyColumn: column, weight: p, out: out, column: 0, accumulate: k > 0)
            column += p.rows
        }
    }

    /// `dx += ∂/∂stream` of a sublayer whose input is `pre?(stream)`, given the gradient `dh` of that input.
    private func addNormInputGradient(_ dh: Tensor, norm: Weight?, input: Tensor, rows: Range<Int>, into dx: Tensor) {
        let be = model.backend, c = model.config
        if let norm {
            be.rmsNormBackward(input, rows: rows, column: 0, width: c.hiddenSize, groups: 1, weight: norm, offset: c.normWeightOffset,
                               eps: c.normEps, gradient: dh, dyColumn: 0, out: dx, outColumn: 0, accumulate: true)
        } else {
            be.add(dh, into: dx, rows: rows)
        }
    }
}
