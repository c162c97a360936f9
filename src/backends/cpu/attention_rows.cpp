// Scalar attention row kernels (the reference, and what runs without AVX2) and the choice by SIMD
// level.
#include "backends/cpu/attention_rows.h"

#include <algorithm>
#include <cmath>

#include "uma/core/fp16.h"

namespace uma::cpu::detail {
namespace {

inline float element(const float* row, int64_t i) {
    return row[i];
}
inline float element(const uint16_t* row, int64_t i) {
    return fp16_to_fp32(row[i]);
}

template <class T>
void scores(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride, int heads,
            int64_t dim, float* out, int64_t out_stride) {
    for (int64_t j = 0; j < n; ++j) {
        const auto* row = static_cast<const T*>(keys.row(j));
        for (int h = 0; h < heads; ++h) {
            float sum = 0;
            for (int64_t i = 0; i < dim; ++i) sum += element(row, i) * q[h * q_stride + i];
            out[h * out_stride + j] = sum;
        }
    }
}

float max(const float* x, int64_t n) {
    float m = x[0];
    for (int64_t i = 1; i < n; ++i) m = std::max(m, x[i]);
    return m;
}

float exp_sum(float* x, int64_t n, float max) {
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i] = std::exp(x[i] - max);
    return sum;
}

template <class T>
void weighted_sum(const CacheRows& values, int64_t n, const float* weights, int64_t weight_stride,
                  int heads, int64_t dim, float* out, int64_t out_stride) {
    for (int h = 0; h < heads; ++h)
        for (int64_t i = 0; i < dim; ++i) out[h * out_stride + i] = 0.0f;
    for (int64_t j = 0; j < n; ++j) {
        const auto* row = static_cast<const T*>(values.row(j));
        for (int h = 0; h < heads; ++h) {
            const float w = weights[h * weight_stride + j];
            for (int64_t i = 0; i < dim; ++i) out[h * out_stride + i] += w * element(row, i);
        }
    }
}

constexpr AttentionRowKernels kF32{scores<float>, max, exp_sum, weighted_sum<float>};
constexpr AttentionRowKernels kF16{scores<uint16_t>, max, exp_sum, weighted_sum<uint16_t>};

}  // namespace

const AttentionRowKernels* attention_row_kernels(GgmlType cache_type, SimdLevel level) {
    if (runs_kernels_of(level, SimdLevel::neon))
        if (const AttentionRowKernels* k = attention_row_kernels_neon(cache_type)) return k;
    if (runs_kernels_of(level, SimdLevel::avx512))
        if (const AttentionRowKernels* k = attention_row_kernels_avx512(cache_type)) return k;
    if (runs_kernels_of(level, SimdLevel::avx2))
        if (const AttentionRowKernels* k = attention_row_kernels_avx2(cache_type)) return k;
    return by_cache_type(cache_type, kF32, kF16);
}

}  // namespace uma::cpu::detail
