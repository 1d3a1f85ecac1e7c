// Picks the kernels' instruction set once, from CPUID and the registers the OS saves (XCR0).
#include <stdlib.h>
#include <string.h>
#include "CPUKernels.h"

#define DECLARE(sfx)                                                                                    \
    void steer_gemv_##sfx(steer_dtype, const void *, long, long, long, const float *, long, long, float *, long); \
    void steer_widen_##sfx(steer_dtype, const void *, float *, long);                                 \
    uint64_t steer_stream_read_##sfx(const void *, long);                                              \
    float steer_fma_peak_##sfx(long);                                                                  \
    void steer_attention_scores_##sfx(const float *, long, long, const float *, long, long, long, float, float *, long); \
    void steer_attention_values_##sfx(const float *, long, long, const float *, long, long, long, float *, long); \
    void steer_gemm_##sfx(steer_dtype, const void *, long, long, long, const float *, long, long, float *, long, float *); \
    void steer_pack_panels_##sfx(steer_dtype, const void *, long, long, long, long, long, long, float *); \
    void steer_panel_product_##sfx(const float *, long, long, long, long, const float *, long, long, float *, long);
DECLARE(baseline)
#if defined(__x86_64__)
DECLARE(avx2)
DECLARE(avx512)
#include <cpuid.h>

static unsigned long long xcr0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static steer_level detect(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return STEER_LEVEL_BASELINE;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!(fma && osxsave && avx && f16c)) return STEER_LEVEL_BASELINE;
    unsigned long long x = xcr0();
    if ((x & 0x6) != 0x6) return STEER_LEVEL_BASELINE;  // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return STEER_LEVEL_BASELINE;
    int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    if (!avx2) return STEER_LEVEL_BASELINE;
    if (avx512f && avx512bw && avx512vl && (x & 0xe0) == 0xe0) return STEER_LEVEL_AVX512;  // opmask, ZMM state
    return STEER_LEVEL_AVX2;
}
#else
static steer_level detect(void) { return STEER_LEVEL_BASELINE; }
#endif

static int supported = -1;
static int current = -1;

steer_level steer_kernel_level_supported(void) {
    if (supported < 0) supported = detect();
    return (steer_level)supported;
}

steer_level steer_kernel_level(void) {
    if (current < 0) {
        steer_level level = steer_kernel_level_supported();
        const char *env = getenv("STEER_KERNELS");
        if (env) {
            for (int l = STEER_LEVEL_BASELINE; l <= STEER_LEVEL_AVX512; l++) {
                if (strcmp(env, steer_kernel_level_name((steer_level)l)) == 0 && l < (int)level) level = (steer_level)l;
            }
        }
        current = level;
    }
    return (steer_level)current;
}

steer_level steer_set_kernel_level(steer_level level) {
    steer_level top = steer_kernel_level_supported();
    current = level < top ? level : top;
    return (steer_level)current;
}

const char *steer_kernel_level_name(steer_level level) {
    switch (level) {
    case STEER_LEVEL_AVX512: return "avx512";
    case STEER_LEVEL_AVX2: return "avx2";
    default: return "baseline";
    }
}

#if defined(__x86_64__)
#define DISPATCH(call)                                                        \
    switch (steer_kernel_level()) {                                           \
    case STEER_LEVEL_AVX512: call(avx512); break;                             \
    case STEER_LEVEL_AVX2: call(avx2); break;                                 \
    default: call(baseline); break;                                           \
    }
#else
#define DISPATCH(call) call(baseline);
#endif

#define GEMV(sfx) steer_gemv_##sfx(dtype, w, cols, r0, r1, x, m, lda, y, ldy)
void steer_gemv(steer_dtype dtype, const void *w, long cols, long r0, long r1, const float *x, long m, long lda,
                float *y, long ldy) {
    DISPATCH(GEMV)
}

#define WIDEN(sfx) steer_widen_##sfx(dtype, src, out, n)
void steer_widen(steer_dtype dtype, const void *src, float *out, long n) { DISPATCH(WIDEN) }

#define READ(sfx) s = steer_stream_read_##sfx(p, bytes)
uint64_t steer_stream_read(const void *p, long bytes) {
    uint64_t s = 0;
    DISPATCH(READ)
    return s;
}

#define PEAK(sfx) s = steer_fma_peak_##sfx(iterations)
float steer_fma_peak(long iterations) {
    float s = 0;
    DISPATCH(PEAK)
    return s;
}

#define SCORES(sfx) steer_attention_scores_##sfx(q, ldq, rows, kt, ldk, n, hd, scale, s, lds)
void steer_attention_scores(const float *q, long ldq, long rows, const float *kt, long ldk, long n, long hd,
                            float scale, float *s, long lds) {
    DISPATCH(SCORES)
}

#define VALUES(sfx) steer_attention_values_##sfx(p, ldp, rows, v, ldv, n, hd, o, ldo)
void steer_attention_values(const float *p, long ldp, long rows, const float *v, long ldv, long n, long hd,
                            float *o, long ldo) {
    DISPATCH(VALUES)
}

#define GEMM(sfx) steer_gemm_##sfx(dtype, w, ldw, n, k, x, lda, m, y, ldy, scratch)
void steer_gemm(steer_dtype dtype, const void *w, long ldw, long n, long k, const float *x, long lda, long m,
                float *y, long ldy, float *scratch) {
    DISPATCH(GEMM)
}

#define PACK(sfx) steer_pack_panels_##sfx(dtype, w, ldw, rows, k0, kc, p0, p1, out)
void steer_pack_panels(steer_dtype dtype, const void *w, long ldw, long rows, long k0, long kc, long p0, long p1,
                       float *out) {
    DISPATCH(PACK)
}

#define PANELS(sfx) steer_panel_product_##sfx(panels, cols, n, p0, p1, x, lda, m, y, ldy)
void steer_panel_product(const float *panels, long cols, long n, long p0, long p1, const float *x, long lda, long m,
                         float *y, long ldy) {
    DISPATCH(PANELS)
}
