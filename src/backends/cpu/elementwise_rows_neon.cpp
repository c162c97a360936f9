// NEON elementwise kernels (see elementwise_rows.h): silu through the vector exp, the RMS of a row
// summed in double precision, and rows converted to half precision by the instruction (round to
// nearest even). Tails go through the same vector code on a padded copy.
#include "backends/cpu/elementwise_rows.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include <cmath>

#include "backends/cpu/simd_math_neon.h"

namespace uma::cpu::detail {
namespace {

inline float32x4_t swiglu4(float32x4_t g, float32x4_t u) {
    const float32x4_t e = exp4(vnegq_f32(g));
    return vdivq_f32(vmulq_f32(g, u), vaddq_f32(vdupq_n_f32(1.0f), e));
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(out + i, swiglu4(vld1q_f32(gate + i), vld1q_f32(up + i)));
    if (i < n) {
        float g[4] = {0, 0, 0, 0}, u[4] = {0, 0, 0, 0}, o[4];
        for (int64_t r = i; r < n; ++r) g[r - i] = gate[r], u[r - i] = up[r];
        vst1q_f32(o, swiglu4(vld1q_f32(g), vld1q_f32(u)));
        for (int64_t r = i; r < n; ++r) out[r] = o[r - i];
    }
}

void rms_norm(const float* x, const float* weight, int64_t dim, float eps, float* out) {
    float64x2_t acc[2] = {vdupq_n_f64(0), vdupq_n_f64(0)};
    int64_t i = 0;
    for (; i + 4 <= dim; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
        acc[0] = vfmaq_f64(acc[0], lo, lo);
        acc[1] = vfmaq_f64(acc[1], hi, hi);
    }
    double sum = vaddvq_f64(vaddq_f64(acc[0], acc[1]));
    for (; i < dim; ++i) sum += double(x[i]) * x[i];
    const float inv = 1.0f / std::sqrt(float(sum / double(dim)) + eps);
    for (i = 0; i + 4 <= dim; i += 4) {
        float32x4_t v = vmulq_n_f32(vld1q_f32(x + i), inv);
        if (weight) v = vmulq_f32(v, vld1q_f32(weight + i));
        vst1q_f32(out + i, v);
    }
    for (; i < dim; ++i) out[i] = weight ? x[i] * inv * weight[i] : x[i] * inv;
}

void to_f16(const float* x, int64_t n, uint16_t* out) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1_u16(out + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    if (i < n) {
        float in[4] = {0, 0, 0, 0};
        uint16_t half[4];
        for (int64_t r = i; r < n; ++r) in[r - i] = x[r];
        vst1_u16(half, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(in))));
        for (int64_t r = i; r < n; ++r) out[r] = half[r - i];
    }
}

constexpr ElementwiseKernels kNeon{swiglu, rms_norm, to_f16};

}  // namespace

const ElementwiseKernels* elementwise_kernels_neon() {
    return &kNeon;
}

}  // namespace uma::cpu::detail

#else  // not AArch64

namespace uma::cpu::detail {
const ElementwiseKernels* elementwise_kernels_neon() {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
