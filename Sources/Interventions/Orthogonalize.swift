import Foundation

/// The projections weight orthogonalization applies, in place, on Float32 values with Double
/// accumulation. `unit` is the direction to remove, of length d_model and unit norm.
public enum Orthogonalize {
    /// `W ← W − s·u uᵀ W` for `W` of `rows = d_model` × `cols` (row-major): every column loses the
    /// fraction `strength` (s) of its component along `u`. With `preserveNorms`, every column is then
    /// rescaled to its original Euclidean norm (a column reduced to zero stays zero).
    public static func columns(_ w: inout [Float], rows: Int, cols: Int, unit u: [Double], preserveNorms: Bool,
                               strength: Double = 1) {
        precondition(w.count == rows * cols && u.count == rows)
        guard !w.isEmpty else { return }
        let u = u.map { $0 * strength.squareRoot() }   // s·u uᵀ = (√s u)(√s u)ᵀ
        var dots = [Double](repeating: 0, count: cols)
        var oldNorm = [Double](repeating: 0, count: preserveNorms ? cols : 0)
        w.withUnsafeMutableBufferPointer { wp in
            dots.withUnsafeMutableBufferPointer { dp in
                for i in 0..<rows {
                    let ui = u[i], row = wp.baseAddress! + i * cols
                    for j in 0..<cols { dp[j] += ui * Double(row[j]) }
                }
                if preserveNorms {
                    oldNorm.withUnsafeMutableBufferPointer { np in
                        for i in 0..<rows {
                            let row = wp.baseAddress! + i * cols
                            for j in 0..<cols { let x = Double(row[j]); np[j] += x * x }
                        }
                    }
                }
                if !preserveNorms {
                    for i in 0..<rows {
                        let ui = u[i], row = wp.baseAddress! + i * cols
                        for j in 0..<cols { row[j] = Float(Double(row[j]) - ui * dp[j]) }
                    }
                    return
                }
                // Norm-preserving: new column = (w − (w·u) u) · ‖w‖ / ‖w − (w·u) u‖, in Double.
                var newNorm = [Double](repeating: 0, count: cols)
                for i in 0..<rows {
                    let ui = u[i], row = wp.baseAddress! + i * cols
                    for j in 0..<cols { let x = Double(row[j]) - ui * dp[j]; newNorm[j] += x * x }
                }
                let factor = (0..<cols).map { j -> Double in
                    let n = newNorm[j].squareRoot()
                    return n > 0 ? oldNorm[j].squareRoot() / n : 1
                }
                for i in 0..<rows {
                    let ui = u[i], row = wp.baseAddress! + i * cols
                    for j in 0..<cols { row[j] = Float((Double(row[j]) - ui * dp[j]) * factor[j]) }
                }
            }
        }
    }

    /// Every row `e` of `rows × d` (row-major) becomes `e − s·(e·u) u` (rescaled to `‖e‖` with `preserveNorms`).
    public static func rows(_ w: inout [Float], rows: Int, d: Int, unit u: [Double], preserveNorms: Bool,
                            strength: Double = 1) {
        precondition(w.count == rows * d && u.count == d)
        let u = u.map { $0 * strength.squareRoot() }   // s·u uᵀ = (√s u)(√s u)ᵀ
        guard !w.isEmpty else { return }
        w.withUnsafeMutableBufferPointer { wp in
            for r in 0..<rows {
                let e = wp.baseAddress! + r * d
                var dot = 0.0, old = 0.0
                for k in 0..<d { let x = Double(e[k]); dot += x * u[k]; old += x * x }
                if !preserveNorms {
                    for k in 0..<d { e[k] = Float(Double(e[k]) - dot * u[k]) }
                    continue
                }
                var new = 0.0
                for k in 0..<d { let x = Double(e[k]) - dot * u[k]; new += x * x }
                let f = new > 0 ? (old / new).squareRoot() : 1
                for k in 0..<d { e[k] = Float((Double(e[k]) - dot * u[k]) * f) }
            }
        }
    }

    /// `normalize((offset + w) ⊙ u)`: the direction to remove before a post-norm of weight `w`.
    public static func throughNorm(_ u: [Double], weight w: [Float], offset: Float) throws -> [Double] {
        let s = zip(u, w).map { $0 * (Double(offset) + Double($1)) }
        let n = s.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard n > 0, n.isFinite else { throw InterventionError.degenerateDirection("(1+w) ⊙ r̂ for a post-norm") }
        return s.map { $0 / n }
    }
}
