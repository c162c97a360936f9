// The legacy 32-element block formats Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0: decoding, ggml's
// round-to-nearest reference encoders, and scalar dot products against a Q8_0 activation row.
//
// ggml pairs Q4_1/Q5_1 with Q8_1, whose blocks carry d * sum(q). We use Q8_0 for every legacy
// format instead and sum the activation quants of each block ourselves; the integer sum is exact,
// which is slightly more accurate than Q8_1's fp16-rounded product, and one activation format
// serves all legacy weights.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/cpu/quant_blocks.h"
#include "backends/cpu/quant_formats.h"
#include "uma/core/fp16.h"

namespace uma::cpu::detail {
namespace {

using namespace blocks;

constexpr int kHalf = kLegacyBlock / 2;

uint32_t load_qh(const uint8_t qh[4]) {
    uint32_t bits;
    std::memcpy(&bits, qh, sizeof bits);
    return bits;
}

// The fifth bit of element j as a value 0 or 16.
int fifth_bit(uint32_t qh, int j) {
    return int((qh >> j) & 1u) << 4;
}

// ---- decoding ----

void dequantize_q4_0(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ4_0*>(src);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        for (int j = 0; j < kHalf; ++j) {
            dst[j] = float((blocks[b].qs[j] & 0xF) - 8) * d;
            dst[j + kHalf] = float((blocks[b].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_q4_1(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ4_1*>(src);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        const float m = fp16_to_fp32(blocks[b].m);
        for (int j = 0; j < kHalf; ++j) {
            dst[j] = float(blocks[b].qs[j] & 0xF) * d + m;
            dst[j + kHalf] = float(blocks[b].qs[j] >> 4) * d + m;
        }
    }
}

void dequantize_q5_0(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ5_0*>(src);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        const uint32_t qh = load_qh(blocks[b].qh);
        for (int j = 0; j < kHalf; ++j) {
            dst[j] = float(((blocks[b].qs[j] & 0xF) | fifth_bit(qh, j)) - 16) * d;
            dst[j + kHalf] = float(((blocks[b].qs[j] >> 4) | fifth_bit(qh, j + kHalf)) - 16) * d;
        }
    }
}

void dequantize_q5_1(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ5_1*>(src);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        const float m = fp16_to_fp32(blocks[b].m);
        const uint32_t qh = load_qh(blocks[b].qh);
        for (int j = 0; j < kHalf; ++j) {
            dst[j] = float((blocks[b].qs[j] & 0xF) | fifth_bit(qh, j)) * d + m;
            dst[j + kHalf] = float((blocks[b].qs[j] >> 4) | fifth_bit(qh, j + kHalf)) * d + m;
        }
    }
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ8_0*>(src);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        for (int j = 0; j < kLegacyBlock; ++j) dst[j] = float(blocks[b].qs[j]) * d;
    }
}

// ---- encoding (ggml's reference quantizers: the block's extreme value fixes the scale) ----

// The element of largest magnitude, with its sign.
float signed_abs_max(const float* x, int n) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; ++j) {
        if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

void quantize_q4_0(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ4_0*>(dst);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, src += kLegacyBlock) {
        // The extreme value maps to -8 so that the asymmetric range [-8, 7] is used fully.
        const float d = signed_abs_max(src, kLegacyBlock) / -8;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        blocks[b].d = fp32_to_fp16(d);
        for (int j = 0; j < kHalf; ++j) {
            const int lo = std::min(15, int(int8_t(src[j] * id + 8.5f)));
            const int hi = std::min(15, int(int8_t(src[j + kHalf] * id + 8.5f)));
            blocks[b].qs[j] = uint8_t(lo | hi << 4);
        }
    }
}

void quantize_q4_1(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ4_1*>(dst);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, src += kLegacyBlock) {
        const auto [min_it, max_it] = std::minmax_element(src, src + kLegacyBlock);
        const float min = *min_it;
        const float d = (*max_it - min) / 15;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        blocks[b].d = fp32_to_fp16(d);
        blocks[b].m = fp32_to_fp16(min);
        for (int j = 0; j < kHalf; ++j) {
            const int lo = std::min(15, int(int8_t((src[j] - min) * id + 0.5f)));
            const int hi = std::min(15, int(int8_t((src[j + kHalf] - min) * id + 0.5f)));
            blocks[b].qs[j] = uint8_t(lo | hi << 4);
        }
    }
}

// Packs 32 five-bit values into nibbles plus the qh bit field.
void pack_q5(const int q[kLegacyBlock], uint8_t qs[16], uint8_t qh_bytes[4]) {
    uint32_t qh = 0;
    for (int j = 0; j < kHalf; ++j) {
        qs[j] = uint8_t((q[j] & 0xF) | (q[j + kHalf] & 0xF) << 4);
        qh |= uint32_t(q[j] >> 4 & 1) << j;
        qh |= uint32_t(q[j + kHalf] >> 4 & 1) << (j + kHalf);
    }
    std::memcpy(qh_bytes, &qh, sizeof qh);
}

void quantize_q5_0(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ5_0*>(dst);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, src += kLegacyBlock) {
        const float d = signed_abs_max(src, kLegacyBlock) / -16;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        blocks[b].d = fp32_to_fp16(d);
        int q[kLegacyBlock];
        for (int j = 0; j < kLegacyBlock; ++j)
            q[j] = std::min(31, int(int8_t(src[j] * id + 16.5f)));
        pack_q5(q, blocks[b].qs, blocks[b].qh);
    }
}

void quantize_q5_1(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ5_1*>(dst);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, src += kLegacyBlock) {
        const auto [min_it, max_it] = std::minmax_element(src, src + kLegacyBlock);
        const float min = *min_it;
        const float d = (*max_it - min) / 31;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        blocks[b].d = fp32_to_fp16(d);
        blocks[b].m = fp32_to_fp16(min);
        int q[kLegacyBlock];
        for (int j = 0; j < kLegacyBlock; ++j)
            q[j] = std::min(31, int(uint8_t((src[j] - min) * id + 0.5f)));
        pack_q5(q, blocks[b].qs, blocks[b].qh);
    }
}

void quantize_q8_0(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ8_0*>(dst);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, src += kLegacyBlock) {
        float amax = 0;
        for (int j = 0; j < kLegacyBlock; ++j) amax = std::max(amax, std::fabs(src[j]));
        const float d = amax / 127;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        blocks[b].d = fp32_to_fp16(d);
        for (int j = 0; j < kLegacyBlock; ++j) blocks[b].qs[j] = int8_t(std::round(src[j] * id));
    }
}

// ---- dot products with a Q8_0 activation row: integer dot per block, then the scales ----

int activation_sum(const BlockQ8_0& a) {
    int sum = 0;
    for (int j = 0; j < kLegacyBlock; ++j) sum += a.qs[j];
    return sum;
}

void vec_dot_q4_0(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ4_0*>(weight);
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    float sum = 0;
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        int sumi = 0;
        for (int j = 0; j < kHalf; ++j) {
            sumi += ((w[b].qs[j] & 0xF) - 8) * a[b].qs[j];
            sumi += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + kHalf];
        }
        sum += float(sumi) * fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d);
    }
    *out = sum;
}

void vec_dot_q4_1(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ4_1*>(weight);
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    float sum = 0;
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        int sumi = 0;
        for (int j = 0; j < kHalf; ++j) {
            sumi += (w[b].qs[j] & 0xF) * a[b].qs[j];
            sumi += (w[b].qs[j] >> 4) * a[b].qs[j + kHalf];
        }
        const float da = fp16_to_fp32(a[b].d);
        sum += float(sumi) * fp16_to_fp32(w[b].d) * da +
               float(activation_sum(a[b])) * fp16_to_fp32(w[b].m) * da;
    }
    *out = sum;
}

void vec_dot_q5_0(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ5_0*>(weight);
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    float sum = 0;
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        const uint32_t qh = load_qh(w[b].qh);
        int sumi = 0;
        for (int j = 0; j < kHalf; ++j) {
            sumi += (((w[b].qs[j] & 0xF) | fifth_bit(qh, j)) - 16) * a[b].qs[j];
            sumi += (((w[b].qs[j] >> 4) | fifth_bit(qh, j + kHalf)) - 16) * a[b].qs[j + kHalf];
        }
        sum += float(sumi) * fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d);
    }
    *out = sum;
}

void vec_dot_q5_1(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ5_1*>(weight);
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    float sum = 0;
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        const uint32_t qh = load_qh(w[b].qh);
        int sumi = 0;
        for (int j = 0; j < kHalf; ++j) {
            sumi += ((w[b].qs[j] & 0xF) | fifth_bit(qh, j)) * a[b].qs[j];
            sumi += ((w[b].qs[j] >> 4) | fifth_bit(qh, j + kHalf)) * a[b].qs[j + kHalf];
        }
        const float da = fp16_to_fp32(a[b].d);
        sum += float(sumi) * fp16_to_fp32(w[b].d) * da +
               float(activation_sum(a[b])) * fp16_to_fp32(w[b].m) * da;
    }
    *out = sum;
}

void vec_dot_q8_0(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ8_0*>(weight);
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    float sum = 0;
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
        int sumi = 0;
        for (int j = 0; j < kLegacyBlock; ++j) sumi += w[b].qs[j] * a[b].qs[j];
        sum += float(sumi) * fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d);
    }
    *out = sum;
}

constexpr FormatOps kQ4_0{dequantize_q4_0, quantize_q4_0, vec_dot_q4_0, GgmlType::Q8_0};
constexpr FormatOps kQ4_1{dequantize_q4_1, quantize_q4_1, vec_dot_q4_1, GgmlType::Q8_0};
constexpr FormatOps kQ5_0{dequantize_q5_0, quantize_q5_0, vec_dot_q5_0, GgmlType::Q8_0};
constexpr FormatOps kQ5_1{dequantize_q5_1, quantize_q5_1, vec_dot_q5_1, GgmlType::Q8_0};
constexpr FormatOps kQ8_0{dequantize_q8_0, quantize_q8_0, vec_dot_q8_0, GgmlType::Q8_0};

}  // namespace

const FormatOps* legacy_format_ops(GgmlType type) {
    switch (type) {
        case GgmlType::Q4_0:
            return &kQ4_0;
        case GgmlType::Q4_1:
            return &kQ4_1;
        case GgmlType::Q5_0:
            return &kQ5_0;
        case GgmlType::Q5_1:
            return &kQ5_1;
        case GgmlType::Q8_0:
            return &kQ8_0;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail
