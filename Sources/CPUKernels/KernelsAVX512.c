// The kernels at 16 lanes with AVX-512 (F, BW, VL), FMA and F16C.
#if defined(__x86_64__)
#include "Scalar.h"
#define LANES 16
#define NATIVE_F16 1
#define NAME(x) x##_avx512
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))), apply_to = function)
#include "KernelTemplate.h"
#include "AttentionTemplate.h"
#include "ProductTemplate.h"
#undef ALWAYS
#pragma clang attribute pop
#endif
