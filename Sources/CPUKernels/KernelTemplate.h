// The kernels' bodies, written once with clang vector extensions and included by one file per
// instruction set. The including file defines LANES (vector width in floats), NAME(x) (a per-level
// name), NATIVE_F16 (1 where F16C converts half floats) and wraps the include in a target pragma.
// Summation orders are fixed by LANES alone, so every thread and every row block computes an
// element the same way.

typedef float NAME(vf) __attribute__((vector_size(LANES * 4)));
typedef float NAME(vfu) __attribute__((vector_size(LANES * 4), aligned(4)));
typedef uint16_t NAME(vh) __attribute__((vector_size(LANES * 2), aligned(2)));
typedef uint32_t NAME(vu) __attribute__((vector_size(LANES * 4)));
#if NATIVE_F16
typedef _Float16 NAME(vhf) __attribute__((vector_size(LANES * 2), aligned(2)));
#endif

#define ALWAYS static inline __attribute__((always_inline))

/// LANES weights from element k on, widened to Float32 exactly.
ALWAYS NAME(vf) NAME(load)(const void *w, long k, int dtype) {
    if (dtype == STEER_F32) return *(const NAME(vfu) *)((const float *)w + k);
    const uint16_t *p = (const uint16_t *)w + k;
    if (dtype == STEER_BF16) return (NAME(vf))(__builtin_convertvector(*(const NAME(vh) *)p, NAME(vu)) << 16);
#if NATIVE_F16
    return __builtin_convertvector(*(const NAME(vhf) *)p, NAME(vf));
#else
    // Half to single with integer operations: sign, then exponent and mantissa moved into place and
    // rebiased by 2^112 (exact for normals and subnormals alike), infinities and NaNs forced to exponent 255.
    NAME(vu) u = __builtin_convertvector(*(const NAME(vh) *)p, NAME(vu));
    NAME(vf) f = (NAME(vf))((u & 0x7fff) << 13) * 0x1p112f;
    NAME(vu) special = (NAME(vu))((u & 0x7c00) == 0x7c00) & 0x7f800000;
    return (NAME(vf))(((NAME(vu))f | special) | ((u & 0x8000) << 16));
#endif
}

/// Lanes summed pairwise (upper half onto lower half, log2(LANES) dependent steps, a fixed order).
ALWAYS float NAME(hsum)(NAME(vf) v) {
    float t[LANES];
    memcpy(t, &v, sizeof t);
    for (int w = LANES / 2; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) t[i] += t[i + w];
    return t[0];
}

/// y[i·ldy + r] = x_i · W_r for M (constant) input rows: C chains of LANES partial sums per input,
/// a weight vector widened once and used for all M rows.
ALWAYS void NAME(gemv_m)(int dtype, const void *w, long cols, long r0, long r1, const float *x, long lda,
                          float *y, long ldy, const int M) {
    enum { C = 4 };
    const int chains = M <= 2 ? 4 : 2;  // registers: M × chains accumulators
    const long size = dtype == STEER_F32 ? 4 : 2;
    for (long r = r0; r < r1; r++) {
        const void *wr = (const char *)w + r * cols * size;
        NAME(vf) acc[4][C];
        for (int i = 0; i < M; i++) for (int c = 0; c < C; c++) acc[i][c] = (NAME(vf)){0};
        long k = 0;
        for (; k + chains * LANES <= cols; k += chains * LANES) {
            for (int c = 0; c < chains; c++) {
                NAME(vf) wv = NAME(load)(wr, k + c * LANES, dtype);
                for (int i = 0; i < M; i++) acc[i][c] += wv * *(const NAME(vfu) *)(x + i * lda + k + c * LANES);
            }
        }
        for (; k + LANES <= cols; k += LANES) {
            NAME(vf) wv = NAME(load)(wr, k, dtype);
            for (int i = 0; i < M; i++) acc[i][0] += wv * *(const NAME(vfu) *)(x + i * lda + k);
        }
        for (int i = 0; i < M; i++) {
            NAME(vf) a = chains == 4 ? (acc[i][0] + acc[i][1]) + (acc[i][2] + acc[i][3]) : acc[i][0] + acc[i][1];
            float s = NAME(hsum)(a);
            for (long j = k; j < cols; j++) s += x[i * lda + j] * steer_scalar(wr, j, dtype);
            y[i * ldy + r] = s;
        }
    }
}

void NAME(steer_gemv)(steer_dtype dtype, const void *w, long cols, long r0, long r1, const float *x, long m,
                      long lda, float *y, long ldy) {
#define CASE(D, M) NAME(gemv_m)(D, w, cols, r0, r1, x, lda, y, ldy, M)
#define ROWS(D) switch (m) { case 1: CASE(D, 1); break; case 2: CASE(D, 2); break; case 3: CASE(D, 3); break; \
                             default: CASE(D, 4); break; }
    switch (dtype) {
    case STEER_F32: ROWS(STEER_F32); break;
    case STEER_BF16: ROWS(STEER_BF16); break;
    case STEER_F16: ROWS(STEER_F16); break;
    }
#undef ROWS
#undef CASE
}

void NAME(steer_widen)(steer_dtype dtype, const void *src, float *out, long n) {
    long k = 0;
#define WIDEN(D) for (; k + LANES <= n; k += LANES) *(NAME(vfu) *)(out + k) = NAME(load)(src, k, D)
    if (dtype == STEER_BF16) { WIDEN(STEER_BF16); } else if (dtype == STEER_F16) { WIDEN(STEER_F16); } else { WIDEN(STEER_F32); }
#undef WIDEN
    for (; k < n; k++) out[k] = steer_scalar(src, k, dtype);
}

float NAME(steer_stream_sum)(const float *x, long n) {
    NAME(vf) a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    long k = 0;
    for (; k + 4 * LANES <= n; k += 4 * LANES) {
        a0 += *(const NAME(vfu) *)(x + k);
        a1 += *(const NAME(vfu) *)(x + k + LANES);
        a2 += *(const NAME(vfu) *)(x + k + 2 * LANES);
        a3 += *(const NAME(vfu) *)(x + k + 3 * LANES);
    }
    float s = NAME(hsum)((a0 + a1) + (a2 + a3));
    for (; k < n; k++) s += x[k];
    return s;
}

#undef ALWAYS
