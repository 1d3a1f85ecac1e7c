// The few CUDA driver, cuBLASLt and NVRTC entry points Steer calls, declared here so that building Steer
// needs no CUDA toolkit: the libraries are opened with dlopen at run time (steer_cuda_open_*).
//
// Signatures, enum values and struct layouts are copied from the official headers of CUDA 13.2
// (cuda.h, CUDA_VERSION 13020; nvrtc.h 13.2.86; cublasLt.h / cublas_api.h of cuBLAS 13.4.1.3;
// library_types.h), as shipped in the PyPI wheels nvidia-cuda-runtime / nvidia-cuda-nvrtc / nvidia-cublas.
// The same declarations hold for CUDA 12.x (the driver entry points used here exist since CUDA 11.2,
// cuBLASLt's since 11.0, nvrtcGetCUBIN since 11.1).
#ifndef STEER_CCUDA_H
#define STEER_CCUDA_H

#include <stddef.h>
#include <stdint.h>

// ---- cuda.h -------------------------------------------------------------------------------------
typedef int CUresult;                        // enum cudaError_enum; CUDA_SUCCESS = 0
typedef int CUdevice;                        // CUdevice_v1
typedef unsigned long long CUdeviceptr;      // CUdeviceptr_v2 (64-bit hosts)
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUmemPoolHandle_st *CUmemoryPool;

enum {
    STEER_CUDA_SUCCESS = 0,
    STEER_CUDA_ERROR_NO_DEVICE = 100,
    STEER_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    STEER_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    STEER_CU_STREAM_NON_BLOCKING = 1,
    STEER_CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4,  // value type cuuint64_t
};

// ---- library_types.h / cublas_api.h / cublasLt.h --------------------------------------------------
typedef int cublasStatus_t;                  // CUBLAS_STATUS_SUCCESS = 0
typedef struct cublasLtContext *cublasLtHandle_t;
typedef struct { uint64_t data[32]; } cublasLtMatmulDescOpaque_t;
typedef cublasLtMatmulDescOpaque_t *cublasLtMatmulDesc_t;
typedef struct { uint64_t data[8]; } cublasLtMatrixLayoutOpaque_t;
typedef cublasLtMatrixLayoutOpaque_t *cublasLtMatrixLayout_t;
typedef struct { uint64_t data[8]; } cublasLtMatmulPreferenceOpaque_t;
typedef cublasLtMatmulPreferenceOpaque_t *cublasLtMatmulPreference_t;
typedef struct { uint64_t data[8]; } cublasLtMatmulAlgo_t;
typedef struct {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;

enum {
    STEER_CUDA_R_32F = 0,
    STEER_CUDA_R_16F = 2,
    STEER_CUDA_R_16BF = 14,
    STEER_CUBLAS_COMPUTE_32F = 68,
    STEER_CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
    STEER_CUBLAS_OP_N = 0,
    STEER_CUBLAS_OP_T = 1,
    STEER_CUBLASLT_MATMUL_DESC_TRANSA = 3,
    STEER_CUBLASLT_MATMUL_DESC_TRANSB = 4,
    STEER_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
    STEER_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,
    STEER_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
    STEER_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
    STEER_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8,
};

// ---- nvrtc.h --------------------------------------------------------------------------------------
typedef int nvrtcResult;                     // NVRTC_SUCCESS = 0
typedef struct _nvrtcProgram *nvrtcProgram;

// ---- loading --------------------------------------------------------------------------------------

/// Opens the CUDA driver (libcuda.so.1) and resolves every driver entry point below. Returns 0, or
/// -1 with a message naming the library or symbol (and dlerror) in `message`. Idempotent.
int steer_cuda_open_driver(char *message, size_t length);
/// Opens cuBLASLt (libcublasLt.so.13, .12, .11, then libcublasLt.so), first in `directory` when not NULL.
int steer_cuda_open_cublaslt(const char *directory, char *message, size_t length);
/// Opens NVRTC (libnvrtc.so.13, .12, .11, then libnvrtc.so), first in `directory` when not NULL.
int steer_cuda_open_nvrtc(const char *directory, char *message, size_t length);

// ---- calls (valid only after the matching steer_cuda_open_* returned 0) ----------------------------

CUresult steer_cuInit(unsigned int flags);
CUresult steer_cuDriverGetVersion(int *version);
CUresult steer_cuDeviceGetCount(int *count);
CUresult steer_cuDeviceGet(CUdevice *device, int ordinal);
CUresult steer_cuDeviceGetName(char *name, int length, CUdevice device);
CUresult steer_cuDeviceGetAttribute(int *value, int attribute, CUdevice device);
CUresult steer_cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice device);
CUresult steer_cuCtxSetCurrent(CUcontext context);
CUresult steer_cuStreamCreate(CUstream *stream, unsigned int flags);
CUresult steer_cuStreamSynchronize(CUstream stream);
CUresult steer_cuMemGetInfo(size_t *free, size_t *total);
CUresult steer_cuDeviceGetDefaultMemPool(CUmemoryPool *pool, CUdevice device);
CUresult steer_cuMemPoolSetAttribute(CUmemoryPool pool, int attribute, void *value);
CUresult steer_cuMemAllocAsync(CUdeviceptr *pointer, size_t bytes, CUstream stream);
CUresult steer_cuMemFreeAsync(CUdeviceptr pointer, CUstream stream);
CUresult steer_cuMemcpyHtoDAsync(CUdeviceptr destination, const void *source, size_t bytes, CUstream stream);
CUresult steer_cuMemcpyDtoHAsync(void *destination, CUdeviceptr source, size_t bytes, CUstream stream);
CUresult steer_cuMemcpyDtoDAsync(CUdeviceptr destination, CUdeviceptr source, size_t bytes, CUstream stream);
CUresult steer_cuMemsetD8Async(CUdeviceptr destination, unsigned char value, size_t count, CUstream stream);
CUresult steer_cuModuleLoadData(CUmodule *module, const void *image);
CUresult steer_cuModuleGetFunction(CUfunction *function, CUmodule module, const char *name);
CUresult steer_cuLaunchKernel(CUfunction function, unsigned int gridX, unsigned int gridY, unsigned int gridZ,
                              unsigned int blockX, unsigned int blockY, unsigned int blockZ, unsigned int sharedBytes,
                              CUstream stream, void **parameters, void **extra);
/// The error's name and description ("CUDA_ERROR_OUT_OF_MEMORY: out of memory"), or its number.
void steer_cuda_describe(CUresult result, char *message, size_t length);

cublasStatus_t steer_cublasLtCreate(cublasLtHandle_t *handle);
cublasStatus_t steer_cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *desc, int computeType, int scaleType);
cublasStatus_t steer_cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc, int attribute, const void *value, size_t size);
cublasStatus_t steer_cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc);
cublasStatus_t steer_cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *layout, int type, uint64_t rows, uint64_t cols,
                                                int64_t ld);
cublasStatus_t steer_cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout);
cublasStatus_t steer_cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *preference);
cublasStatus_t steer_cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t preference, int attribute,
                                                          const void *value, size_t size);
cublasStatus_t steer_cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t preference);
cublasStatus_t steer_cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                                    cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                                    cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                                    cublasLtMatmulPreference_t preference, int requested,
                                                    cublasLtMatmulHeuristicResult_t *results, int *returned);
cublasStatus_t steer_cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void *alpha,
                                    const void *a, cublasLtMatrixLayout_t aLayout, const void *b,
                                    cublasLtMatrixLayout_t bLayout, const void *beta, const void *c,
                                    cublasLtMatrixLayout_t cLayout, void *d, cublasLtMatrixLayout_t dLayout,
                                    const cublasLtMatmulAlgo_t *algo, void *workspace, size_t workspaceBytes,
                                    CUstream stream);

nvrtcResult steer_nvrtcVersion(int *major, int *minor);
nvrtcResult steer_nvrtcCreateProgram(nvrtcProgram *program, const char *source, const char *name);
nvrtcResult steer_nvrtcCompileProgram(nvrtcProgram program, int count, const char *const *options);
nvrtcResult steer_nvrtcGetProgramLogSize(nvrtcProgram program, size_t *size);
nvrtcResult steer_nvrtcGetProgramLog(nvrtcProgram program, char *log);
nvrtcResult steer_nvrtcGetCUBINSize(nvrtcProgram program, size_t *size);
nvrtcResult steer_nvrtcGetCUBIN(nvrtcProgram program, char *cubin);
nvrtcResult steer_nvrtcDestroyProgram(nvrtcProgram *program);
const char *steer_nvrtcGetErrorString(nvrtcResult result);

#endif
