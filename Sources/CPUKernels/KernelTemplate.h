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

/// Input rows per pass of the matrix-vector kernel (registers: R weight rows × G inputs × 2 chains).
enum { NAME(G) = LANES >= 16 ? 4 : 2 };

/// One vector of terms from element k of R weight rows against M inputs, added to chain `c` of each sum.
ALWAYS void NAME(gemv_step)(int dtype, const void *w, long cols, long r, const float *x, long lda, long k, int c,
                            NAME(vf) acc[2][NAME(G)][2], const int R, const int M) {
    const long size = dtype == STEER_F32 ? 4 : 2;
    NAME(vf) wv[2];
    for (int q = 0; q < R; q++) wv[q] = NAME(load)((const char *)w + (r + q) * cols * size, k, dtype);
    for (int i = 0; i < M; i++) {
        NAME(vf) xv = *(const NAME(vfu) *)(x + i * lda + k);
        for (int q = 0; q < R; q++) acc[q][i][c] += wv[q] * xv;
    }
}

/// y[i·ldy + r + q] = x_i · W_{r+q} for q < R weight rows and i < M input rows (R, M constants): two
/// vectors of LANES partial sums per element (chain c, lane l adds the terms k ≡ c·LANES + l mod 2·LANES
/// in order; a last single vector of terms goes to chain 0), added, summed pairwise, then the tail terms
/// in order. Each weight vector is widened once for all M inputs.
ALWAYS void NAME(gemv_block)(int dtype, const void *w, long cols, long r, const float *x, long lda, float *y, long ldy,
                             const int R, const int M) {
    const long size = dtype == STEER_F32 ? 4 : 2;
    NAME(vf) acc[2][NAME(G)][2];
    for (int q = 0; q < R; q++) for (int i = 0; i < M; i++) acc[q][i][0] = acc[q][i][1] = (NAME(vf)){0};
    long k = 0;
    // Four vectors per round of the loop: fewer instructions per byte read, so the core's out-of-order
    // window holds more loads in flight (16-bit weights widened in registers need more instructions
    // per byte than Float32 ones). Vector j of a row always goes to chain j mod 2, in order.
    for (; k + 4 * LANES <= cols; k += 4 * LANES) {
        // Ask for every cache line of the weights twice: into L2 8 KiB ahead, into L1 1 KiB ahead. A
        // single stream per thread leaves the hardware prefetchers too little in flight to reach the
        // memory's bandwidth (a 0.5B decode step's matrices: 97% of a plain read's rate against 85%
        // with one prefetch 2 KiB ahead, AMD EPYC Zen 4, 2 threads).
        for (int q = 0; q < R; q++) {
            const char *row = (const char *)w + ((r + q) * cols + k) * size;
            for (long b = 0; b < 4 * LANES * size; b += 64) {
                __builtin_prefetch(row + b + 8192, 0, 2);
                __builtin_prefetch(row + b + 1024, 0, 3);
            }
        }
        for (int c = 0; c < 4; c++) NAME(gemv_step)(dtype, w, cols, r, x, lda, k + c * LANES, c & 1, acc, R, M);
    }
    for (int c = 0; k + LANES <= cols; k += LANES, c++) NAME(gemv_step)(dtype, w, cols, r, x, lda, k, c & 1, acc, R, M);
    for (int q = 0; q < R; q++) {
        const void *wr = (const char *)w + (r + q) * cols * size;
        for (int i = 0; i < M; i++) {
            float s = NAME(hsum)(acc[q][i][0] + acc[q][i][1]);
            for (long j = k; j < cols; j++) s += x[i * lda + j] * steer_scalar(wr, j, dtype);
            y[i * ldy + r + q] = s;
        }
    }
}

/// Weight rows [r, r + R) against all m inputs, in groups of G.
ALWAYS void NAME(gemv_pass)(int dtype, const void *w, long cols, long r, const float *x, long m, long lda, float *y,
                            long ldy, const int R) {
    long i = 0;
    for (; i + NAME(G) <= m; i += NAME(G)) NAME(gemv_block)(dtype, w, cols, r, x + i * lda, lda, y + i * ldy, ldy, R, NAME(G));
    const float *xi = x + i * lda;
    float *yi = y + i * ldy;
    switch (m - i) {
    case 7: NAME(gemv_block)(dtype, w, cols, r, xi, lda, yi, ldy, R, 7 < NAME(G) ? 7 : 1); break;
    case 6: NAME(gemv_block)(dtype, w, cols, r, xi, lda, yi, ldy, R, 6 < NAME(G) ? 6 : 1); break;
    case 5: NAME(gemv_block)(dtype, w, cols, r, xi, lda, yi, ldy, R, 5 < NAME(G) ? 5 : 1); break;
    case 4: NAME(gemv_block)(dtype, w, cols, r, xi, lda, yi, ldy, R, 4 < NAME(G) ? 4 : 1); break;
    case 3: NAME(gemv_block)(dtype, w, cols, r, xi, lda, yi, ldy, R, 3 < NAME(G) ? 3 : 1); break;
    case 2: NAME(gemv_block)(dtype, w, cols, r, xi, lda, yi, ldy, R, 2 < NAME(G) ? 2 : 1); break;
    case 1: NAME(gemv_block)(dtype, w, cols, r, xi, lda, yi, ldy, R, 1); break;
    default: break;
    }
}

/// Weight rows [r0, r1): R at a time, then one at a time (one row streams best from memory; with
/// several inputs two rows share each input load).
ALWAYS void NAME(gemv_rows)(int dtype, const void *w, long cols, long r0, long r1, const float *x, long m, long lda,
                            float *y, long ldy, const int R) {
    long r = r0;
    for (; r + R <= r1; r += R) NAME(gemv_pass)(dtype, w, cols, r, x, m, lda, y, ldy, R);
    for (; r < r1; r++) NAME(gemv_pass)(dtype, w, cols, r, x, m, lda, y, ldy, 1);
}

void NAME(steer_gemv)(steer_dtype dtype, const void *w, long cols, long r0, long r1, const float *x, long m,
                      long lda, float *y, long ldy) {
#define ROWS(D) if (m <= 2) NAME(gemv_rows)(D, w, cols, r0, r1, x, m, lda, y, ldy, 1); \
                else NAME(gemv_rows)(D, w, cols, r0, r1, x, m, lda, y, ldy, 2)
    switch (dtype) {
    case STEER_F32: ROWS(STEER_F32); break;
    case STEER_BF16: ROWS(STEER_BF16); break;
    case STEER_F16: ROWS(STEER_F16); break;
    }
#undef ROWS
}

void NAME(steer_widen)(steer_dtype dtype, const void *src, float *out, long n) {
    long k = 0;
#define WIDEN(D) for (; k + LANES <= n; k += LANES) *(NAME(vfu) *)(out + k) = NAME(load)(src, k, D)
    if (dtype == STEER_BF16) { WIDEN(STEER_BF16); } else if (dtype == STEER_F16) { WIDEN(STEER_F16); } else { WIDEN(STEER_F32); }
#undef WIDEN
    for (; k < n; k++) out[k] = steer_scalar(src, k, dtype);
}

uint64_t NAME(steer_stream_read)(const void *p, long bytes) {
    typedef uint64_t NAME(vq) __attribute__((vector_size(LANES * 4)));
    typedef uint64_t NAME(vqu) __attribute__((vector_size(LANES * 4), aligned(1)));
    const long step = LANES * 4;
    const char *c = (const char *)p;
    NAME(vq) a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    long k = 0;
    for (; k + 4 * step <= bytes; k += 4 * step) {
        a0 += *(const NAME(vqu) *)(c + k);
        a1 += *(const NAME(vqu) *)(c + k + step);
        a2 += *(const NAME(vqu) *)(c + k + 2 * step);
        a3 += *(const NAME(vqu) *)(c + k + 3 * step);
    }
    NAME(vq) v = (a0 + a1) + (a2 + a3);
    uint64_t s = 0;
    for (int i = 0; i < LANES / 2; i++) s += v[i];
    for (; k + 8 <= bytes; k += 8) {
        uint64_t u;
        memcpy(&u, c + k, 8);
        s += u;
    }
    for (; k < bytes; k++) s += (uint8_t)c[k];
    return s;
}

float NAME(steer_fma_peak)(long iterations) {
    // 12 independent chains: enough to cover the latency of every FMA pipe of the cores we target
    // (2 pipes × 4 cycles on Zen 4 and Skylake-X; 2 × 4 at 8 lanes with AVX2).
    NAME(vf) a[12];
    const NAME(vf) m = (NAME(vf)){0} + 0.999999f, c = (NAME(vf)){0} + 1e-7f;
    for (int i = 0; i < 12; i++) a[i] = (NAME(vf)){0} + (float)i;
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < 12; i++) a[i] = a[i] * m + c;
    NAME(vf) s = (NAME(vf)){0};
    for (int i = 0; i < 12; i++) s += a[i];
    return NAME(hsum)(s);
}
