/// The CUDA C source of the backend's kernels, compiled with NVRTC at first use (`KernelCache`).
///
/// Conventions: every kernel is `extern "C"` (unmangled names for `cuModuleGetFunction`); tensors are row-major
/// Float32 with a row stride in floats; a row set is `(list, start)`, row `blockIdx.x` being `list[blockIdx.x]`
/// or `start + blockIdx.x` when `list` is null; blocks are 1-D with a multiple of 32 threads (≤ 1024) so that
/// `block_sum`/`block_max` can reduce by warps. Arithmetic follows the CPU kernels (`Kernels`,
/// `BackwardKernels`) operation by operation, compiled with `-fmad=false` so no product is fused into an add
/// the CPU rounds separately.
enum KernelSource {
    /// Helpers and the forward kernels; `backward` is appended to form one module.
    static let forward = #"""
typedef unsigned short u16;
typedef long long i64;
#define STEER_INF __int_as_float(0x7f800000)

__device__ __forceinline__ float bf16_to_f32(u16 h) { return __uint_as_float(((unsigned)h) << 16); }
__device__ __forceinline__ float f16_to_f32(u16 h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
/// Round to nearest even; NaN stays a (quiet) NaN.
__device__ __forceinline__ u16 f32_to_bf16(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u16)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (u16)(u >> 16);
}
__device__ __forceinline__ u16 f32_to_f16(float f) { u16 h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
/// Element i of a table of dtype 0 = F32, 1 = BF16, 2 = F16.
__device__ __forceinline__ float load_any(const void* p, i64 i, int dtype) {
    if (dtype == 1) return bf16_to_f32(((const u16*)p)[i]);
    if (dtype == 2) return f16_to_f32(((const u16*)p)[i]);
    return ((const float*)p)[i];
}
__device__ __forceinline__ int pick_row(const int* list, int start) { return list ? list[blockIdx.x] : start + (int)blockIdx.x; }

/// The block's sum, in the same order on every thread (warp shuffles, then the warps' partial sums in
/// order). Every thread of the block must call it; `red` is a 32-float shared array.
__device__ float block_sum(float v, float* red) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
    __syncthreads();
    float t = 0.0f;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) t += red[w];
    return t;
}
__device__ float block_max(float v, float* red) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
    __syncthreads();
    float t = -STEER_INF;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) t = fmaxf(t, red[w]);
    return t;
}

/// Rows table[tokens[i]] (· scale) into row row0 + i of x (d columns). One block per token.
extern "C" __global__ void embed(const int* tokens, const void* table, int dtype, int d, float scale, int scaled,
                                 float* x, int row0) {
    const i64 t = tokens[blockIdx.x];
    float* out = x + (i64)(row0 + blockIdx.x) * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        float v = load_any(table, t * d + c, dtype);
        out[c] = scaled ? v * scale : v;
    }
}

/// RMSNorm of group blockIdx.y of row row0 + blockIdx.x: x / sqrt(mean(x²) + eps) · (offset + w). out may be x.
extern "C" __global__ void rms_norm(const float* x, int xs, int xcol, int row0, int width, const float* w, float offset,
                                    float eps, float* out, int os, int ocol) {
    __shared__ float red[32];
    const i64 r = row0 + blockIdx.x;
    const float* xr = x + r * xs + xcol + (i64)blockIdx.y * width;
    float* o = out + r * os + ocol + (i64)blockIdx.y * width;
    float ss = 0.0f;
    for (int c = threadIdx.x; c < width; c += blockDim.x) ss += xr[c] * xr[c];
    const float inv = 1.0f / sqrtf(block_sum(ss, red) / (float)width + eps);
    for (int c = threadIdx.x; c < width; c += blockDim.x) o[c] = (xr[c] * inv) * (w[c] + offset);
}

/// rows × k columns of x (from xcol) as contiguous 16-bit values (bf16 != 0: BF16, else F16), the B operand
/// of a 16-bit matrix product.
extern "C" __global__ void to_half(const float* x, int xs, int xcol, int row0, int rows, int k, u16* out, int bf16) {
    const i64 n = (i64)rows * k;
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) {
        const float v = x[(row0 + i / k) * (i64)xs + xcol + i % k];
        out[i] = bf16 ? f32_to_bf16(v) : f32_to_f16(v);
    }
}

/// n 16-bit values widened to Float32 (bf16 != 0: BF16, else F16): a 16-bit weight used in Float32 products.
extern "C" __global__ void widen(const u16* in, float* out, i64 n, int bf16) {
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
        out[i] = bf16 ? bf16_to_f32(in[i]) : f16_to_f32(in[i]);
}

/// x[row, col ..< col + n] += b. One block per row.
extern "C" __global__ void add_bias(const float* b, int n, float* x, int xs, int col, int row0) {
    float* xr = x + (i64)(row0 + blockIdx.x) * xs + col;
    for (int c = threadIdx.x; c < n; c += blockDim.x) xr[c] += b[c];
}

/// Rotate-half RoPE of `heads` heads (headDim wide, from col) of row row0 + blockIdx.x with table row
/// trow0 + blockIdx.x; inverse != 0 rotates by −θ (the gradient).
extern "C" __global__ void rope(float* x, int xs, int col, int row0, int heads, int headDim, int half, const float* cs,
                                const float* sn, int trow0, int inverse) {
    float* xr = x + (i64)(row0 + blockIdx.x) * xs + col;
    const float* c = cs + (i64)(trow0 + blockIdx.x) * half;
    const float* s = sn + (i64)(trow0 + blockIdx.x) * half;
    for (int e = threadIdx.x; e < heads * half; e += blockDim.x) {
        float* v = xr + (e / half) * headDim;
        const int i = e % half;
        const float x1 = v[i], x2 = v[i + half], si = inverse ? -s[i] : s[i];
        v[i] = x1 * c[i] - x2 * si;
        v[i + half] = x2 * c[i] + x1 * si;
    }
}

/// Keys and values of row row0 + blockIdx.x into slot slots[blockIdx.x] of one layer.
extern "C" __global__ void store_kv(const float* x, int xs, int row0, int kcol, int vcol, const int* slots, int kvDim,
                                    float* keys, float* values) {
    const float* xr = x + (i64)(row0 + blockIdx.x) * xs;
    const i64 s = (i64)slots[blockIdx.x] * kvDim;
    for (int c = threadIdx.x; c < kvDim; c += blockDim.x) { keys[s + c] = xr[kcol + c]; values[s + c] = xr[vcol + c]; }
}

/// out[r, i] = act(gate) · up of a fused [gate | up] row (gelu != 0: GELU-tanh, else SiLU).
extern "C" __global__ void gated(const float* x, int xs, int row0, int width, int gelu, float* out, int os) {
    const i64 r = row0 + blockIdx.x;
    const float* g = x + r * xs;
    float* o = out + r * os;
    for (int i = threadIdx.x; i < width; i += blockDim.x) {
        const float gi = g[i], u = g[i + width];
        if (gelu) {
            const float y = 0.7978845608028654f * (gi + 0.044715f * gi * gi * gi);
            o[i] = gi / (1.0f + expf(-2.0f * y)) * u;
        } else {
            o[i] = gi / (1.0f + expf(-gi)) * u;
        }
    }
}

/// Elementwise over n floats from start: op 0: y += x; 1: y ← cap·tanh(y/cap) (a = cap); 2: y ← y · a.
extern "C" __global__ void elementwise(const float* x, float* y, i64 start, i64 n, int op, float a) {
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) {
        const i64 j = start + i;
        if (op == 0) y[j] += x[j];
        else if (op == 1) y[j] = tanhf(y[j] * (1.0f / a)) * a;
        else y[j] = y[j] * a;
    }
}

/// Row rows[blockIdx.x] of src (sc columns) to row row0 + blockIdx.x of dst.
extern "C" __global__ void gather(const float* src, int sc, const int* rows, float* dst, int dc, int row0) {
    const float* s = src + (i64)rows[blockIdx.x] * sc;
    float* d = dst + (i64)(row0 + blockIdx.x) * dc;
    for (int c = threadIdx.x; c < sc; c += blockDim.x) d[c] = s[c];
}

/// x ← x − strength·(x·u) u on a row set.
extern "C" __global__ void project_out(float* x, int d, const int* list, int start, const float* u, float strength) {
    __shared__ float red[32];
    float* xr = x + (i64)pick_row(list, start) * d;
    float p = 0.0f;
    for (int c = threadIdx.x; c < d; c += blockDim.x) p += xr[c] * u[c];
    const float a = -strength * block_sum(p, red);
    for (int c = threadIdx.x; c < d; c += blockDim.x) xr[c] += a * u[c];
}

/// x ← x + scale·v on a row set (x + v exactly when scale is 1).
extern "C" __global__ void add_vector(const float* v, float scale, float* x, int d, const int* list, int start) {
    float* xr = x + (i64)pick_row(list, start) * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) xr[c] += scale == 1.0f ? v[c] : scale * v[c];
}

/// x ← x − Σⱼ coefⱼ·leftⱼ with coefⱼ = (x − bias)·rightⱼ, every coefficient computed before the row changes.
/// Dynamic shared memory: k floats.
extern "C" __global__ void erase(float* x, int d, const int* list, int start, const float* left, const float* right,
                                 const float* bias, int k) {
    __shared__ float red[32];
    extern __shared__ float coef[];
    float* xr = x + (i64)pick_row(list, start) * d;
    for (int j = 0; j < k; j++) {
        float p = 0.0f;
        for (int c = threadIdx.x; c < d; c += blockDim.x) p += (xr[c] - bias[c]) * right[(i64)j * d + c];
        const float t = block_sum(p, red);
        if (threadIdx.x == 0) coef[j] = t;
    }
    __syncthreads();
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        float v = xr[c];
        for (int j = 0; j < k; j++) v += -coef[j] * left[(i64)j * d + c];
        xr[c] = v;
    }
}

/// acc[targets[i]] += x[rows[i]] in Float64 (atomics: targets may repeat).
extern "C" __global__ void accumulate(const float* x, int d, const int* rows, const int* targets, double* acc, int accCols) {
    const float* xr = x + (i64)rows[blockIdx.x] * d;
    double* a = acc + (i64)targets[blockIdx.x] * accCols;
    for (int c = threadIdx.x; c < d; c += blockDim.x) atomicAdd(a + c, (double)xr[c]);
}
"""#
}
