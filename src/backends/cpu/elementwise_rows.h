#pragma once
// The elementwise steps between the matrix products, per row or run of elements. Decode runs them
// on one thread while the others wait, so they are vectorized like the products.
#include <cstdint>

#include "backends/cpu/quant_formats.h"

namespace uma::cpu::detail {

struct ElementwiseKernels {
    // out[i] = silu(gate[i]) * up[i] for i < n (out may be gate).
    void (*swiglu)(const float* gate, const float* up, int64_t n, float* out);
    // out = x / sqrt(mean(x^2) + eps) * weight (weight may be null: 1), the mean summed in double.
    void (*rms_norm)(const float* x, const float* weight, int64_t dim, float eps, float* out);
    // out[i] = x[i] as IEEE half, rounded to nearest even (the F16 KV cache's rows; NaNs stay
    // NaNs, their payloads as the instruction set leaves them).
    void (*to_f16)(const float* x, int64_t n, uint16_t* out);
};

// The fastest for the level.
const ElementwiseKernels& elementwise_kernels(SimdLevel level);
// Per instruction set, for the tests: the plain loops, AVX2, AVX-512 and NEON (nullptr where the
// build has none).
const ElementwiseKernels& elementwise_kernels_reference();
const ElementwiseKernels* elementwise_kernels_avx2();
const ElementwiseKernels* elementwise_kernels_avx512();
const ElementwiseKernels* elementwise_kernels_neon();

}  // namespace uma::cpu::detail
