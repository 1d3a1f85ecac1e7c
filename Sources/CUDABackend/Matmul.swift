import CCUDA
import Foundation

/// Column-major products `C = op(A)·B (+ C)` through cuBLASLt, Float32 accumulate and output. Steer's
/// row-major tensors are read as their column-major transposes, so row-major `Y = X·Wᵀ` is
/// `Yᵀ = W·Xᵀ` here with `A` = the weight's storage read transposed (`transA`), and a slice of columns
/// of a wider tensor is just a pointer and a leading dimension. The algorithm chosen by cuBLASLt's
/// heuristic is kept per shape, dtype and pointer alignment.
final class Matmul: @unchecked Sendable {
    /// One product: C (m × n, ldc, Float32) = op(A) (m × k) · B (k × n) + beta·C.
    struct Problem: Hashable {
        var transA: Bool
        var m: Int, n: Int, k: Int
        var lda: Int, ldb: Int, ldc: Int
        /// cudaDataType of A and B (CUDA_R_32F, _16BF, _16F).
        var type: Int32
        var compute: Int32
        var alignA: UInt32, alignB: UInt32, alignC: UInt32
        var accumulate: Bool
    }

    private let device: CUDADevice
    private let handle: cublasLtHandle_t
    private let workspace: DeviceBuffer
    private static let workspaceBytes = 32 << 20
    private var algorithms: [Problem: cublasLtMatmulAlgo_t] = [:]
    private let lock = NSLock()

    init(device: CUDADevice) throws {
        self.device = device
        var h: cublasLtHandle_t?
        try CUDAError.checkBLAS(steer_cublasLtCreate(&h), "cublasLtCreate")
        guard let h else { throw CUDAError.cublas(call: "cublasLtCreate", status: -1) }
        handle = h
        workspace = try DeviceBuffer(device, bytes: Self.workspaceBytes, for: "the cuBLASLt workspace")
    }

    /// Largest power of two (≤ 256) dividing the address: the alignment cuBLASLt may assume.
    static func alignment(_ p: CUdeviceptr) -> UInt32 {
        p == 0 ? 256 : UInt32(min(256, p & (~p &+ 1)))
    }

    func run(transA: Bool, m: Int, n: Int, k: Int, a: CUdeviceptr, lda: Int, b: CUdeviceptr, ldb: Int,
             c: CUdeviceptr, ldc: Int, type: Int32, compute: Int32, accumulate: Bool) throws {
        guard m > 0, n > 0 else { return }
        let problem = Problem(transA: transA, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, type: type, compute: compute,
                              alignA: Self.alignment(a), alignB: Self.alignment(b), alignC: Self.alignment(c),
                              accumulate: accumulate)
        var desc: cublasLtMatmulDesc_t?
        try CUDAError.checkBLAS(steer_cublasLtMatmulDescCreate(&desc, compute, Int32(STEER_CUDA_R_32F)), "cublasLtMatmulDescCreate")
        defer { _ = steer_cublasLtMatmulDescDestroy(desc) }
        var opA = Int32(transA ? STEER_CUBLAS_OP_T : STEER_CUBLAS_OP_N), opB = Int32(STEER_CUBLAS_OP_N)
        try CUDAError.checkBLAS(steer_cublasLtMatmulDescSetAttribute(desc, Int32(STEER_CUBLASLT_MATMUL_DESC_TRANSA), &opA, 4), "TRANSA")
        try CUDAError.checkBLAS(steer_cublasLtMatmulDescSetAttribute(desc, Int32(STEER_CUBLASLT_MATMUL_DESC_TRANSB), &opB, 4), "TRANSB")
        let aLayout = try layout(type, rows: transA ? k : m, cols: transA ? m : k, ld: lda)
        defer { _ = steer_cublasLtMatrixLayoutDestroy(aLayout) }
        let bLayout = try layout(type, rows: k, cols: n, ld: ldb)
        defer { _ = steer_cublasLtMatrixLayoutDestroy(bLayout) }
        let cLayout = try layout(Int32(STEER_CUDA_R_32F), rows: m, cols: n, ld: ldc)
        defer { _ = steer_cublasLtMatrixLayoutDestroy(cLayout) }
        var algorithm = try algo(problem, desc, aLayout, bLayout, cLayout)
        var alpha: Float = 1, beta: Float = accumulate ? 1 : 0
        try CUDAError.checkBLAS(
            steer_cublasLtMatmul(handle, desc, &alpha, UnsafeRawPointer(bitPattern: UInt(a)), aLayout,
                                 UnsafeRawPointer(bitPattern: UInt(b)), bLayout, &beta, UnsafeRawPointer(bitPattern: UInt(c)), cLayout,
                                 UnsafeMutableRawPointer(bitPattern: UInt(c)), cLayout, &algorithm,
                                 UnsafeMutableRawPointer(bitPattern: UInt(workspace.pointer)), Self.workspaceBytes, device.stream),
            "cublasLtMatmul(\(m) × \(n) × \(k))")
    }

    private func layout(_ type: Int32, rows: Int, cols: Int, ld: Int) throws -> cublasLtMatrixLayout_t? {
        var l: cublasLtMatrixLayout_t?
        try CUDAError.checkBLAS(steer_cublasLtMatrixLayoutCreate(&l, type, UInt64(rows), UInt64(cols), Int64(ld)),
                                "cublasLtMatrixLayoutCreate(\(rows) × \(cols), ld \(ld))")
        return l
    }

    /// The heuristic's first algorithm for `problem`, cached.
    private func algo(_ problem: Problem, _ desc: cublasLtMatmulDesc_t?, _ a: cublasLtMatrixLayout_t?,
                      _ b: cublasLtMatrixLayout_t?, _ c: cublasLtMatrixLayout_t?) throws -> cublasLtMatmulAlgo_t {
        lock.lock(); defer { lock.unlock() }
        if let known = algorithms[problem] { return known }
        var preference: cublasLtMatmulPreference_t?
        try CUDAError.checkBLAS(steer_cublasLtMatmulPreferenceCreate(&preference), "cublasLtMatmulPreferenceCreate")
        defer { _ = steer_cublasLtMatmulPreferenceDestroy(preference) }
        var bytes = UInt64(Self.workspaceBytes)
        try CUDAError.checkBLAS(steer_cublasLtMatmulPreferenceSetAttribute(
            preference, Int32(STEER_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES), &bytes, 8), "MAX_WORKSPACE_BYTES")
        for (attribute, value) in [(STEER_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, problem.alignA),
                                   (STEER_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, problem.alignB),
                                   (STEER_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, problem.alignC),
                                   (STEER_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, problem.alignC)] {
            var v = value
            try CUDAError.checkBLAS(steer_cublasLtMatmulPreferenceSetAttribute(preference, Int32(attribute), &v, 4), "MIN_ALIGNMENT")
        }
        var result = cublasLtMatmulHeuristicResult_t()
        var found: Int32 = 0
        try CUDAError.checkBLAS(steer_cublasLtMatmulAlgoGetHeuristic(handle, desc, a, b, c, c, preference, 1, &result, &found),
                                "cublasLtMatmulAlgoGetHeuristic(\(problem))")
        guard found > 0 else { throw CUDAError.cublas(call: "no algorithm for \(problem)", status: 15) }
        algorithms[problem] = result.algo
        return result.algo
    }
}
