// Scalar conversions shared by every instruction-set build of the kernels (tails of rows).
#ifndef STEER_SCALAR_H
#define STEER_SCALAR_H

#include <stdint.h>
#include <string.h>
#include "CPUKernels.h"

static inline float steer_bits_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t steer_float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/// Element k of a row of `dtype`, as Float32 (exact; the same integer method as the vector baseline).
static inline float steer_scalar(const void *w, long k, int dtype) {
    if (dtype == STEER_F32) return ((const float *)w)[k];
    uint32_t h = ((const uint16_t *)w)[k];
    if (dtype == STEER_BF16) return steer_bits_float(h << 16);
    uint32_t f = steer_float_bits(steer_bits_float((h & 0x7fff) << 13) * 0x1p112f);
    if ((h & 0x7c00) == 0x7c00) f |= 0x7f800000;
    return steer_bits_float(f | ((h & 0x8000) << 16));
}

#endif
