import Compute
import Foundation
import ModelFormats

/// Checks of the backward operations against `ReferenceBackward`, on the same kinds of inputs as the
/// forward checks: column offsets, rows not from 0, 16-bit weights, in place and accumulating, and the
/// attention layouts (batch, shared prefix, windows, decode) with GQA and soft-capping.
extension BackendChecker {
    func checkBackward() throws {
        checkZero()
        try checkLinearInputGradient()
        try checkRMSNormBackward()
        checkGatedActivationBackward()
        checkRoPEBackward()
        checkAttentionBackward()
    }

    func checkZero() {
        var x = random.grid(5, 7)
        let xt = upload(x)
        backend.zero(xt, rows: 1..<3)
        for r in 1..<3 { for c in 0..<7 { x.set(r, c, 0, bound: 0) } }
        expect(xt, x, "zero", "rows 1..<3")
    }

    /// Every dtype (kept 16-bit or not); one row, several, many (several tiles); column offsets; overwriting and accumulating.
    func checkLinearInputGradient() throws {
        for dtype in [DType.f32, .bf16, .f16] {
            for keepHalf in [false, true] {
                let (w, values) = try weight("w", rows: 37, cols: 21, dtype: dtype, keepHalf: keepHalf)
                for (m, accumulate) in [(1, false), (3, true), (6, false)] {
                    inputGradientCase("\(dtype) keepHalf=\(keepHalf) rows=\(m) accumulate=\(accumulate)", w, values, rows: m,
                                      accumulate: accumulate)
                }
            }
        }
        // Wider than one tile of columns and taller than one tile of rows.
        let (wide, values) = try weight("wide", rows: 19, cols: 300, dtype: .bf16, keepHalf: true)
        inputGradientCase("bf16 300 columns, 530 rows", wide, values, rows: 530, accumulate: true)
    }

    func inputGradientCase(_ what: String, _ w: Weight, _ values: Grid, rows m: Int, accumulate: Bool) {
        let first = 2, dyColumn = 3, column = 4
        let dy = random.grid(first + m + 1, dyColumn + w.rows + 2)
        var out = random.grid(first + m + 1, column + w.cols + 3)
        let ot = upload(out)
        backend.linearInputGradient(upload(dy), rows: first..<(first + m), dyColumn: dyColumn, weight: w, out: ot, column: column,
                                    accumulate: accumulate)
        ReferenceBackward.linearInputGradient(dy, rows: first..<(first + m), dyColumn: dyColumn, weight: values, out: &out,
                                              column: column, accumulate: accumulate)
        expect(ot, out, "linearInputGradient", what)
    }

    /// Whole rows into another tensor and accumulating into the stream's gradient (Gemma's offset 1, a
    /// 16-bit weight, an eps that matters); per-head groups at column offsets, in place.
    func checkRMSNormBackward() throws {
        let (plain, plainValues) = try weight("norm", rows: 1, cols: 40)
        let (half, halfValues) = try weight("norm.bf16", rows: 1, cols: 40, dtype: .bf16, keepHalf: true)
        let x = random.grid(6, 40, scale: 3), dy = random.grid(6, 40)
        for (w, values, offset, eps, accumulate) in [(plain, plainValues, Float(0), Float(1e-6), false), (half, halfValues, 1, 0.5, true)] {
            var out = random.grid(6, 40)
            let ot = upload(out)
            backend.rmsNormBackward(upload(x), rows: 1..<5, column: 0, width: 40, groups: 1, weight: w, offset: offset, eps: eps,
                                    gradient: upload(dy), dyColumn: 0, out: ot, outColumn: 0, accumulate: accumulate)
            ReferenceBackward.rmsNormBackward(x, rows: 1..<5, column: 0, width: 40, groups: 1, weight: values, offset: offset, eps: eps,
                                              gradient: dy, dyColumn: 0, out: &out, outColumn: 0, accumulate: accumulate)
            expect(ot, out, "rmsNormBackward", "whole rows, offset \(offset), accumulate \(accumulate)")
        }
        // q/k norms: [pad | q (4 heads of 12) | k (2 heads) | pad], the gradient overwritten in place.
        let (qNorm, qValues) = try weight("q_norm", rows: 1, cols: 12)
        let raw = random.grid(5, 80, scale: 2)
        var grad = random.grid(5, 80)
        let gt = upload(grad)
        backend.rmsNormBackward(upload(raw), rows: 1..<4, column: 3, width: 12, groups: 4, weight: qNorm, offset: 0, eps: 1e-6,
                                gradient: gt, dyColumn: 3, out: gt, outColumn: 3, accumulate: false)
        let before = grad
        ReferenceBackward.rmsNormBackward(raw, rows: 1..<4, column: 3, width: 12, groups: 4, weight: qValues, offset: 0, eps: 1e-6,
                                          gradient: before, dyColumn: 3, out: &grad, outColumn: 3, accumulate: false)
        expect(gt, grad, "rmsNormBackward", "per head in place")
    }

    /// Width 19 (SIMD blocks and a tail), gates wide enough to saturate both activations.
    func checkGatedActivationBackward() {
        for kind in [MLPActivation.silu, .geluTanh] {
            let gateUp = Grid(rows: 5, cols: 38, floats: (0..<5).flatMap { _ in random.floats(19, scale: 9) + random.floats(19, scale: 2) })
            let dy = random.grid(5, 19)
            var out = random.grid(5, 38)
            let ot = upload(out)
            backend.gatedActivationBackward(upload(gateUp), rows: 1..<4, width: 19, kind: kind, gradient: upload(dy), out: ot)
            ReferenceBackward.gatedActivationBackward(gateUp, rows: 1..<4, width: 19, kind: kind, gradient: dy, out: &out)
            expect(ot, out, "gatedActivationBackward", "\(kind)")
        }
    }

    /// Full and partial rotary, longrope's attention factor, table rows offset from the tensor rows.
    func checkRoPEBackward() {
        let longrope = RoPE.Scaling.longrope(short: random.floats(6).map { 2 + $0 }, long: random.floats(6).map { 5 + 3 * $0 },
                                             originalMaxPositions: 64, attentionFactor: 1.19)
        let positions = [7, 0, 3, 41, 12, 5, 26]
        for (what, partial, scaling) in [("full", Float(1), RoPE.Scaling.none), ("partial 3/4, longrope", 0.75, longrope)] {
            let rope = RoPE(headDim: 16, partialRotaryFactor: partial, base: 10_000, scaling: scaling)
            let tables = backend.ropeTables(rope, positions: positions, sequenceLength: 42)
            let rotary = ReferenceAttention.Rotary(rotaryDim: rope.rotaryDim, base: 10_000, scaling: scaling, sequenceLength: 42)
            var x = random.grid(6, 83, scale: 2)
            let xt = upload(x)
            backend.ropeBackward(xt, rows: 1..<5, column: 2, heads: 3, headDim: 16, tables: tables, tableRow: 2)
            ReferenceAttention.rope(&x, rows: 1..<5, column: 2, heads: 3, headDim: 16, rotary: rotary, positions: positions, tableRow: 2,
                                    inverse: true)
            expect(xt, x, "ropeBackward", what)
        }
    }

    /// The layouts of `checkAttention`: disjoint prompts (one work item per context) and a shared prefix
    /// (contexts sharing slots), GQA, soft-capping, windows, contexts from later positions, decode rows.
    func checkAttentionBackward() {
        var batch = SequenceLayout()
        let first = batch.addContext([KVRun(slot: 0, position: 0, count: 5)]), second = batch.addContext([KVRun(slot: 6, position: 0, count: 4)])
        batch.addRows(count: 5, firstPosition: 0, firstSlot: 0, context: first)
        batch.addRows(count: 4, firstPosition: 0, firstSlot: 6, context: second)
        attentionBackwardCase("batch, GQA 2, softcap, window 3",
                              AttentionSpec(heads: 4, kvHeads: 2, headDim: 12, scale: 0.3, softcap: 1.5, window: 3), batch,
                              queries: Array(0..<9), slots: 11)
        attentionBackwardCase("batch, MHA", AttentionSpec(heads: 2, kvHeads: 2, headDim: 16, scale: 0.25), batch,
                              queries: Array((0..<9).reversed()), slots: 11)

        var packed = SequenceLayout()
        let prefix = KVRun(slot: 0, position: 0, count: 4)
        let shared = packed.addContext([prefix])
        let a = packed.addContext([prefix, KVRun(slot: 4, position: 4, count: 3)])
        let b = packed.addContext([prefix, KVRun(slot: 7, position: 4, count: 5)])
        packed.addRows(count: 4, firstPosition: 0, firstSlot: 0, context: shared)
        packed.addRows(count: 3, firstPosition: 4, firstSlot: 4, context: a)
        packed.addRows(count: 5, firstPosition: 4, firstSlot: 7, context: b)
        attentionBackwardCase("shared prefix, GQA 4, softcap", AttentionSpec(heads: 8, kvHeads: 2, headDim: 12, scale: 0.5, softcap: 2),
                              packed, queries: Array(0..<12), slots: 12)
        attentionBackwardCase("shared prefix, window 2, some rows", AttentionSpec(heads: 4, kvHeads: 2, headDim: 16, scale: 0.25, window: 2),
                              packed, queries: [3, 6, 11, 0], slots: 12)

        var decode = SequenceLayout()
        for (slot, length) in [(0, 6), (8, 3), (12, 9)] {
            let c = decode.addContext([KVRun(slot: slot, position: 0, count: length)])
            decode.addRow(position: length - 1, slot: slot + length - 1, context: c)
        }
        attentionBackwardCase("decode, GQA 4, window 4", AttentionSpec(heads: 4, kvHeads: 1, headDim: 16, scale: 0.25, window: 4),
                              decode, queries: [0, 1, 2], slots: 21)
    }

    /// q heads at column 3 of a wider row; dq into a tensor whose other rows and columns must stay; key
    /// and value gradients added to random prior values at columns 1 and 2 + kvDim of a `slots + 1` row tensor.
    func attentionBackwardCase(_ what: String, _ spec: AttentionSpec, _ layout: SequenceLayout, queries: [Int], slots: Int) {
        precondition(layout.problem(slotCount: slots) == nil, "\(what): the test's own layout is invalid")
        let kvDim = spec.kvHeads * spec.headDim, width = spec.heads * spec.headDim
        let (kv, host) = filledStore(layers: 2, slots: slots, kvDim: kvDim)
        let q = random.grid(layout.rows, 3 + width + 2 * kvDim, scale: 1.5)
        let dOut = random.grid(queries.count, width)
        var dq = random.grid(layout.rows, 2 + width), dkv = random.grid(slots + 1, 3 + 2 * kvDim)
        let dqt = upload(dq), dkvt = upload(dkv)
        backend.attentionBackward(upload(q), column: 3, queries: queries, layout: layout, kv: kv, layer: 1, spec: spec,
                                  outputGradient: upload(dOut), queryGradient: dqt, dqColumn: 2, keyValueGradient: dkvt,
                                  keyColumn: 1, valueColumn: 2 + kvDim)
        ReferenceBackward.attentionBackward(q, column: 3, queries: queries, layout: layout, kv: host, layer: 1, spec: spec,
                                            outputGradient: dOut, queryGradient: &dq, dqColumn: 2, keyValueGradient: &dkv,
                                            keyColumn: 1, valueColumn: 2 + kvDim)
        expect(dqt, dq, "attentionBackward", "\(what): queries")
        expect(dkvt, dkv, "attentionBackward", "\(what): keys and values")
    }
}
