import Compute
import Foundation

/// Plain Float64 implementations of the row-wise backend operations, written from their definitions
/// and mirroring the `ComputeBackend` signatures with host `Grid`s in place of handles.
///
/// Each writes, per output element, the exact value and the largest error a correct Float32
/// implementation may have (derived in the comments from `Float32Error`). Inputs are exact Float32
/// values, so every bound is the error of the operation alone. Elements an operation does not write
/// keep their value and bound 0.
enum ReferenceOps {
    static let u = Float32Error.u
    static func gamma(_ n: Int) -> Double { Float32Error.gamma(n) }

    /// `x[row + i] = table[tokens[i]] · scale`: a copy (exact), then one rounded product (≤ u relative).
    static func embed(_ tokens: [Int], table: Grid, scale: Float?, into x: inout Grid, row: Int) {
        for (i, t) in tokens.enumerated() {
            for c in 0..<x.cols {
                let v = table[t, c] * Double(scale ?? 1)
                x.set(row + i, c, v, bound: scale == nil ? 0 : u * abs(v))
            }
        }
    }

    /// RMSNorm of `groups` groups of `width` columns from `column`: `x / √(mean(x²) + eps) · (offset + w)`.
    /// The sum of squares (positive terms) errs by ≤ γ_width relative; dividing by the width, adding eps,
    /// the square root and reciprocal (≤ 4u as one rsqrt), the product with x, `offset + w` and the last
    /// product add ≤ 9 more u, all relative: ≤ γ_{width+12}·|result| (the root halves the first part).
    static func rmsNorm(_ x: Grid, rows: Range<Int>, column: Int, width: Int, groups: Int, weight: Grid,
                        offset: Float, eps: Float, out: inout Grid, outColumn: Int) {
        for r in rows {
            for g in 0..<groups {
                let first = column + g * width
                let meanSquare = (0..<width).reduce(0.0) { $0 + x[r, first + $1] * x[r, first + $1] } / Double(width)
                let inverse = 1 / (meanSquare + Double(eps)).squareRoot()
                for i in 0..<width {
                    let v = x[r, first + i] * inverse * (Double(offset) + weight[0, i])
                    out.set(r, outColumn + g * width + i, v, bound: gamma(width + 12) * abs(v))
                }
            }
        }
    }

    /// `out[r, column + o] = Σₖ x[r, xColumn + k]·W[o, k] (+ bias[o])`: a dot product of `cols` terms and
    /// one more addition, ≤ γ_{cols+1}·(Σ|x·w| + |bias|).
    static func linear(_ x: Grid, rows: Range<Int>, xColumn: Int, weight: Grid, bias: Grid?, out: inout Grid, column: Int) {
        for r in rows {
            for o in 0..<weight.rows {
                var sum = 0.0, magnitude = 0.0
                for k in 0..<weight.cols {
                    let p = x[r, xColumn + k] * weight[o, k]
                    sum += p; magnitude += abs(p)
                }
                if let bias { sum += bias[0, o]; magnitude += abs(bias[0, o]) }
                out.set(r, column + o, sum, bound: gamma(weight.cols + 1) * magnitude)
            }
        }
    }

    /// `x[r, column + i] += bias[i]`: one rounded sum (≤ u relative).
    static func addBias(_ bias: Grid, to x: inout Grid, rows: Range<Int>, column: Int) {
        for r in rows {
            for i in 0..<bias.cols {
                let v = x[r, column + i] + bias[0, i]
                x.set(r, column + i, v, bound: u * abs(v))
            }
        }
    }

    /// `out[r, i] = act(g)·up` with `g = x[r, i]`, `up = x[r, width + i]`, written as `g·σ(a)·up`:
    /// SiLU `a = g` (exact argument), GELU-tanh `a = 2y`, `y = √(2/π)(g + 0.044715g³)`.
    /// Computing y rounds the constants and 5 operations on same-sign terms: ≤ 7u relative, so the
    /// argument is off by ≤ 7u·|a|. σ(a) = 1/(1 + e^{−a}) then errs by ≤ 7u·|a| + 4u (exp) + 2u relative,
    /// the tanh form `0.5(1 + tanh y)` by no more in absolute terms; two more products: the result
    /// errs by ≤ (|a| + 1)·8u·|g·up| (σ ≤ 1). For SiLU the |a| term is absent: ≤ 8u·|g·up|.
    static func gatedActivation(_ x: Grid, rows: Range<Int>, width: Int, kind: MLPActivation, out: inout Grid) {
        for r in rows {
            for i in 0..<width {
                var g = x[r, i], up = x[r, width + i]
                // `rounded`: |a| when the argument itself is computed (rounded), 0 when it is the input.
                let argument: Double, rounded: Double
                switch kind {
                case .silu:
                    argument = g; rounded = 0
                case .geluTanh:
                    argument = 2 * (2 / Double.pi).squareRoot() * (g + 0.044715 * g * g * g)
                    rounded = abs(argument)
                case let .clampedSwiGLU(alpha, limit):
                    // g' = min(g, limit), up' = clamp(up) + 1 (one more rounding), argument alpha·g'.
                    g = min(g, Double(limit)); up = min(max(up, -Double(limit)), Double(limit)) + 1
                    argument = Double(alpha) * g; rounded = abs(argument) + 1
                }
                let v = g / (1 + exp(-argument)) * up
                out.set(r, i, v, bound: (rounded + 1) * 8 * u * abs(g * up))
            }
        }
    }

    /// `y[r] += x[r]`: one rounded sum per element.
    static func add(_ x: Grid, into y: inout Grid, rows: Range<Int>) {
        for r in rows {
            for c in 0..<y.cols {
                let v = x[r, c] + y[r, c]
                y.set(r, c, v, bound: u * abs(v))
            }
        }
    }

    /// `cap·tanh(x/cap)`: `1/cap` and `x·(1/cap)` put the argument off by ≤ 2u·|x/cap|; tanh is
    /// 1-Lipschitz, so after `·cap` that is ≤ 2u·|x|; tanh (4u) and the product (u): ≤ 5u·|result|.
    static func softcapBound(input x: Double, result: Double) -> Double { 2 * u * abs(x) + 5 * u * abs(result) }

    static func softcap(_ x: inout Grid, rows: Range<Int>, cap: Float) {
        let c = Double(cap)
        for r in rows {
            for j in 0..<x.cols {
                let v = c * tanh(x[r, j] / c)
                x.set(r, j, v, bound: softcapBound(input: x[r, j], result: v))
            }
        }
    }

    /// `x · factor`: one rounded product.
    static func scale(_ x: inout Grid, rows: Range<Int>, by factor: Float) {
        for r in rows {
            for c in 0..<x.cols {
                let v = x[r, c] * Double(factor)
                x.set(r, c, v, bound: u * abs(v))
            }
        }
    }

    /// Row copies: exact.
    static func gather(_ src: Grid, rows: [Int], into dst: inout Grid, row: Int) {
        for (i, r) in rows.enumerated() {
            for c in 0..<src.cols { dst.set(row + i, c, src[r, c], bound: 0) }
        }
    }

    static func copyRows(_ src: Grid, from: Int, count: Int, into dst: inout Grid, to: Int) {
        gather(src, rows: Array(from..<(from + count)), into: &dst, row: to)
    }

    /// `x ← x − s·(x·u)·u` (u as given, not assumed to be of unit length). The dot product errs by
    /// ≤ γ_cols·Σ|xᵢuᵢ|, its product with s by u more; element i then takes `xᵢ − a·uᵢ` (≤ γ₂ of the two terms):
    /// ≤ |s·uᵢ|·(γ_cols·Σ|x·u| + u·|x·u|) + γ₂·(|xᵢ| + |s·(x·u)·uᵢ|).
    static func projectOut(_ x: inout Grid, rows: RowSet, unit: Grid, strength: Float) {
        let s = Double(strength)
        for r in rows.indices {
            var dot = 0.0, magnitude = 0.0
            for c in 0..<x.cols { dot += x[r, c] * unit[0, c]; magnitude += abs(x[r, c] * unit[0, c]) }
            for c in 0..<x.cols {
                let removed = s * dot * unit[0, c]
                let bound = abs(s * unit[0, c]) * (gamma(x.cols) * magnitude + u * abs(dot)) + gamma(2) * (abs(x[r, c]) + abs(removed))
                x.set(r, c, x[r, c] - removed, bound: bound)
            }
        }
    }

    /// `x ← x + scale·v`: a product and a sum, ≤ γ₂·(|x| + |scale·v|).
    static func addVector(_ vector: Grid, scale: Float, to x: inout Grid, rows: RowSet) {
        for r in rows.indices {
            for c in 0..<x.cols {
                let added = Double(scale) * vector[0, c]
                x.set(r, c, x[r, c] + added, bound: gamma(2) * (abs(x[r, c]) + abs(added)))
            }
        }
    }

    /// `acc[targets[i]] += x[rows[i]]` in Float64: k addends to one sum err by ≤ k·2⁻⁵³·Σ|addends|
    /// (the Float32 inputs widen exactly); doubled for the reference's own sum in another order.
    static func accumulate(_ x: Grid, rows: [Int], into acc: inout Grid, targets: [Int]) {
        var magnitude = acc.values.map(abs), count = [Int](repeating: 0, count: acc.rows)
        for (r, t) in zip(rows, targets) {
            count[t] += 1
            for c in 0..<x.cols {
                acc.values[t * acc.cols + c] += x[r, c]
                magnitude[t * acc.cols + c] += abs(x[r, c])
            }
        }
        for t in 0..<acc.rows where count[t] > 0 {
            for c in 0..<acc.cols {
                let i = t * acc.cols + c
                acc.bounds[i] += 2 * Double(count[t]) * 0x1p-53 * magnitude[i]
            }
        }
    }
}

extension RowSet {
    /// The rows in the order an operation visits them.
    var indices: [Int] {
        switch self { case .range(let r): return Array(r); case .list(let l): return l }
    }
}
