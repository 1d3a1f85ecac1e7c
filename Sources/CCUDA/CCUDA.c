// dlopen/dlsym of the CUDA driver, cuBLASLt and NVRTC (see include/CCUDA.h). Each library's entry points
// are listed once (X-macros): the list declares the pointer, resolves it by its exported name (the
// versioned `_v2` names that cuda.h's #defines select) and forwards the call.
#define _GNU_SOURCE
#include "CCUDA.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define DRIVER_SYMBOLS(X) \
    X(cuInit, "cuInit", CUresult, (unsigned int)) \
    X(cuDriverGetVersion, "cuDriverGetVersion", CUresult, (int *)) \
    X(cuDeviceGetCount, "cuDeviceGetCount", CUresult, (int *)) \
    X(cuDeviceGet, "cuDeviceGet", CUresult, (CUdevice *, int)) \
    X(cuDeviceGetName, "cuDeviceGetName", CUresult, (char *, int, CUdevice)) \
    X(cuDeviceGetAttribute, "cuDeviceGetAttribute", CUresult, (int *, int, CUdevice)) \
    X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", CUresult, (CUcontext *, CUdevice)) \
    X(cuCtxSetCurrent, "cuCtxSetCurrent", CUresult, (CUcontext)) \
    X(cuStreamCreate, "cuStreamCreate", CUresult, (CUstream *, unsigned int)) \
    X(cuStreamSynchronize, "cuStreamSynchronize", CUresult, (CUstream)) \
    X(cuMemGetInfo, "cuMemGetInfo_v2", CUresult, (size_t *, size_t *)) \
    X(cuDeviceGetDefaultMemPool, "cuDeviceGetDefaultMemPool", CUresult, (CUmemoryPool *, CUdevice)) \
    X(cuMemPoolSetAttribute, "cuMemPoolSetAttribute", CUresult, (CUmemoryPool, int, void *)) \
    X(cuMemAllocAsync, "cuMemAllocAsync", CUresult, (CUdeviceptr *, size_t, CUstream)) \
    X(cuMemFreeAsync, "cuMemFreeAsync", CUresult, (CUdeviceptr, CUstream)) \
    X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", CUresult, (CUdeviceptr, const void *, size_t, CUstream)) \
    X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", CUresult, (void *, CUdeviceptr, size_t, CUstream)) \
    X(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", CUresult, (CUdeviceptr, CUdeviceptr, size_t, CUstream)) \
    X(cuMemsetD8Async, "cuMemsetD8Async", CUresult, (CUdeviceptr, unsigned char, size_t, CUstream)) \
    X(cuModuleLoadData, "cuModuleLoadData", CUresult, (CUmodule *, const void *)) \
    X(cuModuleGetFunction, "cuModuleGetFunction", CUresult, (CUfunction *, CUmodule, const char *)) \
    X(cuLaunchKernel, "cuLaunchKernel", CUresult, (CUfunction, unsigned int, unsigned int, unsigned int, \
      unsigned int, unsigned int, unsigned int, unsigned int, CUstream, void **, void **)) \
    X(cuGetErrorName, "cuGetErrorName", CUresult, (CUresult, const char **)) \
    X(cuGetErrorString, "cuGetErrorString", CUresult, (CUresult, const char **))

#define CUBLASLT_SYMBOLS(X) \
    X(cublasLtCreate, "cublasLtCreate", cublasStatus_t, (cublasLtHandle_t *)) \
    X(cublasLtMatmulDescCreate, "cublasLtMatmulDescCreate", cublasStatus_t, (cublasLtMatmulDesc_t *, int, int)) \
    X(cublasLtMatmulDescSetAttribute, "cublasLtMatmulDescSetAttribute", cublasStatus_t, \
      (cublasLtMatmulDesc_t, int, const void *, size_t)) \
    X(cublasLtMatmulDescDestroy, "cublasLtMatmulDescDestroy", cublasStatus_t, (cublasLtMatmulDesc_t)) \
    X(cublasLtMatrixLayoutCreate, "cublasLtMatrixLayoutCreate", cublasStatus_t, \
      (cublasLtMatrixLayout_t *, int, uint64_t, uint64_t, int64_t)) \
    X(cublasLtMatrixLayoutDestroy, "cublasLtMatrixLayoutDestroy", cublasStatus_t, (cublasLtMatrixLayout_t)) \
    X(cublasLtMatmulPreferenceCreate, "cublasLtMatmulPreferenceCreate", cublasStatus_t, (cublasLtMatmulPreference_t *)) \
    X(cublasLtMatmulPreferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute", cublasStatus_t, \
      (cublasLtMatmulPreference_t, int, const void *, size_t)) \
    X(cublasLtMatmulPreferenceDestroy, "cublasLtMatmulPreferenceDestroy", cublasStatus_t, (cublasLtMatmulPreference_t)) \
    X(cublasLtMatmulAlgoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic", cublasStatus_t, \
      (cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, \
       cublasLtMatrixLayout_t, cublasLtMatmulPreference_t, int, cublasLtMatmulHeuristicResult_t *, int *)) \
    X(cublasLtMatmul, "cublasLtMatmul", cublasStatus_t, \
      (cublasLtHandle_t, cublasLtMatmulDesc_t, const void *, const void *, cublasLtMatrixLayout_t, const void *, \
       cublasLtMatrixLayout_t, const void *, const void *, cublasLtMatrixLayout_t, void *, cublasLtMatrixLayout_t, \
       const cublasLtMatmulAlgo_t *, void *, size_t, CUstream))

#define NVRTC_SYMBOLS(X) \
    X(nvrtcVersion, "nvrtcVersion", nvrtcResult, (int *, int *)) \
    X(nvrtcCreateProgram, "nvrtcCreateProgram", nvrtcResult, \
      (nvrtcProgram *, const char *, const char *, int, const char *const *, const char *const *)) \
    X(nvrtcCompileProgram, "nvrtcCompileProgram", nvrtcResult, (nvrtcProgram, int, const char *const *)) \
    X(nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize", nvrtcResult, (nvrtcProgram, size_t *)) \
    X(nvrtcGetProgramLog, "nvrtcGetProgramLog", nvrtcResult, (nvrtcProgram, char *)) \
    X(nvrtcGetCUBINSize, "nvrtcGetCUBINSize", nvrtcResult, (nvrtcProgram, size_t *)) \
    X(nvrtcGetCUBIN, "nvrtcGetCUBIN", nvrtcResult, (nvrtcProgram, char *)) \
    X(nvrtcDestroyProgram, "nvrtcDestroyProgram", nvrtcResult, (nvrtcProgram *)) \
    X(nvrtcGetErrorString, "nvrtcGetErrorString", const char *, (nvrtcResult))

#define DECLARE(name, symbol, ret, args) static ret (*p_##name) args;
DRIVER_SYMBOLS(DECLARE)
CUBLASLT_SYMBOLS(DECLARE)
NVRTC_SYMBOLS(DECLARE)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *driver, *cublaslt, *nvrtc;

/// dlopen of the first name that opens (in `directory` first when given); the last dlerror otherwise.
static void *open_first(const char *directory, const char *const *names, char *message, size_t length,
                        const char *missing) {
    char path[4096], errors[1024] = "";
    for (int pass = directory ? 0 : 1; pass < 2; pass++) {
        for (const char *const *n = names; *n; n++) {
            if (pass == 0) snprintf(path, sizeof path, "%s/%s", directory, *n);
            else snprintf(path, sizeof path, "%s", *n);
            void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (h) return h;
            const char *e = dlerror();
            if (errors[0] == 0 && e) snprintf(errors, sizeof errors, "%s", e);
        }
    }
    // dlerror usually starts with the file name already ("libcuda.so.1: cannot open shared object file: …").
    if (errors[0] && strncmp(errors, names[0], strlen(names[0])) == 0) snprintf(message, length, "%s (%s)", missing, errors);
    else snprintf(message, length, "%s (%s: %s)", missing, names[0], errors[0] ? errors : "not found");
    return NULL;
}

#define RESOLVE(name, symbol, ret, args) \
    if (ok) { \
        *(void **)(&p_##name) = dlsym(handle, symbol); \
        if (!p_##name) { \
            const char *e = dlerror(); \
            snprintf(message, length, "%s has no symbol %s (%s)", library, symbol, e ? e : "dlsym failed"); \
            ok = 0; \
        } \
    }
#define RESOLVER(function, list) \
    static int function(void *handle, const char *library, char *message, size_t length) { \
        int ok = 1; \
        list(RESOLVE) \
        return ok; \
    }
RESOLVER(resolve_driver, DRIVER_SYMBOLS)
RESOLVER(resolve_cublaslt, CUBLASLT_SYMBOLS)
RESOLVER(resolve_nvrtc, NVRTC_SYMBOLS)

/// Opens a library once (the first of `names` that opens) and resolves its entry points; 0 or -1 with a message.
static int open_once(void **slot, const char *directory, const char *const *names, const char *missing,
                     int (*resolve)(void *, const char *, char *, size_t), char *message, size_t length) {
    pthread_mutex_lock(&lock);
    int ok = *slot != NULL;
    if (!ok) {
        void *handle = open_first(directory, names, message, length, missing);
        ok = handle != NULL && resolve(handle, names[0], message, length);
        if (ok) *slot = handle; else if (handle) dlclose(handle);
    }
    pthread_mutex_unlock(&lock);
    return ok ? 0 : -1;
}

int steer_cuda_open_driver(char *message, size_t length) {
    static const char *const names[] = {"libcuda.so.1", "libcuda.so", NULL};
    return open_once(&driver, NULL, names, "no CUDA driver found", resolve_driver, message, length);
}

int steer_cuda_open_cublaslt(const char *directory, char *message, size_t length) {
    static const char *const names[] = {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11", "libcublasLt.so", NULL};
    return open_once(&cublaslt, directory, names, "no cuBLASLt library found", resolve_cublaslt, message, length);
}

int steer_cuda_open_nvrtc(const char *directory, char *message, size_t length) {
    static const char *const names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so", NULL};
    return open_once(&nvrtc, directory, names, "no NVRTC library found", resolve_nvrtc, message, length);
}

// ---- forwarding calls -------------------------------------------------------------------------------

CUresult steer_cuInit(unsigned int f) { return p_cuInit(f); }
CUresult steer_cuDriverGetVersion(int *v) { return p_cuDriverGetVersion(v); }
CUresult steer_cuDeviceGetCount(int *c) { return p_cuDeviceGetCount(c); }
CUresult steer_cuDeviceGet(CUdevice *d, int o) { return p_cuDeviceGet(d, o); }
CUresult steer_cuDeviceGetName(char *n, int l, CUdevice d) { return p_cuDeviceGetName(n, l, d); }
CUresult steer_cuDeviceGetAttribute(int *v, int a, CUdevice d) { return p_cuDeviceGetAttribute(v, a, d); }
CUresult steer_cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) { return p_cuDevicePrimaryCtxRetain(c, d); }
CUresult steer_cuCtxSetCurrent(CUcontext c) { return p_cuCtxSetCurrent(c); }
CUresult steer_cuStreamCreate(CUstream *s, unsigned int f) { return p_cuStreamCreate(s, f); }
CUresult steer_cuStreamSynchronize(CUstream s) { return p_cuStreamSynchronize(s); }
CUresult steer_cuMemGetInfo(size_t *f, size_t *t) { return p_cuMemGetInfo(f, t); }
CUresult steer_cuDeviceGetDefaultMemPool(CUmemoryPool *p, CUdevice d) { return p_cuDeviceGetDefaultMemPool(p, d); }
CUresult steer_cuMemPoolSetAttribute(CUmemoryPool p, int a, void *v) { return p_cuMemPoolSetAttribute(p, a, v); }
CUresult steer_cuMemAllocAsync(CUdeviceptr *p, size_t b, CUstream s) { return p_cuMemAllocAsync(p, b, s); }
CUresult steer_cuMemFreeAsync(CUdeviceptr p, CUstream s) { return p_cuMemFreeAsync(p, s); }
CUresult steer_cuMemcpyHtoDAsync(CUdeviceptr d, const void *h, size_t b, CUstream s) { return p_cuMemcpyHtoDAsync(d, h, b, s); }
CUresult steer_cuMemcpyDtoHAsync(void *h, CUdeviceptr d, size_t b, CUstream s) { return p_cuMemcpyDtoHAsync(h, d, b, s); }
CUresult steer_cuMemcpyDtoDAsync(CUdeviceptr d, CUdeviceptr x, size_t b, CUstream s) { return p_cuMemcpyDtoDAsync(d, x, b, s); }
CUresult steer_cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s) { return p_cuMemsetD8Async(d, v, n, s); }
CUresult steer_cuModuleLoadData(CUmodule *m, const void *i) { return p_cuModuleLoadData(m, i); }
CUresult steer_cuModuleGetFunction(CUfunction *f, CUmodule m, const char *n) { return p_cuModuleGetFunction(f, m, n); }
CUresult steer_cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                              unsigned int by, unsigned int bz, unsigned int sh, CUstream s, void **p, void **e) {
    return p_cuLaunchKernel(f, gx, gy, gz, bx, by, bz, sh, s, p, e);
}

void steer_cuda_describe(CUresult result, char *message, size_t length) {
    const char *name = NULL, *text = NULL;
    if (p_cuGetErrorName) p_cuGetErrorName(result, &name);
    if (p_cuGetErrorString) p_cuGetErrorString(result, &text);
    if (name) snprintf(message, length, "%s: %s", name, text ? text : "");
    else snprintf(message, length, "CUresult %d", result);
}

cublasStatus_t steer_cublasLtCreate(cublasLtHandle_t *h) { return p_cublasLtCreate(h); }
cublasStatus_t steer_cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, int c, int s) { return p_cublasLtMatmulDescCreate(d, c, s); }
cublasStatus_t steer_cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, int a, const void *v, size_t n) {
    return p_cublasLtMatmulDescSetAttribute(d, a, v, n);
}
cublasStatus_t steer_cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) { return p_cublasLtMatmulDescDestroy(d); }
cublasStatus_t steer_cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, int t, uint64_t r, uint64_t c, int64_t ld) {
    return p_cublasLtMatrixLayoutCreate(l, t, r, c, ld);
}
cublasStatus_t steer_cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) { return p_cublasLtMatrixLayoutDestroy(l); }
cublasStatus_t steer_cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) { return p_cublasLtMatmulPreferenceCreate(p); }
cublasStatus_t steer_cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p, int a, const void *v, size_t n) {
    return p_cublasLtMatmulPreferenceSetAttribute(p, a, v, n);
}
cublasStatus_t steer_cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) { return p_cublasLtMatmulPreferenceDestroy(p); }
cublasStatus_t steer_cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a,
                                                    cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                                                    cublasLtMatrixLayout_t dl, cublasLtMatmulPreference_t p, int n,
                                                    cublasLtMatmulHeuristicResult_t *r, int *k) {
    return p_cublasLtMatmulAlgoGetHeuristic(h, d, a, b, c, dl, p, n, r, k);
}
cublasStatus_t steer_cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t d, const void *alpha, const void *a,
                                    cublasLtMatrixLayout_t al, const void *b, cublasLtMatrixLayout_t bl, const void *beta,
                                    const void *c, cublasLtMatrixLayout_t cl, void *dd, cublasLtMatrixLayout_t dl,
                                    const cublasLtMatmulAlgo_t *algo, void *w, size_t wb, CUstream s) {
    return p_cublasLtMatmul(h, d, alpha, a, al, b, bl, beta, c, cl, dd, dl, algo, w, wb, s);
}

nvrtcResult steer_nvrtcVersion(int *major, int *minor) { return p_nvrtcVersion(major, minor); }
nvrtcResult steer_nvrtcCreateProgram(nvrtcProgram *p, const char *s, const char *n) {
    return p_nvrtcCreateProgram(p, s, n, 0, NULL, NULL);
}
nvrtcResult steer_nvrtcCompileProgram(nvrtcProgram p, int n, const char *const *o) { return p_nvrtcCompileProgram(p, n, o); }
nvrtcResult steer_nvrtcGetProgramLogSize(nvrtcProgram p, size_t *s) { return p_nvrtcGetProgramLogSize(p, s); }
nvrtcResult steer_nvrtcGetProgramLog(nvrtcProgram p, char *l) { return p_nvrtcGetProgramLog(p, l); }
nvrtcResult steer_nvrtcGetCUBINSize(nvrtcProgram p, size_t *s) { return p_nvrtcGetCUBINSize(p, s); }
nvrtcResult steer_nvrtcGetCUBIN(nvrtcProgram p, char *c) { return p_nvrtcGetCUBIN(p, c); }
nvrtcResult steer_nvrtcDestroyProgram(nvrtcProgram *p) { return p_nvrtcDestroyProgram(p); }
const char *steer_nvrtcGetErrorString(nvrtcResult r) { return p_nvrtcGetErrorString(r); }
