#pragma once
// Dot-product kernels that take the activation row rearranged once per matrix product. A weight
// row is read once per token, but the activation row is shared by thousands of weight rows, so
// moving work from the per-row loop into a per-matrix preparation (regrouping quants to match the
// weight layout, converting scales to float, precomputing block sums) makes the inner loop short
// enough to keep up with memory.
#include <cstddef>
#include <cstdint>

#include "uma/backends/cpu/quant.h"
#include "uma/core/ggml_type.h"

namespace uma::cpu::detail {

struct PreparedKernel {
    int64_t group;  // row lengths must be a multiple of this many elements
    // Bytes of the prepared form of an activation row of n elements.
    size_t (*prepared_bytes)(int64_t n);
    // From a row in activation_type(weight type) to the prepared form.
    void (*prepare)(const void* activation_row, void* prepared, int64_t n);
    // Same result as vec_dot_reference(weight type) on the unprepared row (up to float rounding).
    void (*dot)(int64_t n, float* out, const void* weight_row, const void* prepared);
};

// The kernel for this weight type and row length at the active SIMD level; nullptr when there is
// none (the caller then uses vec_dot_kernel).
const PreparedKernel* prepared_kernel(GgmlType weight_type, int64_t n);
// The AVX-512 ones, whatever the active level (tests); nullptr where there is none.
const PreparedKernel* prepared_kernel_avx512(GgmlType weight_type);

}  // namespace uma::cpu::detail
