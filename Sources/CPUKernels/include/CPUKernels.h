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

/// Matrix-vector products for a few input rows (a decode batch): for every weight row r in [r0, r1) and
/// input row i < m, `y[i·ldy + r] = Σ_k x[i·lda + k] · W[r, k]`, W row-major `rows × cols` of `dtype`.
/// Each weight row is read once for all m inputs (in groups that fit the registers); 16-bit values are
/// widened exactly in registers. An element is a vector of per-lane sums (lane l adds the terms
/// k ≡ l mod lanes in order) summed pairwise, then the tail terms: its value depends on `cols` and the
/// level only, never on r0, r1, m or the other inputs.
void steer_gemv(steer_dtype dtype, const void *w, long cols, long r0, long r1,
                const float *x, long m, long lda, float *y, long ldy);

/// Rows per weight panel: a panel holds 32 weight rows term-major, `panel[k·32 + jj] = W[32·p + jj, k]`.
#define STEER_PANEL 32

/// Widens panels p0..<p1 of W (row-major, rows `ldw` elements apart, `rows` rows, of `dtype`), terms
/// [k0, k0 + kc), into `out` (panel p at `(p − p0)·kc·32`); rows past `rows` become zeros.
void steer_pack_panels(steer_dtype dtype, const void *w, long ldw, long rows, long k0, long kc, long p0, long p1,
                       float *out);

/// Matrix products with a fixed order of arithmetic: for i < m and weight rows j in
/// [32·p0, min(32·p1, n)), `y[i·ldy + j] = Σ_k x[i·lda + k] · W[j, k]` over k < cols ascending, one fused
/// multiply-add per term, W held as panels (`steer_pack_panels` of all `cols` terms, panel p at
/// `p·cols·32`). So an element's value depends on nothing but its rows of x and W: not on m, on which
/// panels a call covers, on the thread, nor on the level (AVX2 and AVX-512 give the same bits; the
/// baseline, without FMA, rounds products separately).
void steer_panel_product(const float *panels, long cols, long n, long p0, long p1, const float *x, long lda, long m,
                         float *y, long ldy);

/// The same product for row-major weights (rows `ldw` elements apart, of `dtype`), packed into panels
/// chunk by chunk in `scratch` (`steer_gemm_scratch_floats(n)` floats, 64-byte aligned): the same bits
/// as `steer_panel_product` over those weights packed.
void steer_gemm(steer_dtype dtype, const void *w, long ldw, long n, long k, const float *x, long lda, long m,
                float *y, long ldy, float *scratch);

/// Scratch floats `steer_gemm` needs for n weight rows.
static inline long steer_gemm_scratch_floats(long n) { return 128 * ((n + STEER_PANEL - 1) / STEER_PANEL * STEER_PANEL); }

/// `out[i] = float(src[i])` for `n` 16-bit values (exact).
void steer_widen(steer_dtype dtype, const void *src, float *out, long n);

/// Attention scores of stacked query rows against keys stored transposed: for r < rows, j < n,
/// `s[r·lds + j] = scale · Σ_c q[r·ldq + c] · kt[c·ldk + j]`, the sum over c < hd in ascending order
/// with one fused multiply-add per term (a plain product and sum where the level has no FMA), so a
/// score is the same whatever other rows and keys share the call.
void steer_attention_scores(const float *q, long ldq, long rows, const float *kt, long ldk, long n, long hd,
                            float scale, float *s, long lds);

/// Weighted values added to outputs: for r < rows, c < hd, `o[r·ldo + c] += Σ_j p[r·ldp + j] · v[j·ldv + c]`,
/// the running sum continuing over j < n in ascending order with one fused multiply-add per key. Calls
/// over consecutive runs of keys give the same result as one call over all of them.
void steer_attention_values(const float *p, long ldp, long rows, const float *v, long ldv, long n, long hd,
                            float *o, long ldo);

/// The wrapping sum of the little-endian 64-bit words in `bytes` bytes at `p` (any alignment), the
/// last `bytes mod 8` bytes added one by one: every byte read once, front to back, with integer adds
/// only (for measuring memory bandwidth over memory of any content, weights included).
uint64_t steer_stream_read(const void *p, long bytes);

/// Runs `iterations` rounds of 12 independent vector fused multiply-adds (one per chain, as wide as
/// the kernel level's vectors) and returns a sum of the chains: 24·lanes·iterations FLOPs on the
/// calling thread with no memory traffic (for measuring the cores' arithmetic peak).
float steer_fma_peak(long iterations);

/// A team of persistent worker threads for parallel loops (Pool.c): workers wait for the next loop by
/// spinning with the pause hint up to `spin` times, then sleep; no sched_yield.
typedef struct steer_pool steer_pool;
/// One item of a loop.
typedef void (*steer_pool_task)(void *context, long item);
/// A team of `workers` threads besides the caller (NULL when none could be made).
steer_pool *steer_pool_create(int workers, long spin);
/// How many worker threads the team has.
int steer_pool_workers(const steer_pool *pool);
/// Runs `task(context, i)` for i < count on the caller and up to `participants` workers, items handed out
/// one at a time; returns when every item is done. One caller at a time.
void steer_pool_run(steer_pool *pool, long count, int participants, steer_pool_task task, void *context);
/// Stops and joins the workers and frees the team.
void steer_pool_destroy(steer_pool *pool);

#ifdef __cplusplus
}
#endif

#endif
