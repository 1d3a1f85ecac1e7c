import Compute
import Foundation

extension BackendChecker {
    /// erase (a LEACE eraser, `x − leftᵀ·(right·(x − bias))`) of rank 1 and 2 on a row range and an unordered
    /// row list, with a bias near the rows' mean so that subtracting it first matters.
    func checkErase() {
        let width = 23
        for (k, rows) in [(1, RowSet.range(1..<5)), (2, .list([5, 0, 3]))] {
            let bias = random.grid(1, width, scale: 8)
            var x = Grid(rows: 6, cols: width, floats: (0..<(6 * width)).map { i in Float(bias[0, i % width]) + random.floats(1, scale: 2)[0] })
            let left = random.grid(k, width), right = random.grid(k, width, scale: 0.5)
            let xt = upload(x)
            backend.erase(xt, rows: rows, left: upload(left), right: upload(right), bias: upload(bias))
            ReferenceOps.erase(&x, rows: rows, left: left, right: right, bias: bias)
            expect(xt, x, "erase", "rank \(k) on \(rows)")
        }
    }
}

extension ReferenceOps {
    /// `x ← x − Σⱼ cⱼ·leftⱼ` with `cⱼ = rightⱼ·(x − bias)`. The centred entries round once (≤ u each), so a
    /// coefficient errs by ≤ γ_{cols+1}·Σ|rightⱼᵢ·(xᵢ − biasᵢ)| =: Eⱼ; element i then takes k products and
    /// subtractions: ≤ Σⱼ |leftⱼᵢ|·Eⱼ·(1 + u) + γ_{2k}·(|xᵢ| + Σⱼ |cⱼ·leftⱼᵢ|).
    static func erase(_ x: inout Grid, rows: RowSet, left: Grid, right: Grid, bias: Grid) {
        let k = right.rows
        for r in rows.indices {
            var c = [Double](repeating: 0, count: k), e = [Double](repeating: 0, count: k)
            for j in 0..<k {
                for i in 0..<x.cols {
                    let term = right[j, i] * (x[r, i] - bias[0, i])
                    c[j] += term; e[j] += abs(term)
                }
                e[j] *= gamma(x.cols + 1)
            }
            for i in 0..<x.cols {
                let removed = (0..<k).reduce(0.0) { $0 + c[$1] * left[$1, i] }
                let propagated = (0..<k).reduce(0.0) { $0 + abs(left[$1, i]) * e[$1] * (1 + u) }
                let rounding = gamma(2 * k) * (abs(x[r, i]) + (0..<k).reduce(0.0) { $0 + abs(c[$1] * left[$1, i]) })
                x.set(r, i, x[r, i] - removed, bound: propagated + rounding)
            }
        }
    }
}
