// Scalar attention row kernels (the reference) and the choice by SIMD level.
#include "backends/cpu/attention_rows.h"

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
void dot_rows(const void* row, const float* q, int64_t q_stride, int heads, int64_t dim,
              float* scores) {
    const auto* r = static_cast<const T*>(row);
    for (int h = 0; h < heads; ++h) {
        float sum = 0;
        for (int64_t i = 0; i < dim; ++i) sum += element(r, i) * q[h * q_stride + i];
        scores[h] = sum;
    }
}

template <class T>
void accumulate_rows(const void* row, const float* weights, int heads, int64_t dim, float* out,
                     int64_t out_stride) {
    const auto* r = static_cast<const T*>(row);
    for (int h = 0; h < heads; ++h)
        for (int64_t i = 0; i < dim; ++i) out[h * out_stride + i] += weights[h] * element(r, i);
}

constexpr AttentionRowKernels kF32{dot_rows<float>, accumulate_rows<float>};
constexpr AttentionRowKernels kF16{dot_rows<uint16_t>, accumulate_rows<uint16_t>};

}  // namespace

const AttentionRowKernels* attention_row_kernels(GgmlType cache_type, SimdLevel level) {
    if (level >= SimdLevel::avx512)
        if (const AttentionRowKernels* k = attention_row_kernels_avx512(cache_type)) return k;
    if (level >= SimdLevel::avx2)
        if (const AttentionRowKernels* k = attention_row_kernels_avx2(cache_type)) return k;
    switch (cache_type) {
        case GgmlType::F32:
            return &kF32;
        case GgmlType::F16:
            return &kF16;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail
