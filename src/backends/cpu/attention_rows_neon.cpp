// NEON attention row kernels (see attention_rows.h). Scores: four cached keys at a time are
// converted to floats once and dotted with every query row, the four sums of a row folded into one
// vector by pairwise adds. Weighted sums: each key's row, converted once, is added into every
// head's output. Exponentials use exp4 (simd_math_neon.h). Head dimensions that are not a multiple
// of 4 go to the scalar kernels.
#include "backends/cpu/attention_rows.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include <algorithm>

#include "backends/cpu/simd_math_neon.h"

namespace uma::cpu::detail {
namespace {

constexpr int64_t kMaxDim = 256;  // the longest row converted on the stack

// Row j's first dim values as floats.
inline void load_row(const float* row, int64_t dim, float* out) {
    for (int64_t i = 0; i < dim; i += 4) vst1q_f32(out + i, vld1q_f32(row + i));
}
inline void load_row(const uint16_t* row, int64_t dim, float* out) {
    for (int64_t i = 0; i < dim; i += 4)
        vst1q_f32(out + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(row + i))));
}

template <class T>
void scores(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride, int heads,
            int64_t dim, float* out, int64_t out_stride) {
    if (dim % 4 != 0 || dim > kMaxDim)
        return scalar_row_kernels<T>().scores(keys, n, q, q_stride, heads, dim, out, out_stride);
    alignas(16) float k[4][kMaxDim];
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        for (int r = 0; r < 4; ++r) load_row(static_cast<const T*>(keys.row(j + r)), dim, k[r]);
        for (int h = 0; h < heads; ++h) {
            const float* qh = q + h * q_stride;
            float32x4_t a[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
            for (int64_t i = 0; i < dim; i += 4) {
                const float32x4_t x = vld1q_f32(qh + i);
                for (int r = 0; r < 4; ++r) a[r] = vfmaq_f32(a[r], vld1q_f32(k[r] + i), x);
            }
            vst1q_f32(out + h * out_stride + j,
                      vpaddq_f32(vpaddq_f32(a[0], a[1]), vpaddq_f32(a[2], a[3])));
        }
    }
    for (; j < n; ++j) {
        load_row(static_cast<const T*>(keys.row(j)), dim, k[0]);
        for (int h = 0; h < heads; ++h) {
            const float* qh = q + h * q_stride;
            float32x4_t a = vdupq_n_f32(0);
            for (int64_t i = 0; i < dim; i += 4)
                a = vfmaq_f32(a, vld1q_f32(k[0] + i), vld1q_f32(qh + i));
            out[h * out_stride + j] = vaddvq_f32(a);
        }
    }
}

float max(const float* x, int64_t n) {
    int64_t i = 0;
    float m = x[0];
    if (n >= 4) {
        float32x4_t v = vld1q_f32(x);
        for (i = 4; i + 4 <= n; i += 4) v = vmaxq_f32(v, vld1q_f32(x + i));
        m = vmaxvq_f32(v);
    }
    for (; i < n; ++i) m = std::max(m, x[i]);
    return m;
}

float exp_sum(float* x, int64_t n, float max) {
    const float32x4_t shift = vdupq_n_f32(max);
    float32x4_t sum = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t e = exp4(vsubq_f32(vld1q_f32(x + i), shift));
        vst1q_f32(x + i, e);
        sum = vaddq_f32(sum, e);
    }
    float total = vaddvq_f32(sum);
    if (i < n) {
        float rest[4] = {0, 0, 0, 0};
        for (int64_t r = i; r < n; ++r) rest[r - i] = x[r] - max;
        const float32x4_t e = exp4(vld1q_f32(rest));
        vst1q_f32(rest, e);
        for (int64_t r = i; r < n; ++r) total += x[r] = rest[r - i];
    }
    return total;
}

template <class T>
void weighted_sum(const CacheRows& values, int64_t n, const float* weights, int64_t weight_stride,
                  int heads, int64_t dim, float* out, int64_t out_stride) {
    if (dim % 4 != 0 || dim > kMaxDim)
        return scalar_row_kernels<T>().weighted_sum(values, n, weights, weight_stride, heads, dim,
                                                    out, out_stride);
    for (int h = 0; h < heads; ++h)
        std::fill(out + h * out_stride, out + h * out_stride + dim, 0.0f);
    alignas(16) float v[kMaxDim];
    for (int64_t j = 0; j < n; ++j) {
        load_row(static_cast<const T*>(values.row(j)), dim, v);
        for (int h = 0; h < heads; ++h) {
            const float w = weights[h * weight_stride + j];
            float* o = out + h * out_stride;
            for (int64_t i = 0; i < dim; i += 4)
                vst1q_f32(o + i, vfmaq_n_f32(vld1q_f32(o + i), vld1q_f32(v + i), w));
        }
    }
}

constexpr AttentionRowKernels kF32{scores<float>, max, exp_sum, weighted_sum<float>};
constexpr AttentionRowKernels kF16{scores<uint16_t>, max, exp_sum, weighted_sum<uint16_t>};

}  // namespace

const AttentionRowKernels* attention_row_kernels_neon(GgmlType cache_type) {
    return by_cache_type(cache_type, kF32, kF16);
}

}  // namespace uma::cpu::detail

#else  // not AArch64

namespace uma::cpu::detail {
const AttentionRowKernels* attention_row_kernels_neon(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
