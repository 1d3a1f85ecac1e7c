#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import Foundation

/// The one place matrix products leave Swift: `cblas_sgemm` from OpenBLAS (Linux) or Accelerate (macOS).
enum BLAS {
    /// `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`, row-major.
    static func sgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        _ = pinToOneThread
        #if canImport(Accelerate)
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        #else
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
        #endif
    }

    /// Makes OpenBLAS run every call on the calling thread (once, before the first product): the
    /// backend's pool splits products itself, and OpenBLAS's own workers would spin in `sched_yield`
    /// between calls. Accelerate manages its own threads.
    static let pinToOneThread: Void = {
        #if !canImport(Accelerate)
        openblas_set_num_threads(1)
        #endif
    }()

    /// The kernel set OpenBLAS picked for this CPU (`Haswell`, `SkylakeX`, …), or nil (Accelerate).
    static var coreName: String? {
        #if canImport(Accelerate)
        return nil
        #else
        return openblas_get_corename().map { String(cString: $0) }
        #endif
    }
}
