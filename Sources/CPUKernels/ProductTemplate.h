// Matrix products for one instruction set; included after KernelTemplate.h by the per-level files.
//
// Weights are read as panels of STEER_PANEL (32) rows stored term-major (panel p, term k, row jj at
// `p·cols·32 + k·32 + jj`): kept that way from load time, or packed chunk by chunk from row-major
// weights. The register tile is MR input rows × 32 weight rows, its sums running over the terms in
// ascending order with one fused multiply-add each, continued across chunks of KC terms: an
// element's value depends on nothing but its row of x and of W.

enum { NAME(NV) = STEER_PANEL / LANES, NAME(MR) = LANES >= 16 ? 8 : LANES >= 8 ? 3 : 1, NAME(KC) = 128 };

/// One term k of the register tile: acc[r][v] += x[r, k] · b[k, v-th vector].
ALWAYS void NAME(micro_step)(const float *x, long lda, const float *b, long k, NAME(vf) acc[NAME(MR)][NAME(NV)], const int M) {
    float a[NAME(MR)];
    for (int r = 0; r < M; r++) a[r] = x[r * lda + k];
    for (int v = 0; v < NAME(NV); v++) {
        NAME(vf) bv = *(const NAME(vf) *)(b + k * STEER_PANEL + v * LANES);
        for (int r = 0; r < M; r++) acc[r][v] += bv * a[r];
    }
}

/// c[M × 32] (rows ldc apart) continues its sums over kc more terms: x[M × kc] (rows lda apart) times a
/// panel slice b[kc × 32]; `first` starts the sums at zero instead of c. Alongside the terms it asks for
/// `lines` cache lines from `pf` (into L2; see `panel_rows`): one per term, two per term where `lines`
/// exceeds kc (a slice has two lines per term, all of them one group's share when it is the only group).
/// The terms run in order either way.
ALWAYS void NAME(micro)(const float *x, long lda, const float *b, long kc, float *c, long ldc, int first, const int M,
                        const char *pf, long lines) {
    NAME(vf) acc[NAME(MR)][NAME(NV)];
    for (int r = 0; r < M; r++)
        for (int v = 0; v < NAME(NV); v++) acc[r][v] = first ? (NAME(vf)){0} : *(const NAME(vfu) *)(c + r * ldc + v * LANES);
    long k = 0;
    for (long end = lines < kc ? lines : kc; k < end; k++) {
        __builtin_prefetch(pf + k * 64, 0, 2);
        if (k + kc < lines) __builtin_prefetch(pf + (k + kc) * 64, 0, 2);
        NAME(micro_step)(x, lda, b, k, acc, M);
    }
    for (; k < kc; k++) NAME(micro_step)(x, lda, b, k, acc, M);
    for (int r = 0; r < M; r++)
        for (int v = 0; v < NAME(NV); v++) *(NAME(vfu) *)(c + r * ldc + v * LANES) = acc[r][v];
}

/// One panel slice against rows [0, m) of x: MR rows at a time, then the remaining rows. The first pass
/// over the slice reads it from memory while the later ones find it in L1; with only a few row groups
/// (a decode batch of 16–48 rows) that first pass, latency-bound, cost about a quarter of the product
/// (0.5B shape, AMD EPYC Zen 4: batch 16 on one thread went from 66–70 to 89 tokens/s). So the full row
/// groups also ask, spread over their iterations, for the `next` slice the caller will multiply (kc·32
/// floats from `next`; nil when there is none). Prefetches change no value.
ALWAYS void NAME(panel_rows)(const float *x, long lda, long m, const float *b, long kc, float *c, long ldc, int first,
                             const float *next) {
    long i = 0, groups = m / NAME(MR), lines = kc * STEER_PANEL * (long)sizeof(float) / 64;
    long share = groups > 0 ? (lines + groups - 1) / groups : 0;
    for (long g = 0; i + NAME(MR) <= m; i += NAME(MR), g++) {
        long from = g * share, count = lines - from < share ? lines - from : share;
        int ask = next && count > 0;
        NAME(micro)(x + i * lda, lda, b, kc, c + i * ldc, ldc, first, NAME(MR), ask ? (const char *)next + from * 64 : 0,
                    ask ? count : 0);
    }
    const float *xi = x + i * lda;
    float *ci = c + i * ldc;
    switch (m - i) {
    case 7: NAME(micro)(xi, lda, b, kc, ci, ldc, first, 7 < NAME(MR) ? 7 : 1, 0, 0); break;
    case 6: NAME(micro)(xi, lda, b, kc, ci, ldc, first, 6 < NAME(MR) ? 6 : 1, 0, 0); break;
    case 5: NAME(micro)(xi, lda, b, kc, ci, ldc, first, 5 < NAME(MR) ? 5 : 1, 0, 0); break;
    case 4: NAME(micro)(xi, lda, b, kc, ci, ldc, first, 4 < NAME(MR) ? 4 : 1, 0, 0); break;
    case 3: NAME(micro)(xi, lda, b, kc, ci, ldc, first, 3 < NAME(MR) ? 3 : 1, 0, 0); break;
    case 2: NAME(micro)(xi, lda, b, kc, ci, ldc, first, 2 < NAME(MR) ? 2 : 1, 0, 0); break;
    case 1: NAME(micro)(xi, lda, b, kc, ci, ldc, first, 1, 0, 0); break;
    default: break;
    }
}

/// Columns [32·p0, min(32·p1, n)) of y continue their sums over kc terms: panels p0..<p1 whose slices
/// start at `b` and lie `stride` floats apart. The last panel may be partial (rows past n are zeros in
/// the panel): it goes through a full-width tile so nothing past column n is touched.
ALWAYS void NAME(chunk)(const float *x, long lda, long m, const float *b, long stride, long kc, long n, long p0, long p1,
                        float *y, long ldy, int first, const float *after) {
    for (long p = p0; p < p1; p++) {
        const float *bp = b + (p - p0) * stride;
        long j0 = p * STEER_PANEL, cols = n - j0;
        if (cols >= STEER_PANEL) {
            NAME(panel_rows)(x, lda, m, bp, kc, y + j0, ldy, first, p + 1 < p1 ? bp + stride : after);
            continue;
        }
        float edge[NAME(MR) * STEER_PANEL];
        for (long i = 0; i < m; i += NAME(MR)) {
            long rows = m - i < NAME(MR) ? m - i : NAME(MR);
            for (long r = 0; r < rows; r++)
                for (long j = 0; j < STEER_PANEL; j++) edge[r * STEER_PANEL + j] = j < cols && !first ? y[(i + r) * ldy + j0 + j] : 0;
            NAME(panel_rows)(x + i * lda, lda, rows, bp, kc, edge, STEER_PANEL, first, 0);
            for (long r = 0; r < rows; r++)
                for (long j = 0; j < cols; j++) y[(i + r) * ldy + j0 + j] = edge[r * STEER_PANEL + j];
        }
    }
}

/// Lanes [0, LANES/2) of a and b interleaved (lo) or lanes [LANES/2, LANES) (hi).
#if LANES == 16
#define INTERLEAVE_LO(a, b) __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define INTERLEAVE_HI(a, b) __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
#elif LANES == 8
#define INTERLEAVE_LO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11)
#define INTERLEAVE_HI(a, b) __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15)
#else
#define INTERLEAVE_LO(a, b) __builtin_shufflevector(a, b, 0, 4, 1, 5)
#define INTERLEAVE_HI(a, b) __builtin_shufflevector(a, b, 2, 6, 3, 7)
#endif

/// v[r][t] → v[t][r] for a LANES × LANES block: log2(LANES) rounds of interleaving row i with row
/// i + LANES/2 (the perfect shuffle; after the last round row t holds column t).
ALWAYS void NAME(transpose)(NAME(vf) *v) {
    for (int round = LANES; round > 1; round /= 2) {
        NAME(vf) t[LANES];
        for (int i = 0; i < LANES / 2; i++) {
            t[2 * i] = INTERLEAVE_LO(v[i], v[i + LANES / 2]);
            t[2 * i + 1] = INTERLEAVE_HI(v[i], v[i + LANES / 2]);
        }
        for (int i = 0; i < LANES; i++) v[i] = t[i];
    }
}

/// Rows j..j+LANES of a panel (all present), terms [k0, k0 + kc): LANES × LANES blocks widened and
/// transposed in registers, the tail terms one by one.
ALWAYS void NAME(pack_rows)(int dtype, const void *w, long ldw, long j, long k0, long kc, float *panel, const int D) {
    const long size = D == STEER_F32 ? 4 : 2;
    const char *base = (const char *)w + (j * ldw + k0) * size;
    long k = 0;
    for (; k + LANES <= kc; k += LANES) {
        NAME(vf) v[LANES];
        for (int r = 0; r < LANES; r++) v[r] = NAME(load)(base + r * ldw * size, k, D);
        NAME(transpose)(v);
        for (int t = 0; t < LANES; t++) *(NAME(vfu) *)(panel + (k + t) * STEER_PANEL) = v[t];
    }
    for (; k < kc; k++)
        for (int r = 0; r < LANES; r++) panel[k * STEER_PANEL + r] = steer_scalar(base + r * ldw * size, k, dtype);
}

void NAME(steer_pack_panels)(steer_dtype dtype, const void *w, long ldw, long rows, long k0, long kc, long p0, long p1,
                             float *out) {
    const long size = dtype == STEER_F32 ? 4 : 2;
    for (long p = p0; p < p1; p++) {
        float *panel = out + (p - p0) * kc * STEER_PANEL;
        for (long jj = 0; jj < STEER_PANEL; jj += LANES) {
            long j = p * STEER_PANEL + jj;
            if (j + LANES <= rows) {
                switch (dtype) {
                case STEER_F32: NAME(pack_rows)(dtype, w, ldw, j, k0, kc, panel + jj, STEER_F32); break;
                case STEER_BF16: NAME(pack_rows)(dtype, w, ldw, j, k0, kc, panel + jj, STEER_BF16); break;
                case STEER_F16: NAME(pack_rows)(dtype, w, ldw, j, k0, kc, panel + jj, STEER_F16); break;
                }
                continue;
            }
            for (long r = 0; r < LANES; r++) {
                const void *row = (const char *)w + ((j + r) * ldw + k0) * size;
                for (long k = 0; k < kc; k++) panel[k * STEER_PANEL + jj + r] = j + r < rows ? steer_scalar(row, k, dtype) : 0;
            }
        }
    }
}

void NAME(steer_panel_product)(const float *panels, long cols, long n, long p0, long p1, const float *x, long lda,
                               long m, float *y, long ldy) {
    // A few input rows stream each panel once (memory-bound); more rows reuse a chunk of KC terms
    // of a panel from L1 across all of them.
    long step = m <= 4 ? cols : NAME(KC);
    for (long k0 = 0; k0 < cols; k0 += step) {
        long kc = cols - k0 < step ? cols - k0 : step;
        const float *b = panels + p0 * cols * STEER_PANEL + k0 * STEER_PANEL;
        // After the last panel of this chunk comes the first panel's next chunk (the next kc·32 floats).
        NAME(chunk)(x + k0, lda, m, b, cols * STEER_PANEL, kc, n, p0, p1, y, ldy, k0 == 0,
                    k0 + kc < cols ? b + kc * STEER_PANEL : 0);
    }
}

void NAME(steer_gemm)(steer_dtype dtype, const void *w, long ldw, long n, long k, const float *x, long lda, long m,
                      float *y, long ldy, float *scratch) {
    long panels = (n + STEER_PANEL - 1) / STEER_PANEL;
    for (long k0 = 0; k0 < k; k0 += NAME(KC)) {
        long kc = k - k0 < NAME(KC) ? k - k0 : NAME(KC);
        NAME(steer_pack_panels)(dtype, w, ldw, n, k0, kc, 0, panels, scratch);
        NAME(chunk)(x + k0, lda, m, scratch, kc * STEER_PANEL, kc, n, 0, panels, y, ldy, k0 == 0, 0);
    }
}
