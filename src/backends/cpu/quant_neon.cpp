// NEON dot products of weight rows in their file layout (see quant_blocks.h) with an activation
// row, for the weights that stay in place on AArch64: F32, F16 and BF16 rows, the rows a tied
// embedding shares with the output head (Q8_0, Q4_0, Q4_K, Q6_K are the common ones), and rows a
// packed format does not take. Integer sums use the dot-product instruction (sdot) on 16 bytes at
// a time; the float scales apply per block as in the scalar kernels.
#include "backends/cpu/quant_formats.h"

#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#include <arm_neon.h>

#include "backends/cpu/quant_blocks.h"
#include "uma/core/fp16.h"

namespace uma::cpu::detail {
namespace {

using namespace blocks;

// ---- float rows with F32 activations ----

inline float32x4_t load_floats(const float* row, int64_t i) {
    return vld1q_f32(row + i);
}
inline float32x4_t load_floats(const uint16_t* row, int64_t i) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(row + i)));
}
struct Bf16 {
    uint16_t bits;
};
inline float32x4_t load_floats(const Bf16* row, int64_t i) {  // the top half of an fp32
    return vreinterpretq_f32_u32(
        vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(row + i)), 16));
}
inline float element(const float* row, int64_t i) {
    return row[i];
}
inline float element(const uint16_t* row, int64_t i) {
    return fp16_to_fp32(row[i]);
}
inline float element(const Bf16* row, int64_t i) {
    return bf16_to_fp32(row[i].bits);
}

// Four independent accumulators hide the multiply-add latency.
template <class T>
void vec_dot_float(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const T*>(weight);
    const auto* a = static_cast<const float*>(activation);
    float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 4; ++k)
            acc[k] = vfmaq_f32(acc[k], load_floats(w, i + 4 * k), vld1q_f32(a + i + 4 * k));
    for (; i + 4 <= n; i += 4) acc[0] = vfmaq_f32(acc[0], load_floats(w, i), vld1q_f32(a + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
    for (; i < n; ++i) sum += element(w, i) * a[i];
    *out = sum;
}

// ---- blocks of 32 with a Q8_0 activation row ----

// sum of w[i] a[i] over 32 signed bytes.
inline int32_t dot32(int8x16_t w_low, int8x16_t w_high, const int8_t* a) {
    int32x4_t sum = vdotq_s32(vdupq_n_s32(0), w_low, vld1q_s8(a));
    sum = vdotq_s32(sum, w_high, vld1q_s8(a + 16));
    return vaddvq_s32(sum);
}

void vec_dot_q8_0(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ8_0*>(weight);
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    float sum = 0;
    for (int64_t b = 0; b < n / 32; ++b) {
        const int32_t dot = dot32(vld1q_s8(w[b].qs), vld1q_s8(w[b].qs + 16), a[b].qs);
        sum += fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d) * float(dot);
    }
    *out = sum;
}

// Q4_0: elements 0..15 in the low nibbles, 16..31 in the high; x = d (q - 8).
void vec_dot_q4_0(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ4_0*>(weight);
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    const int8x16_t eight = vdupq_n_s8(8);
    float sum = 0;
    for (int64_t b = 0; b < n / 32; ++b) {
        const uint8x16_t q = vld1q_u8(w[b].qs);
        const int8x16_t low = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F))), eight);
        const int8x16_t high = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
        sum += fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d) * float(dot32(low, high, a[b].qs));
    }
    *out = sum;
}

// ---- super-blocks of 256 with a Q8_K activation row ----

// Q4_K: per 64 elements 32 bytes, the first 32 elements in their low nibbles, the next 32 in their
// high; x = d scale q - dmin min per 32 elements.
void vec_dot_q4_k(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ4_K*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    float sum = 0;
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        uint8_t scales[8], mins[8];
        unpack_k_scales(w[b].scales, scales, mins);
        int32_t scaled = 0, min_sum = 0;
        for (int j = 0; j < 4; ++j) {
            const uint8x16_t q0 = vld1q_u8(w[b].qs + 32 * j), q1 = vld1q_u8(w[b].qs + 32 * j + 16);
            const uint8x16_t mask = vdupq_n_u8(0x0F);
            const int8_t* x = a[b].qs + 64 * j;
            const int32_t low = dot32(vreinterpretq_s8_u8(vandq_u8(q0, mask)),
                                      vreinterpretq_s8_u8(vandq_u8(q1, mask)), x);
            const int32_t high = dot32(vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)),
                                       vreinterpretq_s8_u8(vshrq_n_u8(q1, 4)), x + 32);
            scaled += low * scales[2 * j] + high * scales[2 * j + 1];
        }
        for (int j = 0; j < 8; ++j)
            min_sum += mins[j] * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
        sum += fp16_to_fp32(w[b].d) * a[b].d * float(scaled) -
               fp16_to_fp32(w[b].dmin) * a[b].d * float(min_sum);
    }
    *out = sum;
}

// Q6_K: per 128 elements 64 bytes of low nibbles and 32 of high bit pairs (see unpack_q6_k);
// x = d scale (q - 32) per 16 elements.
void vec_dot_q6_k(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ6_K*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    const uint8x16_t low4 = vdupq_n_u8(0x0F), two = vdupq_n_u8(3);
    const int8x16_t offset = vdupq_n_s8(32);
    float sum = 0;
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        int32_t scaled = 0;
        for (int chunk = 0; chunk < 2; ++chunk) {
            const uint8_t* ql = w[b].ql + 64 * chunk;
            const uint8_t* qh = w[b].qh + 32 * chunk;
            const int8_t* x = a[b].qs + 128 * chunk;
            const int8_t* scales = w[b].scales + 8 * chunk;
            for (int l = 0; l < 32; l += 16) {
                const uint8x16_t l0 = vld1q_u8(ql + l), l1 = vld1q_u8(ql + 32 + l);
                const uint8x16_t h = vld1q_u8(qh + l);
                const uint8x16_t q[4] = {
                    vorrq_u8(vandq_u8(l0, low4), vshlq_n_u8(vandq_u8(h, two), 4)),
                    vorrq_u8(vandq_u8(l1, low4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 2), two), 4)),
                    vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 4), two), 4)),
                    vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(h, 6), 4)),
                };
                // Part k holds elements 32k + l .. 32k + l + 15: scale (32k + l) / 16.
                for (int k = 0; k < 4; ++k) {
                    const int8x16_t signed_q = vsubq_s8(vreinterpretq_s8_u8(q[k]), offset);
                    const int32_t dot =
                        vaddvq_s32(vdotq_s32(vdupq_n_s32(0), signed_q, vld1q_s8(x + 32 * k + l)));
                    scaled += dot * scales[2 * k + l / 16];
                }
            }
        }
        sum += fp16_to_fp32(w[b].d) * a[b].d * float(scaled);
    }
    *out = sum;
}

}  // namespace

VecDotFn vec_dot_neon(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::F32:
            return vec_dot_float<float>;
        case GgmlType::F16:
            return vec_dot_float<uint16_t>;
        case GgmlType::BF16:
            return vec_dot_float<Bf16>;
        case GgmlType::Q8_0:
            return vec_dot_q8_0;
        case GgmlType::Q4_0:
            return vec_dot_q4_0;
        case GgmlType::Q4_K:
            return vec_dot_q4_k;
        case GgmlType::Q6_K:
            return vec_dot_q6_k;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail

#else  // not AArch64 with the dot-product instructions

namespace uma::cpu::detail {
VecDotFn vec_dot_neon(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
