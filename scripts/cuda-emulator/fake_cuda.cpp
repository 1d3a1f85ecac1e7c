// A fake libcuda.so.1 for the emulator: the driver entry points Steer's shim resolves, on host memory,
// every call synchronous; cuLaunchKernel runs the kernel of kernels_gen.cpp on host threads.
#include "emu.h"
#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

thread_local emu_dim3 threadIdx, blockIdx;
emu_dim3 blockDim, gridDim;
static std::barrier<> *barrier_;
static float shuffle_[1024];
static std::vector<char> dynamic_;
extern "C" const emu_kernel emu_kernels[];

void emu_sync() { barrier_->arrive_and_wait(); }
float emu_shfl_xor(float v, int offset) {
    emu_sync();
    shuffle_[threadIdx.x] = v;
    emu_sync();
    float r = shuffle_[threadIdx.x ^ offset];
    emu_sync();
    return r;
}
void *emu_dynamic_shared() { return dynamic_.data(); }

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
static int dummy;

extern "C" {
CUresult cuInit(unsigned) { return 0; }
CUresult cuDriverGetVersion(int *v) { *v = 13020; return 0; }
CUresult cuDeviceGetCount(int *c) { *c = 1; return 0; }
CUresult cuDeviceGet(int *d, int) { *d = 0; return 0; }
CUresult cuDeviceGetName(char *n, int l, int) { snprintf(n, l, "Steer CUDA emulator (host threads)"); return 0; }
CUresult cuDeviceGetAttribute(int *v, int a, int) { *v = a == 75 ? 9 : 0; return 0; }
CUresult cuDevicePrimaryCtxRetain(void **c, int) { *c = &dummy; return 0; }
CUresult cuCtxSetCurrent(void *) { return 0; }
CUresult cuStreamCreate(void **s, unsigned) { *s = &dummy; return 0; }
CUresult cuStreamSynchronize(void *) { return 0; }
CUresult cuMemGetInfo_v2(size_t *f, size_t *t) { *f = *t = size_t(1) << 34; return 0; }
CUresult cuDeviceGetDefaultMemPool(void **p, int) { *p = &dummy; return 0; }
CUresult cuMemPoolSetAttribute(void *, int, void *) { return 0; }
CUresult cuMemAllocAsync(CUdeviceptr *p, size_t bytes, void *) {
    void *m = malloc(bytes);
    if (!m) return 2;  // CUDA_ERROR_OUT_OF_MEMORY
    memset(m, 0xFF, bytes);  // NaN everywhere: reading memory nothing wrote shows up
    *p = (CUdeviceptr)m;
    return 0;
}
CUresult cuMemFreeAsync(CUdeviceptr p, void *) { free((void *)p); return 0; }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, void *) { memcpy((void *)d, h, n); return 0; }
CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, void *) { memcpy(h, (void *)d, n); return 0; }
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void *) { memmove((void *)d, (void *)s, n); return 0; }
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void *) { memset((void *)d, v, n); return 0; }
CUresult cuModuleLoadData(void **m, const void *image) {
    if (memcmp(image, "\x7f" "ELF", 4) != 0) return 200;  // CUDA_ERROR_INVALID_IMAGE
    *m = &dummy;
    return 0;
}
CUresult cuModuleGetFunction(void **f, void *, const char *name) {
    for (const emu_kernel *k = emu_kernels; k->name; k++)
        if (strcmp(k->name, name) == 0) { *f = (void *)k; return 0; }
    return 500;  // CUDA_ERROR_NOT_FOUND
}
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void *, void **params, void **) {
    if (by != 1 || bz != 1 || gz != 1 || bx == 0 || bx > 1024 || bx % 32 != 0) return 1;  // CUDA_ERROR_INVALID_VALUE
    if (shared > 48 * 1024) return 1;
    const emu_kernel *k = (const emu_kernel *)f;
    blockDim = {bx, 1, 1};
    gridDim = {gx, gy, 1};
    dynamic_.assign(shared + 1, 0);
    std::barrier<> bar(bx);
    barrier_ = &bar;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < bx; t++)
        threads.emplace_back([=, &bar] {
            threadIdx = {t, 0, 0};
            for (unsigned y = 0; y < gy; y++)
                for (unsigned x = 0; x < gx; x++) {
                    blockIdx = {x, y, 0};
                    k->launch(params);
                    bar.arrive_and_wait();  // the block's shared statics are reused by the next block
                }
        });
    for (auto &th : threads) th.join();
    return 0;
}
// NVRTC opens libcuda.so.1 too and asks for the driver's private export tables: there are none here.
CUresult cuGetExportTable(const void **table, const void *) { *table = nullptr; return 500; }
CUresult cuGetErrorName(CUresult r, const char **s) { *s = r == 0 ? "CUDA_SUCCESS" : "CUDA_ERROR_EMULATED"; return 0; }
CUresult cuGetErrorString(CUresult, const char **s) { *s = "emulated driver error"; return 0; }
}
