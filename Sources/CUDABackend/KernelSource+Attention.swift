extension KernelSource {
    /// Attention over a `SequenceLayout` (forward and input gradients) and the other backward kernels.
    ///
    /// The layout travels as arrays built by `AttentionLayout`: per query its row, position and context; per
    /// context a range of runs (CSR), each run `(slot, position, count)`. One block of 128 threads serves one
    /// (query, head): it walks the visible part of each run in chunks of 128 keys, one key per thread for
    /// the score, then one output dimension per thread (two when headDim > 128) for the weighted values,
    /// with an online softmax (running max and sum, earlier sums rescaled). No score matrix is ever stored;
    /// the same kernel serves prefill (many queries per context) and decode (one query per sequence).
    static let attention = #"""
#define ATT_THREADS 128
#define ATT_MAX_HEAD_DIM 256

struct Visible { int slot; int count; };
/// The visible part of a run for a query at position p: positions ≤ p and > p − window (window 0: none).
__device__ __forceinline__ Visible visible_part(int slot, int pos, int count, int p, int window) {
    int first = pos, last = pos + count - 1;
    if (window > 0 && first < p - window + 1) first = p - window + 1;
    if (last > p) last = p;
    Visible v; v.slot = slot + (first - pos); v.count = last >= first ? last - first + 1 : 0;
    return v;
}

/// The (soft-capped) score of the query in shared `qv` against one key.
__device__ __forceinline__ float score(const float* qv, const float* key, int hd, float scale, float cap) {
    float s = 0.0f;
    for (int c = 0; c < hd; c++) s += qv[c] * key[c];
    s = s * scale;
    return cap > 0.0f ? tanhf(s * (1.0f / cap)) * cap : s;
}

extern "C" __global__ void attention(const float* q, int qs, int qcol, const int* qrow, const int* qpos, const int* qctx,
                                     const int* runStart, const int* runSlot, const int* runPos, const int* runCount,
                                     const float* keys, const float* values, int kvDim, int heads, int kvHeads, int hd,
                                     float scale, float cap, int window, float* out, int os) {
    __shared__ float red[32];
    __shared__ float qv[ATT_MAX_HEAD_DIM];
    __shared__ float p[ATT_THREADS];
    const int i = blockIdx.x, h = blockIdx.y, t = threadIdx.x;
    const int g = h / (heads / kvHeads), pos = qpos[i], ctx = qctx[i];
    const float* qr = q + (i64)qrow[i] * qs + qcol + (i64)h * hd;
    for (int c = t; c < hd; c += ATT_THREADS) qv[c] = qr[c];
    __syncthreads();
    float m = -STEER_INF, l = 0.0f, acc0 = 0.0f, acc1 = 0.0f;
    for (int r = runStart[ctx]; r < runStart[ctx + 1]; r++) {
        const Visible vis = visible_part(runSlot[r], runPos[r], runCount[r], pos, window);
        for (int base = 0; base < vis.count; base += ATT_THREADS) {
            const int j = base + t, n = min(ATT_THREADS, vis.count - base);
            const float s = j < vis.count ? score(qv, keys + (i64)(vis.slot + j) * kvDim + (i64)g * hd, hd, scale, cap) : -STEER_INF;
            const float mNew = fmaxf(m, block_max(s, red));
            const float correction = expf(m - mNew);
            const float e = j < vis.count ? expf(s - mNew) : 0.0f;
            p[t] = e;
            l = l * correction + block_sum(e, red);
            acc0 *= correction; acc1 *= correction;
            const float* v = values + (i64)vis.slot * kvDim + (i64)g * hd + (i64)base * kvDim;
            for (int jj = 0; jj < n; jj++) {
                if (t < hd) acc0 += p[jj] * v[(i64)jj * kvDim + t];
                if (t + ATT_THREADS < hd) acc1 += p[jj] * v[(i64)jj * kvDim + t + ATT_THREADS];
            }
            m = mNew;
            __syncthreads();
        }
    }
    float* o = out + (i64)i * os + (i64)h * hd;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    if (t < hd) o[t] = acc0 * inv;
    if (t + ATT_THREADS < hd) o[t + ATT_THREADS] = acc1 * inv;
}

/// Input gradients of `attention` for one (query, head): pass 1 recomputes the softmax's max and sum, pass 2
/// D = Σ p_j (dO·v_j), pass 3 dS_j = p_j (dO·v_j − D) (times 1 − (s_j/cap)² when capped), dq = scale·Σ dS_j k_j
/// (overwritten), dk_j += scale·dS_j q and dv_j += p_j dO (atomics: many queries share a key).
extern "C" __global__ void attention_backward(const float* q, int qs, int qcol, const int* qrow, const int* qpos,
                                              const int* qctx, const int* runStart, const int* runSlot, const int* runPos,
                                              const int* runCount, const float* keys, const float* values, int kvDim,
                                              int heads, int kvHeads, int hd, float scale, float cap, int window,
                                              const float* dOut, int dos, float* dq, int dqs, int dqcol,
                                              float* dkv, int dkvs, int kcol, int vcol) {
    __shared__ float red[32];
    __shared__ float qv[ATT_MAX_HEAD_DIM];
    __shared__ float dov[ATT_MAX_HEAD_DIM];
    __shared__ float ds[ATT_THREADS];
    const int i = blockIdx.x, h = blockIdx.y, t = threadIdx.x;
    const int g = h / (heads / kvHeads), pos = qpos[i], ctx = qctx[i];
    const float* qr = q + (i64)qrow[i] * qs + qcol + (i64)h * hd;
    const float* dor = dOut + (i64)i * dos + (i64)h * hd;
    for (int c = t; c < hd; c += ATT_THREADS) { qv[c] = qr[c]; dov[c] = dor[c]; }
    __syncthreads();
    float m = -STEER_INF, l = 0.0f, d = 0.0f, dq0 = 0.0f, dq1 = 0.0f;
    for (int pass = 0; pass < 3; pass++) {
        for (int r = runStart[ctx]; r < runStart[ctx + 1]; r++) {
            const Visible vis = visible_part(runSlot[r], runPos[r], runCount[r], pos, window);
            for (int base = 0; base < vis.count; base += ATT_THREADS) {
                const int j = base + t, n = min(ATT_THREADS, vis.count - base);
                const i64 row = (i64)(vis.slot + j);
                const float* key = keys + row * kvDim + (i64)g * hd;
                const float* val = values + row * kvDim + (i64)g * hd;
                const float s = j < vis.count ? score(qv, key, hd, scale, cap) : -STEER_INF;
                if (pass == 0) {
                    const float mNew = fmaxf(m, block_max(s, red));
                    l = l * expf(m - mNew) + block_sum(j < vis.count ? expf(s - mNew) : 0.0f, red);
                    m = mNew;
                    continue;
                }
                float pj = 0.0f, dp = 0.0f;
                if (j < vis.count) {
                    pj = expf(s - m) / l;
                    for (int c = 0; c < hd; c++) dp += dov[c] * val[c];
                }
                if (pass == 1) { d += block_sum(pj * dp, red); continue; }
                float dz = pj * (dp - d);
                if (cap > 0.0f) dz = dz * (1.0f - (s / cap) * (s / cap));
                if (j < vis.count) {
                    float* dk = dkv + row * dkvs + kcol + (i64)g * hd;
                    float* dv = dkv + row * dkvs + vcol + (i64)g * hd;
                    for (int c = 0; c < hd; c++) { atomicAdd(dk + c, scale * dz * qv[c]); atomicAdd(dv + c, pj * dov[c]); }
                }
                __syncthreads();
                ds[t] = dz;
                __syncthreads();
                const float* k0 = keys + (i64)vis.slot * kvDim + (i64)g * hd + (i64)base * kvDim;
                for (int jj = 0; jj < n; jj++) {
                    if (t < hd) dq0 += ds[jj] * k0[(i64)jj * kvDim + t];
                    if (t + ATT_THREADS < hd) dq1 += ds[jj] * k0[(i64)jj * kvDim + t + ATT_THREADS];
                }
            }
        }
    }
    float* o = dq + (i64)qrow[i] * dqs + dqcol + (i64)h * hd;
    if (t < hd) o[t] = scale * dq0;
    if (t + ATT_THREADS < hd) o[t + ATT_THREADS] = scale * dq1;
}

/// The input gradient of RMSNorm for group blockIdx.y of row row0 + blockIdx.x (see BackwardKernels.rmsNorm);
/// the sums finish before anything is written, so out may be dy.
extern "C" __global__ void rms_norm_backward(const float* x, int xs, int xcol, int row0, int width, const float* w,
                                             float offset, float eps, const float* dy, int dys, int dycol, float* out,
                                             int os, int ocol, int accumulate) {
    __shared__ float red[32];
    const i64 r = row0 + blockIdx.x, gofs = (i64)blockIdx.y * width;
    const float* xr = x + r * xs + xcol + gofs;
    const float* gr = dy + r * dys + dycol + gofs;
    float* o = out + r * os + ocol + gofs;
    float ss = 0.0f, sum = 0.0f;
    for (int c = threadIdx.x; c < width; c += blockDim.x) { ss += xr[c] * xr[c]; sum += xr[c] * (w[c] + offset) * gr[c]; }
    const float s = 1.0f / sqrtf(block_sum(ss, red) / (float)width + eps);
    const float k = s * s * s * block_sum(sum, red) / (float)width;
    for (int c = threadIdx.x; c < width; c += blockDim.x) {
        const float v = s * (w[c] + offset) * gr[c] - k * xr[c];
        o[c] = accumulate ? o[c] + v : v;
    }
}

/// The input gradient of `gated` (see BackwardKernels.gatedActivation): [dy·up·act′(gate) | dy·act(gate)].
extern "C" __global__ void gated_backward(const float* x, int xs, int row0, int width, int gelu, const float* dy, int dys,
                                          float* out, int os) {
    const i64 r = row0 + blockIdx.x;
    const float* gr = x + r * xs;
    const float* yr = dy + r * dys;
    float* o = out + r * os;
    for (int i = threadIdx.x; i < width; i += blockDim.x) {
        const float g = gr[i], u = gr[i + width];
        const float a = gelu ? 2.0f * 0.7978845608028654f * (g + 0.044715f * g * g * g) : g;
        const float slope = gelu ? 2.0f * 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * g * g) : 1.0f;
        const float e = expf(-fabsf(a)), nearv = 1.0f / (1.0f + e), farv = e / (1.0f + e);
        const float s = a >= 0.0f ? nearv : farv, rest = a >= 0.0f ? farv : nearv;
        o[i] = yr[i] * u * (s + g * s * rest * slope);
        o[i + width] = yr[i] * g * s;
    }
}
"""#
}
