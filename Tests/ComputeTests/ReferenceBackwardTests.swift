import Compute
import Foundation
import XCTest

/// The Float64 backward references are the derivatives of the forward references: for a random cotangent
/// w and direction v, `⟨backward(w), v⟩` equals the central difference `(⟨w, f(x+hv)⟩ − ⟨w, f(x−hv)⟩)/2h`.
///
/// Tolerance, from the arithmetic: a central difference is `f' + c·h² + O(h⁴)`, so `D(2h) − D(h) ≈ 3c·h²`
/// bounds its truncation error at h (with room for the h⁴ term); Float64 rounding of the two evaluations
/// adds ≤ 2·2⁻⁵²·Σ|w·f|/h (each output within a few ulp). A wrong derivative is off by O(1), far beyond both.
final class ReferenceBackwardTests: XCTestCase {
    var random = SeededRandom(seed: 0xD1FF)
    let h = 1e-4

    /// `⟨w, f(x + t·v)⟩` for the perturbed inputs.
    func difference(_ value: (Double) -> (sum: Double, size: Double)) -> (estimate: Double, tolerance: Double) {
        func central(_ step: Double) -> Double { (value(step).sum - value(-step).sum) / (2 * step) }
        let d1 = central(h), d2 = central(2 * h)
        return (d1, abs(d2 - d1) + 4 * 0x1p-52 * value(0).size / h)
    }

    /// `⟨w, g⟩` and `Σ|w·g|` over the given columns of rows.
    func pair(_ w: Grid, _ g: Grid, rows: Range<Int>, columns: Range<Int>) -> (sum: Double, size: Double) {
        var s = 0.0, m = 0.0
        for r in rows { for c in columns { s += w[r, c] * g[r, c]; m += abs(w[r, c] * g[r, c]) } }
        return (s, m)
    }

    func perturbed(_ x: Grid, _ v: Grid, _ t: Double) -> Grid {
        var y = x
        for k in y.values.indices { y.values[k] += t * v.values[k] }
        return y
    }

    func check(_ what: String, analytic: Double, _ value: (Double) -> (sum: Double, size: Double)) {
        let (estimate, tolerance) = difference(value)
        XCTAssertLessThanOrEqual(abs(analytic - estimate), tolerance, "\(what): analytic \(analytic), finite difference \(estimate)")
        XCTAssertGreaterThan(abs(estimate), 10 * tolerance, "\(what): the directional derivative is too small to check anything")
    }

    func testRMSNormAndLinear() {
        let x = random.grid(3, 24, scale: 2), v = random.grid(3, 24), w = random.grid(3, 24)
        let weight = random.grid(1, 8)
        for offset in [Float(0), 1] {
            var dx = Grid(rows: 3, cols: 24, floats: [Float](repeating: 0, count: 72))
            ReferenceBackward.rmsNormBackward(x, rows: 0..<3, column: 0, width: 8, groups: 3, weight: weight, offset: offset, eps: 0.1,
                                              gradient: w, dyColumn: 0, out: &dx, outColumn: 0, accumulate: false)
            check("rmsNorm offset \(offset)", analytic: pair(dx, v, rows: 0..<3, columns: 0..<24).sum) { t in
                var out = w
                ReferenceOps.rmsNorm(perturbed(x, v, t), rows: 0..<3, column: 0, width: 8, groups: 3, weight: weight, offset: offset,
                                     eps: 0.1, out: &out, outColumn: 0)
                return pair(w, out, rows: 0..<3, columns: 0..<24)
            }
        }
        let matrix = random.grid(5, 24), dy = random.grid(3, 5)
        var dx = Grid(rows: 3, cols: 24, floats: [Float](repeating: 0, count: 72))
        ReferenceBackward.linearInputGradient(dy, rows: 0..<3, dyColumn: 0, weight: matrix, out: &dx, column: 0, accumulate: false)
        check("linear", analytic: pair(dx, v, rows: 0..<3, columns: 0..<24).sum) { t in
            var out = dy
            ReferenceOps.linear(perturbed(x, v, t), rows: 0..<3, xColumn: 0, weight: matrix, bias: nil, out: &out, column: 0)
            return pair(dy, out, rows: 0..<3, columns: 0..<5)
        }
    }

    func testGatedActivationAndRoPE() {
        for kind in [MLPActivation.silu, .geluTanh] {
            let x = random.grid(2, 20, scale: 3), v = random.grid(2, 20), w = random.grid(2, 10)
            var dx = random.grid(2, 20)
            ReferenceBackward.gatedActivationBackward(x, rows: 0..<2, width: 10, kind: kind, gradient: w, out: &dx)
            check("\(kind)", analytic: pair(dx, v, rows: 0..<2, columns: 0..<20).sum) { t in
                var out = w
                ReferenceOps.gatedActivation(perturbed(x, v, t), rows: 0..<2, width: 10, kind: kind, out: &out)
                return pair(w, out, rows: 0..<2, columns: 0..<10)
            }
        }
        let rotary = ReferenceAttention.Rotary(rotaryDim: 12, base: 10_000, scaling: .none, sequenceLength: 20)
        let x = random.grid(3, 32), v = random.grid(3, 32), w = random.grid(3, 32)
        var dx = w
        ReferenceAttention.rope(&dx, rows: 0..<3, column: 0, heads: 2, headDim: 16, rotary: rotary, positions: [3, 17, 9],
                                tableRow: 0, inverse: true)
        check("rope", analytic: pair(dx, v, rows: 0..<3, columns: 0..<32).sum) { t in
            var out = perturbed(x, v, t)
            ReferenceAttention.rope(&out, rows: 0..<3, column: 0, heads: 2, headDim: 16, rotary: rotary, positions: [3, 17, 9], tableRow: 0)
            return pair(w, out, rows: 0..<3, columns: 0..<32)
        }
    }

    /// Queries, keys and values perturbed one at a time, on a batch of two prompts with GQA, a window and soft-capping.
    func testAttention() {
        var layout = SequenceLayout()
        let a = layout.addContext([KVRun(slot: 0, position: 0, count: 5)]), b = layout.addContext([KVRun(slot: 5, position: 0, count: 3)])
        layout.addRows(count: 5, firstPosition: 0, firstSlot: 0, context: a)
        layout.addRows(count: 3, firstPosition: 0, firstSlot: 5, context: b)
        for spec in [AttentionSpec(heads: 4, kvHeads: 2, headDim: 8, scale: 0.35, softcap: 1.2, window: 3),
                     AttentionSpec(heads: 2, kvHeads: 1, headDim: 8, scale: 0.5)] {
            let kvDim = spec.kvHeads * spec.headDim, width = spec.heads * spec.headDim, queries = Array(0..<8)
            let q = random.grid(8, width, scale: 1.5), dOut = random.grid(8, width)
            var kv = HostKV(layers: 1, slots: 8, kvDim: kvDim)
            kv.keys[0] = random.grid(8, kvDim, scale: 1.5)
            kv.values[0] = random.grid(8, kvDim)
            var dq = random.grid(8, width), dkv = Grid(rows: 8, cols: 2 * kvDim, floats: [Float](repeating: 0, count: 16 * kvDim))
            ReferenceBackward.attentionBackward(q, column: 0, queries: queries, layout: layout, kv: kv, layer: 0, spec: spec,
                                                outputGradient: dOut, queryGradient: &dq, dqColumn: 0, keyValueGradient: &dkv,
                                                keyColumn: 0, valueColumn: kvDim)
            func output(_ q: Grid, _ kv: HostKV) -> (sum: Double, size: Double) {
                var out = dOut
                ReferenceAttention.attention(q, column: 0, queries: queries, layout: layout, kv: kv, layer: 0, spec: spec, out: &out)
                return pair(dOut, out, rows: 0..<8, columns: 0..<width)
            }
            let vq = random.grid(8, width), vk = random.grid(8, kvDim), vv = random.grid(8, kvDim)
            let what = "softcap \(spec.softcap.map { "\($0)" } ?? "none")"
            check("attention queries, \(what)", analytic: pair(dq, vq, rows: 0..<8, columns: 0..<width).sum) { output(perturbed(q, vq, $0), kv) }
            var keys = Grid(rows: 8, cols: 2 * kvDim, floats: [Float](repeating: 0, count: 16 * kvDim)), vals = keys
            for r in 0..<8 { for c in 0..<kvDim { keys.values[r * 2 * kvDim + c] = vk[r, c]; vals.values[r * 2 * kvDim + kvDim + c] = vv[r, c] } }
            check("attention keys, \(what)", analytic: pair(dkv, keys, rows: 0..<8, columns: 0..<(2 * kvDim)).sum) { t in
                var moved = kv
                moved.keys[0] = perturbed(kv.keys[0], vk, t)
                return output(q, moved)
            }
            check("attention values, \(what)", analytic: pair(dkv, vals, rows: 0..<8, columns: 0..<(2 * kvDim)).sum) { t in
                var moved = kv
                moved.values[0] = perturbed(kv.values[0], vv, t)
                return output(q, moved)
            }
        }
    }
}
