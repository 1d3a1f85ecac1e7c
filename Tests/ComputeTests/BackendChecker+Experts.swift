import Compute
import Foundation

/// Checks of what the mixture-of-experts families add: routed experts, attention sinks, YaRN tables.
extension BackendChecker {
    /// Routed experts: both routings (renormalised or not, softmax over the top k), separate and fused
    /// `[gate | up]` parts, biases, SiLU and the clamped SwiGLU (gates large enough to clamp), one row
    /// (decode) and more rows per expert than one work block holds; rows outside the range untouched.
    func checkExperts() throws {
        // Own inputs, whatever the checks before consumed (`includesLargeCases`), so routing margins are known.
        random = SeededRandom(seed: 0xE4_9E27_2026)
        let kind = MLPActivation.clampedSwiGLU(alpha: 1.702, limit: 7)
        let gateUp = Grid(rows: 5, cols: 38, floats: (0..<5).flatMap { _ in random.floats(19, scale: 9) + random.floats(19, scale: 9) })
        var act = random.grid(5, 21)
        let at = upload(act)
        backend.gatedActivation(upload(gateUp), rows: 1..<4, width: 19, kind: kind, out: at)
        ReferenceOps.gatedActivation(gateUp, rows: 1..<4, width: 19, kind: kind, out: &act)
        expect(at, act, "gatedActivation", "\(kind)")

        let d = 24, f = 10
        let cases: [(String, ExpertsSpec, biases: Bool, fused: Bool, rows: Range<Int>)] = [
            ("softmax top 2, renormalised, SiLU", ExpertsSpec(experts: 6, active: 2, width: f, activation: .silu,
                                                            routing: .softmaxTopK(normalize: true)), false, false, 1..<12),
            ("softmax top 3, not renormalised", ExpertsSpec(experts: 5, active: 3, width: f, activation: .silu,
                                                           routing: .softmaxTopK(normalize: false)), false, true, 2..<9),
            ("top 2 then softmax, biases, clamped SwiGLU, 150 rows", ExpertsSpec(experts: 4, active: 2, width: f,
                activation: .clampedSwiGLU(alpha: 1.702, limit: 1.5), routing: .topKSoftmax), true, true, 1..<151),
            ("one row, every expert active", ExpertsSpec(experts: 3, active: 3, width: f, activation: .silu,
                                                        routing: .softmaxTopK(normalize: true)), true, false, 4..<5),
        ]
        for (what, spec, biases, fused, rows) in cases {
            let e = spec.experts
            let (router, routerValues) = try weight("router", rows: e, cols: d, scale: 0.5)
            let routerBias = biases ? try weight("router bias", rows: 1, cols: e) : nil
            var gateUp: [[Weight]] = [], gateUpValues: [Grid] = [], down: [Weight] = [], downValues: [Grid] = []
            for x in 0..<e {
                if fused {
                    let (w, v) = try weight("gate_up \(x)", rows: 2 * f, cols: d, scale: 0.6)
                    gateUp.append([w]); gateUpValues.append(v)
                } else {
                    let (g, gv) = try weight("gate \(x)", rows: f, cols: d, scale: 0.6)
                    let (u, uv) = try weight("up \(x)", rows: f, cols: d, dtype: .bf16, keepHalf: true, scale: 0.6)
                    gateUp.append([g, u])
                    gateUpValues.append(Grid(rows: 2 * f, cols: d, floats: (gv.values + uv.values).map { Float($0) }))
                }
                let (w, v) = try weight("down \(x)", rows: d, cols: f)
                down.append(w); downValues.append(v)
            }
            let gateUpBias = biases ? try weight("gate_up bias", rows: e, cols: 2 * f) : nil
            let downBias = biases ? try weight("down bias", rows: e, cols: d) : nil
            let weights = ExpertWeights(router: router, routerBias: routerBias?.weight, gateUp: gateUp, gateUpBias: gateUpBias?.weight,
                                        down: down, downBias: downBias?.weight)
            let host = ReferenceExperts.Weights(router: routerValues, routerBias: routerBias?.values, gateUp: gateUpValues,
                                                gateUpBias: gateUpBias?.values, down: downValues, downBias: downBias?.values)
            let x = random.grid(rows.upperBound + 1, d, scale: 2)
            var out = random.grid(rows.upperBound + 1, d)
            let ot = upload(out)
            backend.experts(upload(x), rows: rows, weights: weights, spec: spec, out: ot)
            let ties = ReferenceExperts.experts(x, rows: rows, weights: host, spec: spec, out: &out)
            require(ties.isEmpty, "experts \(what): the test's rows \(ties) route near a tie (change the seed)")
            expect(ot, out, "experts", what)
        }
    }

    /// Attention with a sink logit per query head: sinks far below, near and far above the scores (the
    /// last leaves almost no weight to the values), GQA, a window, decode rows.
    func checkSinks() {
        var packed = SequenceLayout()
        let c1 = packed.addContext([KVRun(slot: 0, position: 0, count: 7)]), c2 = packed.addContext([KVRun(slot: 7, position: 0, count: 5)])
        packed.addRows(count: 7, firstPosition: 0, firstSlot: 0, context: c1)
        packed.addRows(count: 5, firstPosition: 0, firstSlot: 7, context: c2)
        let sinks: [Float] = [-30, 0.25, 2, 12]
        for window in [nil, 3] {
            attentionCase("sinks, GQA 2, window \(window.map(String.init) ?? "none")",
                          AttentionSpec(heads: 4, kvHeads: 2, headDim: 16, scale: 0.25, window: window, sinks: sinks), packed,
                          queries: Array(0..<12), slots: 12)
        }
        var decode = SequenceLayout()
        for (slot, length) in [(0, 6), (8, 3)] {
            let c = decode.addContext([KVRun(slot: slot, position: 0, count: length)])
            decode.addRow(position: length - 1, slot: slot + length - 1, context: c)
        }
        attentionCase("sinks, decode, GQA 4", AttentionSpec(heads: 4, kvHeads: 1, headDim: 12, scale: 0.3, sinks: sinks.reversed()),
                      decode, queries: [1, 0], slots: 11)
    }

    /// YaRN tables (truncated and not, gpt-oss's and Qwen's settings) against the exact frequencies.
    func checkYaRN() {
        let cases: [(String, base: Float, RoPE.Scaling)] = [
            ("yarn ×32, not truncated", 150_000, .yarn(factor: 32, originalMaxPositions: 4096, betaFast: 32, betaSlow: 1, truncate: false,
                                                      attentionFactor: Float(0.1 * log(32.0) + 1))),
            ("yarn ×4, truncated", 10_000, .yarn(factor: 4, originalMaxPositions: 64, betaFast: 32, betaSlow: 1, truncate: true,
                                                attentionFactor: Float(0.1 * log(4.0) + 1))),
        ]
        let headDim = 16, positions = [7, 0, 3, 41, 12, 5, 26]
        for (what, base, scaling) in cases {
            let rope = RoPE(headDim: headDim, base: base, scaling: scaling)
            let tables = backend.ropeTables(rope, positions: positions, sequenceLength: 42)
            let rotary = ReferenceAttention.Rotary(rotaryDim: rope.rotaryDim, base: Double(base), scaling: scaling, sequenceLength: 42)
            var x = random.grid(6, 83, scale: 2)
            let xt = upload(x)
            backend.rope(xt, rows: 1..<5, column: 2, heads: 3, headDim: headDim, tables: tables, tableRow: 2)
            ReferenceAttention.rope(&x, rows: 1..<5, column: 2, heads: 3, headDim: headDim, rotary: rotary, positions: positions, tableRow: 2)
            expect(xt, x, "rope", what)
        }
    }
}
