// Attention's two products (scores, weighted values) for one instruction set; included after
// KernelTemplate.h by the per-level files. Each element is a sum in a fixed order (see CPUKernels.h).

/// Scores of up to 4 (constant RB) stacked query rows against JB·LANES keys from column j: each a
/// sum over c ascending, one fused multiply-add per term, then scaled.
ALWAYS void NAME(scores_block)(const float *q, long ldq, const float *kt, long ldk, long j, long hd, float scale,
                               float *s, long lds, const int RB, const int JB) {
    NAME(vf) acc[4][2];
    for (int r = 0; r < RB; r++) for (int b = 0; b < JB; b++) acc[r][b] = (NAME(vf)){0};
    for (long c = 0; c < hd; c++) {
        NAME(vf) k0 = *(const NAME(vfu) *)(kt + c * ldk + j), k1 = JB > 1 ? *(const NAME(vfu) *)(kt + c * ldk + j + LANES) : k0;
        for (int r = 0; r < RB; r++) {
            float qc = q[r * ldq + c];  // splat by the vector-scalar product
            acc[r][0] += k0 * qc;
            if (JB > 1) acc[r][1] += k1 * qc;
        }
    }
    for (int r = 0; r < RB; r++) for (int b = 0; b < JB; b++) *(NAME(vfu) *)(s + r * lds + j + b * LANES) = acc[r][b] * scale;
}

ALWAYS void NAME(scores_rows)(const float *q, long ldq, const float *kt, long ldk, long n, long hd, float scale,
                              float *s, long lds, const int RB) {
    long j = 0;
    for (; j + 2 * LANES <= n; j += 2 * LANES) NAME(scores_block)(q, ldq, kt, ldk, j, hd, scale, s, lds, RB, 2);
    for (; j + LANES <= n; j += LANES) NAME(scores_block)(q, ldq, kt, ldk, j, hd, scale, s, lds, RB, 1);
    for (; j < n; j++) {
        for (int r = 0; r < RB; r++) {
            float acc = 0;
            for (long c = 0; c < hd; c++) acc += q[r * ldq + c] * kt[c * ldk + j];
            s[r * lds + j] = acc * scale;
        }
    }
}

void NAME(steer_attention_scores)(const float *q, long ldq, long rows, const float *kt, long ldk, long n, long hd,
                                  float scale, float *s, long lds) {
    long r = 0;
    for (; r + 4 <= rows; r += 4) NAME(scores_rows)(q + r * ldq, ldq, kt, ldk, n, hd, scale, s + r * lds, lds, 4);
    switch (rows - r) {
    case 3: NAME(scores_rows)(q + r * ldq, ldq, kt, ldk, n, hd, scale, s + r * lds, lds, 3); break;
    case 2: NAME(scores_rows)(q + r * ldq, ldq, kt, ldk, n, hd, scale, s + r * lds, lds, 2); break;
    case 1: NAME(scores_rows)(q + r * ldq, ldq, kt, ldk, n, hd, scale, s + r * lds, lds, 1); break;
    default: break;
    }
}

/// Weighted values into up to 4 (constant RB) output rows, CB·LANES columns from c: each output
/// continues its running sum over the keys in order, one fused multiply-add per key.
ALWAYS void NAME(values_block)(const float *p, long ldp, const float *v, long ldv, long n, long c, float *o, long ldo,
                               const int RB, const int CB) {
    NAME(vf) acc[4][4];
    for (int r = 0; r < RB; r++) for (int b = 0; b < CB; b++) acc[r][b] = *(const NAME(vfu) *)(o + r * ldo + c + b * LANES);
    for (long j = 0; j < n; j++) {
        NAME(vf) vv[4];
        for (int b = 0; b < CB; b++) vv[b] = *(const NAME(vfu) *)(v + j * ldv + c + b * LANES);
        for (int r = 0; r < RB; r++) {
            float pj = p[r * ldp + j];
            for (int b = 0; b < CB; b++) acc[r][b] += vv[b] * pj;
        }
    }
    for (int r = 0; r < RB; r++) for (int b = 0; b < CB; b++) *(NAME(vfu) *)(o + r * ldo + c + b * LANES) = acc[r][b];
}

ALWAYS void NAME(values_rows)(const float *p, long ldp, const float *v, long ldv, long n, long hd, float *o, long ldo,
                              const int RB) {
    enum { CB = LANES >= 16 ? 4 : 2 };
    long c = 0;
    for (; c + CB * LANES <= hd; c += CB * LANES) NAME(values_block)(p, ldp, v, ldv, n, c, o, ldo, RB, CB);
    for (; c + LANES <= hd; c += LANES) NAME(values_block)(p, ldp, v, ldv, n, c, o, ldo, RB, 1);
    for (; c < hd; c++) {
        for (int r = 0; r < RB; r++) {
            float acc = o[r * ldo + c];
            for (long j = 0; j < n; j++) acc += p[r * ldp + j] * v[j * ldv + c];
            o[r * ldo + c] = acc;
        }
    }
}

void NAME(steer_attention_values)(const float *p, long ldp, long rows, const float *v, long ldv, long n, long hd,
                                  float *o, long ldo) {
    long r = 0;
    for (; r + 4 <= rows; r += 4) NAME(values_rows)(p + r * ldp, ldp, v, ldv, n, hd, o + r * ldo, ldo, 4);
    switch (rows - r) {
    case 3: NAME(values_rows)(p + r * ldp, ldp, v, ldv, n, hd, o + r * ldo, ldo, 3); break;
    case 2: NAME(values_rows)(p + r * ldp, ldp, v, ldv, n, hd, o + r * ldo, ldo, 2); break;
    case 1: NAME(values_rows)(p + r * ldp, ldp, v, ldv, n, hd, o + r * ldo, ldo, 1); break;
    default: break;
    }
}
