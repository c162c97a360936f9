#pragma once
#include <cstdint>

#include "uma/core/ggml_type.h"

// Quantization formats and the dot-product kernels that consume them, for the CPU backend.
// Every format has a plain scalar reference; SIMD variants (AVX2, AVX-512) sit beside it and are
// chosen once at run time from the CPU's features.
namespace uma::cpu {

// Decodes n elements (a multiple of the block size) exactly as the format defines.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);
// Encodes n floats (a multiple of the block size). Valid for every supported weight type and for
// the activation types Q8_0 and Q8_K.
void quantize_row(GgmlType type, const float* src, void* dst, int64_t n);

// The format activations are converted to before a dot product with a weight row of `weight_type`
// (F32 for float weights, Q8_0 for the legacy block formats, Q8_K for K-quants, ...).
GgmlType activation_type(GgmlType weight_type);

// out = dot(weight row, activation row) over n elements; the activation row is in
// activation_type(weight type).
using VecDotFn = void (*)(int64_t n, float* out, const void* weight_row, const void* activation_row);

// The fastest kernel this CPU supports, and the scalar reference it must agree with.
VecDotFn vec_dot_kernel(GgmlType weight_type);
VecDotFn vec_dot_reference(GgmlType weight_type);

// Names the instruction set the dispatcher picked ("avx512", "avx2", "scalar").
const char* simd_level_name();

}  // namespace uma::cpu
