import Foundation

/// Rounding-error constants of Float32 arithmetic, from which every tolerance of the operation tests is derived.
///
/// `u = 2⁻²⁴` is the unit roundoff: one correctly rounded operation has relative error ≤ u, and one ulp
/// of a normal float is ≤ 2u times its magnitude. A sum or dot product of n terms, in any order, blocked or
/// not, with or without FMA, differs from the exact value by at most γₙ·Σ|terms| (Higham, *Accuracy and
/// Stability of Numerical Algorithms*, §3.1). Library functions (exp, tanh, cos, sin, pow, rsqrt) are
/// allowed 2 ulp, i.e. ≤ 4u relative, which covers glibc and CUDA's non-intrinsic versions.
/// The Float64 reference itself errs by at most γₙ with u = 2⁻⁵³, 2²⁹ times less: it is taken as exact.
enum Float32Error {
    static let u = 0x1p-24

    /// `γₙ = n·u / (1 − n·u)`.
    static func gamma(_ n: Int) -> Double { Double(n) * u / (1 - Double(n) * u) }
}

/// A host copy of a tensor in Float64 with, per element, the largest deviation a correct Float32
/// backend may show from `values`. A bound of 0 demands the bit-exact Float32 value: inputs and
/// elements an operation must not touch keep 0, so writing outside the intended region fails.
struct Grid: Equatable {
    let rows: Int
    let cols: Int
    var values: [Double]
    var bounds: [Double]

    /// Exact values (bounds 0).
    init(rows: Int, cols: Int, floats: [Float]) {
        precondition(floats.count == rows * cols, "Grid: \(floats.count) values for \(rows) × \(cols)")
        self.rows = rows; self.cols = cols
        values = floats.map(Double.init)
        bounds = [Double](repeating: 0, count: floats.count)
    }

    subscript(r: Int, c: Int) -> Double { values[r * cols + c] }

    /// Row `r` (values only).
    func row(_ r: Int) -> ArraySlice<Double> { values[(r * cols)..<((r + 1) * cols)] }

    /// Sets one element and the error a Float32 implementation may make computing it.
    mutating func set(_ r: Int, _ c: Int, _ value: Double, bound: Double) {
        precondition(r >= 0 && r < rows && c >= 0 && c < cols, "Grid: (\(r), \(c)) outside \(rows) × \(cols)")
        values[r * cols + c] = value
        bounds[r * cols + c] = bound
    }

    /// The values as Float32, for uploading (only grids of exact Float32 values are uploaded).
    var floats: [Float] {
        precondition(bounds.allSatisfy { $0 == 0 }, "Grid: uploading computed values")
        return values.map { Float($0) }
    }
}
