// Steer's CPU kernels that need instructions beyond the baseline x86-64 target (AVX2, FMA, F16C,
// AVX-512): matrix-vector products over Float32 or 16-bit weights converted in registers, row
// widening, and a streaming read for measuring memory bandwidth. Each is compiled for several
// instruction sets and picked at run time (`steer_kernel_level`), so one binary runs everywhere.
#ifndef STEER_CPU_KERNELS_H
#define STEER_CPU_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Storage of a weight matrix.
typedef enum {
    STEER_F32 = 0,
    STEER_BF16 = 1,
    STEER_F16 = 2,
} steer_dtype;

/// Instruction sets of the kernels, lowest first.
typedef enum {
    STEER_LEVEL_BASELINE = 0,  // SSE2 (any x86-64) or the compiler's default target elsewhere
    STEER_LEVEL_AVX2 = 1,      // AVX2 + FMA + F16C, 8 lanes
    STEER_LEVEL_AVX512 = 2,    // AVX-512 F/BW/VL + FMA + F16C, 16 lanes
} steer_level;

/// The best level this CPU (and its operating system) supports.
steer_level steer_kernel_level_supported(void);
/// The level the kernels run at: the supported one unless lowered by `steer_set_kernel_level` or the
/// environment variable STEER_KERNELS (baseline, avx2, avx512).
steer_level steer_kernel_level(void);
/// Runs the kernels at `level` when the CPU supports it (for tests and benchmarks); returns the level now in use.
steer_level steer_set_kernel_level(steer_level level);
/// A name for messages: "avx512", "avx2" or "baseline".
const char *steer_kernel_level_name(steer_level level);

/// Matrix-vector products for a few input rows: for every weight row r in [r0, r1) and input row
/// i < m (m ≤ 4), `y[i·ldy + r] = Σ_k x[i·lda + k] · W[r, k]`, W row-major `rows × cols` of `dtype`.
/// Each weight row is read once for all m inputs; 16-bit values are widened exactly in registers.
/// An element's arithmetic depends on `cols`, the level and m (1–2 or 3–4 rows), never on r0 or r1:
/// splitting the rows into blocks over threads does not change a value.
void steer_gemv(steer_dtype dtype, const void *w, long cols, long r0, long r1,
                const float *x, long m, long lda, float *y, long ldy);

/// `out[i] = float(src[i])` for `n` 16-bit values (exact).
void steer_widen(steer_dtype dtype, const void *src, float *out, long n);

/// Σ of `n` floats read once, front to back (for measuring memory bandwidth).
float steer_stream_sum(const float *x, long n);

#ifdef __cplusplus
}
#endif

#endif
