#pragma once
// Vector math shared by the NEON kernels; include only from *_neon.cpp files on AArch64.
#include <arm_neon.h>

namespace uma::cpu::detail {

// e^x as 2^n e^y, y = x - n ln 2 with |y| <= ln(2)/2, e^y a degree-6 polynomial (relative error
// about 1e-7), as exp512. Inputs below -100 give e^-100 (about 4e-44), large ones infinity. 2^n is
// applied in two halves so that results below the smallest normal float come out subnormal.
inline float32x4_t exp4(float32x4_t x) {
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-100.0f)), vdupq_n_f32(100.0f));
    const float32x4_t t = vmulq_n_f32(x, 1.44269504088896341f);  // x log2(e)
    const float32x4_t n = vrndnq_f32(t);
    const float32x4_t y = vmulq_n_f32(vsubq_f32(t, n), 0.693147180559945309f);
    float32x4_t p = vdupq_n_f32(1.0f / 720);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, y);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, y);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, y);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, y);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, y);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, y);
    const int32x4_t e = vcvtq_s32_f32(n);  // -145 .. 145
    const int32x4_t half = vshrq_n_s32(e, 1);
    const auto power_of_two = [](int32x4_t k) {  // 2^k for -127 < k < 128
        return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(k, vdupq_n_s32(127)), 23));
    };
    return vmulq_f32(vmulq_f32(p, power_of_two(half)), power_of_two(vsubq_s32(e, half)));
}

}  // namespace uma::cpu::detail
