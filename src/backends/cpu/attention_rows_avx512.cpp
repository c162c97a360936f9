// AVX512 attention row kernels (see attention_rows.h): 16 floats per vector, F16 rows converted
// with F16C on the fly. Rows whose length is not a multiple of 16 finish in scalar code.
#include "backends/cpu/attention_rows.h"

#if defined(__x86_64__)
#if !defined(__clang__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*() values that its own -Wuninitialized
// flags inside the header; the values are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "uma/core/fp16.h"

namespace uma::cpu::detail {
namespace {

constexpr int64_t kWidth = 16;

inline __m512 load(const float* p) {
    return _mm512_loadu_ps(p);
}
inline __m512 load(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
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
    const int64_t whole = dim / kWidth * kWidth;
    for (int h = 0; h < heads; ++h) {
        const float* qh = q + h * q_stride;
        __m512 v = _mm512_setzero_ps();
        for (int64_t i = 0; i < whole; i += kWidth)
            v = _mm512_fmadd_ps(load(r + i), load(qh + i), v);
        float sum = _mm512_reduce_add_ps(v);
        for (int64_t i = whole; i < dim; ++i) sum += element(r, i) * qh[i];
        scores[h] = sum;
    }
}

template <class T>
void accumulate_rows(const void* row, const float* weights, int heads, int64_t dim, float* out,
                     int64_t out_stride) {
    const auto* r = static_cast<const T*>(row);
    const int64_t whole = dim / kWidth * kWidth;
    for (int64_t i = 0; i < whole; i += kWidth) {
        const __m512 x = load(r + i);
        for (int h = 0; h < heads; ++h) {
            float* o = out + h * out_stride + i;
            _mm512_storeu_ps(o, _mm512_fmadd_ps(_mm512_set1_ps(weights[h]), x, load(o)));
        }
    }
    for (int h = 0; h < heads; ++h)
        for (int64_t i = whole; i < dim; ++i) out[h * out_stride + i] += weights[h] * element(r, i);
}

constexpr AttentionRowKernels kF32{dot_rows<float>, accumulate_rows<float>};
constexpr AttentionRowKernels kF16{dot_rows<uint16_t>, accumulate_rows<uint16_t>};

}  // namespace

const AttentionRowKernels* attention_row_kernels_avx512(GgmlType cache_type) {
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

#else  // not x86-64

namespace uma::cpu::detail {
const AttentionRowKernels* attention_row_kernels_avx512(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
