// The kernels at 4 lanes for the compiler's default target (SSE2 on x86-64, NEON on arm64).
#include "Scalar.h"
#define LANES 4
#define NATIVE_F16 0
#define NAME(x) x##_baseline
#include "KernelTemplate.h"
#include "AttentionTemplate.h"
#include "ProductTemplate.h"
#undef ALWAYS
