// The kernels at 8 lanes with AVX2, FMA and F16C.
#if defined(__x86_64__)
#include "Scalar.h"
#define LANES 8
#define NATIVE_F16 1
#define NAME(x) x##_avx2
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#include "KernelTemplate.h"
#include "AttentionTemplate.h"
#include "ProductTemplate.h"
#undef ALWAYS
#pragma clang attribute pop
#endif
