import Foundation

/// The CPU backend's backward operations (reverse mode through the blocks; see `ComputeBackend`).
extension CPUBackend {
    public func zero(_ x: Tensor, rows: Range<Int>) {
        (cpu(x).pointer + rows.lowerBound * x.cols).update(repeating: 0, count: rows.count * x.cols)
    }

    public func linearInputGradient(_ dy: Tensor, rows: Range<Int>, dyColumn: Int, weight: Weight, out: Tensor, column: Int,
                                    accumulate: Bool) {
        guard !rows.isEmpty else { return }
        cpu(weight).matrix.applyTransposed(cpu(dy).pointer + rows.lowerBound * dy.cols + dyColumn, m: rows.count, lda: dy.cols,
                                           into: cpu(out).pointer + rows.lowerBound * out.cols + column, ldy: out.cols,
                                           accumulate: accumulate)
    }

    public func rmsNormBackward(_ x: Tensor, rows: Range<Int>, column: Int, width: Int, groups: Int, weight: Weight,
                                offset: Float, eps: Float, gradient dy: Tensor, dyColumn: Int, out: Tensor, outColumn: Int,
                                accumulate: Bool) {
        let xp = cpu(x).pointer, gp = cpu(dy).pointer, op = cpu(out).pointer, w = cpu(weight).vector
        Parallel.forEach(rows.count, cost: 6 * width * groups) { i in
            let r = rows.lowerBound + i
            for g in 0..<groups {
                BackwardKernels.rmsNorm(xp + r * x.cols + column + g * width, weight: w, offset: offset, eps: eps,
                                        gradient: gp + r * dy.cols + dyColumn + g * width, d: width,
                                        out: op + r * out.cols + outColumn + g * width, accumulate: accumulate)
            }
        }
    }

    public func ropeBackward(_ dx: Tensor, rows: Range<Int>, column: Int, heads: Int, headDim: Int, tables: RoPETables,
                             tableRow: Int) {
        guard let t = tables as? CPURoPETables, t.rotaryDim > 0 else { return }
        let half = t.rotaryDim / 2, xp = cpu(dx).pointer
        Parallel.forEach(rows.count, cost: heads * headDim * 2) { i in
            RoPE.rotate(xp + (rows.lowerBound + i) * dx.cols + column, heads: heads, headDim: headDim, half: half,
                        cos: t.cos.pointer + (tableRow + i) * half, sin: t.sin.pointer + (tableRow + i) * half, inverse: true)
        }
    }

    public func gatedActivationBackward(_ x: Tensor, rows: Range<Int>, width: Int, kind: MLPActivation, gradient dy: Tensor,
                                        out: Tensor) {
        let xp = cpu(x).pointer, gp = cpu(dy).pointer, op = cpu(out).pointer
        Parallel.forEach(rows.count, cost: width * 16) { i in
            let r = rows.lowerBound + i, xr = xp + r * x.cols, o = op + r * out.cols
            BackwardKernels.gatedActivation(kind, gate: xr, up: xr + width, gradient: gp + r * dy.cols, dGate: o, dUp: o + width,
                                            n: width)
        }
    }

    public func attentionBackward(_ q: Tensor, column: Int, queries: [Int], layout: SequenceLayout, kv: KVStore, layer: Int,
                                  spec: AttentionSpec, outputGradient dOut: Tensor, queryGradient dq: Tensor, dqColumn: Int,
                                  keyValueGradient dkv: Tensor, keyColumn: Int, valueColumn: Int) {
        let store = cpu(kv), grads = cpu(dkv).pointer
        CPUAttentionBackward.run(q: cpu(q).pointer + column, qStride: q.cols, queries: queries, layout: layout,
                                 keys: store.keys[layer].pointer, values: store.values[layer].pointer, kvDim: kv.kvDim, spec: spec,
                                 dOut: cpu(dOut).pointer, dOutStride: dOut.cols, dq: cpu(dq).pointer + dqColumn, dqStride: dq.cols,
                                 dk: grads + keyColumn, dv: grads + valueColumn, dkvStride: dkv.cols)
    }
}
