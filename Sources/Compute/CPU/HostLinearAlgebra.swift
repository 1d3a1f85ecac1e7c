#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import Foundation

/// Float64 dense linear algebra on host arrays, for estimators fitted once on the host (LEACE): a centred
/// Gram matrix (`dsyrk`), symmetric matrix–vector products (`dsymv`) and the symmetric eigendecomposition
/// (LAPACK `dsyevd`, which Debian's OpenBLAS ships). Matrices are row-major; the symmetric ones are stored
/// in full.
public enum HostLinearAlgebra {
    /// `Σᵢ (xᵢ − mean)(xᵢ − mean)ᵀ` over the `rows` rows of `x` (`rows × cols` Float32, row-major), in
    /// Float64: the rows are widened (exactly) and centred, then one `dsyrk`. `cols × cols`, symmetric.
    public static func centredGram(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, mean: [Double]) -> [Double] {
        let n = rows, d = cols
        var out = [Double](repeating: 0, count: d * d)
        guard n > 0, d > 0, x.count >= n * d, mean.count == d else { return out }
        var centred = [Double](repeating: 0, count: n * d)
        for i in 0..<n { for j in 0..<d { centred[i * d + j] = Double(x[i * d + j]) - mean[j] } }
        centred.withUnsafeBufferPointer { a in
            out.withUnsafeMutableBufferPointer { c in
                guard let ap = a.baseAddress, let cp = c.baseAddress else { return }
                #if canImport(Accelerate)
                cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, Int32(d), Int32(n), 1, ap, Int32(d), 0, cp, Int32(d))
                #else
                cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, blasint(d), blasint(n), 1, ap, blasint(d), 0, cp, blasint(d))
                #endif
            }
        }
        // dsyrk fills one triangle; mirror it.
        for i in 0..<d { for j in (i + 1)..<max(i + 1, d) { out[i * d + j] = out[j * d + i] } }
        return out
    }

    /// `a · v` for a symmetric `n × n` matrix `a` (full storage).
    public static func symmetricProduct(_ a: [Double], _ v: [Double], n: Int) -> [Double] {
        var y = [Double](repeating: 0, count: n)
        guard n > 0, a.count >= n * n, v.count >= n else { return y }
        a.withUnsafeBufferPointer { ap in
            v.withUnsafeBufferPointer { vp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let a = ap.baseAddress, let v = vp.baseAddress, let y = yp.baseAddress else { return }
                    #if canImport(Accelerate)
                    cblas_dsymv(CblasRowMajor, CblasLower, Int32(n), 1, a, Int32(n), v, 1, 0, y, 1)
                    #else
                    cblas_dsymv(CblasRowMajor, CblasLower, blasint(n), 1, a, blasint(n), v, 1, 0, y, 1)
                    #endif
                }
            }
        }
        return y
    }

    /// Eigenvalues of the symmetric `n × n` matrix `a`, ascending, and its orthonormal eigenvectors
    /// (row i of `vectors` belongs to `values[i]`), by LAPACK's divide-and-conquer `dsyevd` — the routine
    /// behind `torch.linalg.eigh` on the CPU. Only the lower triangle of `a` is read.
    /// - Throws: `ComputeError.numerical` when LAPACK reports a failure.
    public static func symmetricEigen(_ a: [Double], n: Int) throws -> (values: [Double], vectors: [Double]) {
        guard n > 0 else { return ([], []) }
        guard a.count == n * n else { throw ComputeError.numerical("symmetricEigen: \(a.count) values for a \(n) × \(n) matrix") }
        guard a.allSatisfy(\.isFinite) else { throw ComputeError.numerical("symmetricEigen: the \(n) × \(n) matrix has NaN or infinite entries") }
        // Column-major LAPACK on the row-major buffer sees the transpose, which for a symmetric matrix is
        // itself; the eigenvectors come back as columns, i.e. as rows of the row-major buffer.
        var m = a, w = [Double](repeating: 0, count: n)
        var size = Int32(n), info: Int32 = 0
        // Workspace query, then the decomposition.
        var workSize = 0.0, iworkSize: Int32 = 0, queryWork: Int32 = -1, queryIWork: Int32 = -1
        call(&size, &m, &w, &workSize, &queryWork, &iworkSize, &queryIWork, &info)
        guard info == 0 else { throw ComputeError.numerical("dsyevd workspace query failed (info \(info)) for n = \(n)") }
        var lwork = Int32(max(1, Int(workSize.rounded(.up)))), liwork = max(1, iworkSize)
        var work = [Double](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        call(&size, &m, &w, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else {
            throw ComputeError.numerical("dsyevd failed (info \(info)) on a \(n) × \(n) matrix: \(info > 0 ? "the eigenvalues did not converge" : "bad argument \(-info)")")
        }
        return (w, m)
    }

    /// One `dsyevd_` call ("V": eigenvectors too, "L": lower triangle); `work`/`iwork` of length −1 ask for sizes.
    private static func call(_ n: inout Int32, _ a: inout [Double], _ w: inout [Double], _ work: UnsafeMutablePointer<Double>,
                             _ lwork: inout Int32, _ iwork: UnsafeMutablePointer<Int32>, _ liwork: inout Int32, _ info: inout Int32) {
        var lda = n
        #if canImport(Accelerate)
        var jobz = CChar(UInt8(ascii: "V")), uplo = CChar(UInt8(ascii: "L"))
        var n32 = __CLPK_integer(n), lda32 = __CLPK_integer(lda), lwork32 = __CLPK_integer(lwork)
        var liwork32 = __CLPK_integer(liwork), info32 = __CLPK_integer(0)
        _ = dsyevd_(&jobz, &uplo, &n32, &a, &lda32, &w, work, &lwork32, iwork, &liwork32, &info32)
        info = Int32(info32)
        #else
        dsyevd_("V", "L", &n, &a, &lda, &w, work, &lwork, iwork, &liwork, &info, 1, 1)
        #endif
    }
}
