// Host emulation of the CUDA C subset Steer's kernels use (see scripts/cuda-emulator.sh): one std::thread per CUDA
// thread of a block, blocks one after another, __shared__ as function statics (shared by the block's
// threads, reused by the next block), __syncthreads as a barrier, warp shuffles through a block buffer.
#pragma once
#include <math.h>
#include <string.h>
#include <algorithm>
#include <atomic>
#include <cstdint>

struct emu_dim3 { unsigned x, y, z; };
extern thread_local emu_dim3 threadIdx, blockIdx;
extern emu_dim3 blockDim, gridDim;
void emu_sync();
float emu_shfl_xor(float v, int offset);
void *emu_dynamic_shared();

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __syncthreads() emu_sync()
#define __shfl_xor_sync(mask, v, o) emu_shfl_xor((v), (o))

inline float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
inline float __int_as_float(int u) { float f; memcpy(&f, &u, 4); return f; }
inline float emu_f16_to_f32(unsigned short h) { _Float16 x; memcpy(&x, &h, 2); return (float)x; }
inline unsigned short emu_f32_to_f16(float f) { _Float16 x = (_Float16)f; unsigned short h; memcpy(&h, &x, 2); return h; }
using std::min;
inline float atomicAdd(float *p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline double atomicAdd(double *p, double v) { return std::atomic_ref<double>(*p).fetch_add(v); }

typedef void (*emu_launcher)(void **);
struct emu_kernel { const char *name; emu_launcher launch; };
