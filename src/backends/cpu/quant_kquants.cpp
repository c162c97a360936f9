// The K-quant super-block formats Q2_K .. Q6_K and their activation format Q8_K: decoding,
// straightforward encoders (least-squares fitted sub-block scales, not ggml's exhaustive search)
// and scalar dot products against a Q8_K row.
//
// Every format is handled the same way: its packed bits are first unpacked into one small integer
// per element plus integer sub-block scales, and decoding and the dot product work on those.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/cpu/quant_blocks.h"
#include "backends/cpu/quant_formats.h"
#include "uma/core/fp16.h"

namespace uma::cpu::detail {
namespace {

using namespace blocks;

int nearest_int(float x) {
    return int(std::lrint(x));
}  // ties to even, as ggml's nearest_int

// ---- unpacking: packed bits -> one integer per element ----

// Q2_K / Q3_K low bits: per 128 elements 32 bytes, element 32*s + l in bits 2s of byte l.
void unpack_2bit_planes(const uint8_t qs[64], uint8_t q[kSuperBlock]) {
    for (int chunk = 0; chunk < 2; ++chunk)
        for (int plane = 0; plane < 4; ++plane)
            for (int l = 0; l < 32; ++l)
                q[128 * chunk + 32 * plane + l] = (qs[32 * chunk + l] >> (2 * plane)) & 3;
}
void pack_2bit_planes(const uint8_t q[kSuperBlock], uint8_t qs[64]) {
    for (int chunk = 0; chunk < 2; ++chunk)
        for (int l = 0; l < 32; ++l) {
            const uint8_t* src = q + 128 * chunk + l;
            qs[32 * chunk + l] = uint8_t(src[0] | src[32] << 2 | src[64] << 4 | src[96] << 6);
        }
}

// Q4_K / Q5_K low bits: per 64 elements 32 bytes, the first 32 elements in the low nibbles.
void unpack_nibble_pairs(const uint8_t qs[128], uint8_t q[kSuperBlock]) {
    for (int group = 0; group < 4; ++group)
        for (int l = 0; l < 32; ++l) {
            q[64 * group + l] = qs[32 * group + l] & 0xF;
            q[64 * group + 32 + l] = qs[32 * group + l] >> 4;
        }
}
void pack_nibble_pairs(const uint8_t q[kSuperBlock], uint8_t qs[128]) {
    for (int group = 0; group < 4; ++group)
        for (int l = 0; l < 32; ++l)
            qs[32 * group + l] = uint8_t((q[64 * group + l] & 0xF) | q[64 * group + 32 + l] << 4);
}

void unpack_q2_k(const BlockQ2_K& block, int8_t q[kSuperBlock]) {
    unpack_2bit_planes(block.qs, reinterpret_cast<uint8_t*>(q));
}

void unpack_q3_k(const BlockQ3_K& block, int8_t q[kSuperBlock]) {
    unpack_2bit_planes(block.qs, reinterpret_cast<uint8_t*>(q));
    for (int j = 0; j < kSuperBlock; ++j) {
        const bool high = (block.hmask[j % 32] >> (j / 32)) & 1;
        q[j] = int8_t(q[j] - (high ? 0 : 4));
    }
}

void unpack_q4_k(const BlockQ4_K& block, int8_t q[kSuperBlock]) {
    unpack_nibble_pairs(block.qs, reinterpret_cast<uint8_t*>(q));
}

void unpack_q5_k(const BlockQ5_K& block, int8_t q[kSuperBlock]) {
    unpack_nibble_pairs(block.qs, reinterpret_cast<uint8_t*>(q));
    for (int j = 0; j < kSuperBlock; ++j) {
        const int bit = (j / 32);  // 64-element group g uses bits 2g (first half) and 2g+1
        q[j] = int8_t(q[j] | ((block.qh[j % 32] >> bit) & 1) << 4);
    }
}

// ---- decoding ----

void dequantize_q2_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ2_K*>(src);
    int8_t q[kSuperBlock];
    for (int64_t b = 0; b < n / kSuperBlock; ++b, dst += kSuperBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        const float dmin = fp16_to_fp32(blocks[b].dmin);
        unpack_q2_k(blocks[b], q);
        for (int j = 0; j < kSuperBlock; ++j) {
            const uint8_t packed = blocks[b].scales[j / 16];
            dst[j] = d * float(packed & 0xF) * float(q[j]) - dmin * float(packed >> 4);
        }
    }
}

void dequantize_q3_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ3_K*>(src);
    int8_t q[kSuperBlock], scales[16];
    for (int64_t b = 0; b < n / kSuperBlock; ++b, dst += kSuperBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        unpack_q3_k(blocks[b], q);
        unpack_q3_k_scales(blocks[b].scales, scales);
        for (int j = 0; j < kSuperBlock; ++j) dst[j] = d * float(scales[j / 16]) * float(q[j]);
    }
}

template <typename Block, void (*unpack)(const Block&, int8_t*)>
void dequantize_q4_q5_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const Block*>(src);
    int8_t q[kSuperBlock];
    uint8_t scales[8], mins[8];
    for (int64_t b = 0; b < n / kSuperBlock; ++b, dst += kSuperBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        const float dmin = fp16_to_fp32(blocks[b].dmin);
        unpack(blocks[b], q);
        unpack_k_scales(blocks[b].scales, scales, mins);
        for (int j = 0; j < kSuperBlock; ++j)
            dst[j] = d * float(scales[j / 32]) * float(q[j]) - dmin * float(mins[j / 32]);
    }
}

void dequantize_q6_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ6_K*>(src);
    int8_t q[kSuperBlock];
    for (int64_t b = 0; b < n / kSuperBlock; ++b, dst += kSuperBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        unpack_q6_k(blocks[b], q);
        for (int j = 0; j < kSuperBlock; ++j)
            dst[j] = d * float(blocks[b].scales[j / 16]) * float(q[j]);
    }
}

void dequantize_q8_k(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockQ8_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, dst += kSuperBlock)
        for (int j = 0; j < kSuperBlock; ++j) dst[j] = blocks[b].d * float(blocks[b].qs[j]);
}

// ---- encoding ----

// Fits x ~= scale * q - min with integer q in [0, q_max], scale >= 0 and min >= 0 (so that 0 stays
// representable, as the formats require). Starts from the value range, then alternates rounding
// with a least-squares solve for (scale, min) while the squared error keeps falling.
void fit_scale_min(const float* x, int n, int q_max, float& scale, float& min) {
    const float lo = std::min(0.0f, *std::min_element(x, x + n));
    const float hi = *std::max_element(x, x + n);
    scale = (hi - lo) / float(q_max);
    min = -lo;
    if (scale <= 0) return;
    auto squared_error = [&](float s, float m) {
        float err = 0;
        for (int i = 0; i < n; ++i) {
            const int q = std::clamp(nearest_int((x[i] + m) / s), 0, q_max);
            err += (s * float(q) - m - x[i]) * (s * float(q) - m - x[i]);
        }
        return err;
    };
    float best_error = squared_error(scale, min);
    for (int iteration = 0; iteration < 6; ++iteration) {
        float sum_q = 0, sum_qq = 0, sum_x = 0, sum_xq = 0;
        for (int i = 0; i < n; ++i) {
            const float q = float(std::clamp(nearest_int((x[i] + min) / scale), 0, q_max));
            sum_q += q;
            sum_qq += q * q;
            sum_x += x[i];
            sum_xq += x[i] * q;
        }
        const float det = float(n) * sum_qq - sum_q * sum_q;
        if (det <= 0) break;
        float new_scale = (float(n) * sum_xq - sum_q * sum_x) / det;
        float new_min = -(sum_x - new_scale * sum_q) / float(n);
        if (new_min < 0) {  // the offset may not be positive: refit the scale alone
            new_min = 0;
            new_scale = sum_xq / sum_qq;
        }
        if (new_scale <= 0) break;
        const float error = squared_error(new_scale, new_min);
        if (error >= best_error) break;
        best_error = error;
        scale = new_scale;
        min = new_min;
    }
}

// Fits x ~= scale * q with integer q in [-q_half, q_half - 1]. The scale may be negative: the
// element of largest magnitude maps near -q_half, using the extra negative level. Tries scales
// around that and keeps the one whose least-squares refit explains most of x.
float fit_symmetric_scale(const float* x, int n, int q_half) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; ++i)
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    if (amax == 0) return 0;
    float best_scale = 0, best_explained = -1;
    for (int step = -9; step <= 9; ++step) {
        const float inverse = -(float(q_half) + 0.1f * float(step)) / max;
        float sum_xq = 0, sum_qq = 0;
        for (int i = 0; i < n; ++i) {
            const float q = float(std::clamp(nearest_int(inverse * x[i]), -q_half, q_half - 1));
            sum_xq += x[i] * q;
            sum_qq += q * q;
        }
        // With the optimal scale sum_xq / sum_qq the error is |x|^2 - sum_xq^2 / sum_qq.
        if (sum_qq > 0 && sum_xq * sum_xq / sum_qq > best_explained) {
            best_explained = sum_xq * sum_xq / sum_qq;
            best_scale = sum_xq / sum_qq;
        }
    }
    return best_scale;
}

// Quantizes non-negative sub-block values to `levels` steps of max/levels; returns the fp16 step.
uint16_t quantize_unsigned_scales(const float* values, int count, int levels, int* out) {
    const float max = *std::max_element(values, values + count);
    const float inverse = max > 0 ? float(levels) / max : 0.0f;
    for (int j = 0; j < count; ++j) out[j] = std::min(levels, nearest_int(inverse * values[j]));
    return fp32_to_fp16(max > 0 ? max / float(levels) : 0.0f);
}

// Shared by Q2_K, Q4_K and Q5_K: sub-blocks of `sub` elements with unsigned quants 0..q_max,
// scales and mins quantized to 0..scale_levels. Fills q (one per element), the integer scales and
// mins, and the fp16 super-block factors.
void quantize_scale_min_block(const float* x, int sub, int q_max, int scale_levels, uint8_t* q,
                              int* scales, int* mins, uint16_t& d, uint16_t& dmin) {
    const int n_sub = kSuperBlock / sub;
    float sub_scales[16], sub_mins[16];
    for (int j = 0; j < n_sub; ++j)
        fit_scale_min(x + sub * j, sub, q_max, sub_scales[j], sub_mins[j]);
    d = quantize_unsigned_scales(sub_scales, n_sub, scale_levels, scales);
    dmin = quantize_unsigned_scales(sub_mins, n_sub, scale_levels, mins);
    const float step = fp16_to_fp32(d), min_step = fp16_to_fp32(dmin);
    for (int j = 0; j < n_sub; ++j) {
        const float scale = step * float(scales[j]), min = min_step * float(mins[j]);
        for (int i = sub * j; i < sub * (j + 1); ++i)
            q[i] = scale > 0 ? uint8_t(std::clamp(nearest_int((x[i] + min) / scale), 0, q_max)) : 0;
    }
}

// Shared by Q3_K and Q6_K: 16 sub-blocks of 16 with signed quants in [-q_half, q_half - 1] and
// signed integer scales in [-scale_half, scale_half - 1]. Returns the fp16 super-block scale.
uint16_t quantize_signed_block(const float* x, int q_half, int scale_half, int8_t q[kSuperBlock],
                               int scales[16]) {
    float sub_scales[16], max = 0;
    for (int j = 0; j < 16; ++j) {
        sub_scales[j] = fit_symmetric_scale(x + 16 * j, 16, q_half);
        if (std::fabs(sub_scales[j]) > std::fabs(max)) max = sub_scales[j];
    }
    if (max == 0) {
        std::fill(scales, scales + 16, 0);
        std::fill(q, q + kSuperBlock, 0);
        return 0;
    }
    const float inverse = -float(scale_half) / max;
    for (int j = 0; j < 16; ++j)
        scales[j] = std::clamp(nearest_int(inverse * sub_scales[j]), -scale_half, scale_half - 1);
    const uint16_t d = fp32_to_fp16(1 / inverse);
    const float step = fp16_to_fp32(d);
    for (int j = 0; j < 16; ++j) {
        const float scale = step * float(scales[j]);
        for (int i = 16 * j; i < 16 * (j + 1); ++i)
            q[i] =
                scale != 0 ? int8_t(std::clamp(nearest_int(x[i] / scale), -q_half, q_half - 1)) : 0;
    }
    return d;
}

void quantize_q2_k(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ2_K*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, src += kSuperBlock) {
        uint8_t q[kSuperBlock];
        int scales[16], mins[16];
        quantize_scale_min_block(src, 16, 3, 15, q, scales, mins, blocks[b].d, blocks[b].dmin);
        for (int j = 0; j < 16; ++j) blocks[b].scales[j] = uint8_t(scales[j] | mins[j] << 4);
        pack_2bit_planes(q, blocks[b].qs);
    }
}

void quantize_q3_k(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ3_K*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, src += kSuperBlock) {
        BlockQ3_K& block = blocks[b];
        int8_t q[kSuperBlock];
        int scales[16];
        block.d = quantize_signed_block(src, 4, 32, q, scales);
        std::memset(block.scales, 0, sizeof block.scales);
        for (int j = 0; j < 16; ++j) {
            const int biased = scales[j] + 32;
            if (j < 8)
                block.scales[j] = uint8_t(biased & 0xF);
            else
                block.scales[j - 8] |= uint8_t((biased & 0xF) << 4);
            block.scales[8 + j % 4] |= uint8_t((biased >> 4) << (2 * (j / 4)));
        }
        uint8_t low[kSuperBlock];
        std::memset(block.hmask, 0, sizeof block.hmask);
        for (int j = 0; j < kSuperBlock; ++j) {
            const int biased = q[j] + 4;  // 0..7: bit 2 goes to hmask, bits 0..1 to qs
            low[j] = uint8_t(biased & 3);
            if (biased & 4) block.hmask[j % 32] |= uint8_t(1 << (j / 32));
        }
        pack_2bit_planes(low, block.qs);
    }
}

// Q4_K / Q5_K scale packing, the inverse of unpack_k_scales.
void pack_k_scales(const int scales[8], const int mins[8], uint8_t packed[12]) {
    for (int j = 0; j < 4; ++j) {
        packed[j] = uint8_t(scales[j] | (scales[j + 4] >> 4) << 6);
        packed[j + 4] = uint8_t(mins[j] | (mins[j + 4] >> 4) << 6);
        packed[j + 8] = uint8_t((scales[j + 4] & 0xF) | (mins[j + 4] & 0xF) << 4);
    }
}

void quantize_q4_k(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ4_K*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, src += kSuperBlock) {
        uint8_t q[kSuperBlock];
        int scales[8], mins[8];
        quantize_scale_min_block(src, 32, 15, 63, q, scales, mins, blocks[b].d, blocks[b].dmin);
        pack_k_scales(scales, mins, blocks[b].scales);
        pack_nibble_pairs(q, blocks[b].qs);
    }
}

void quantize_q5_k(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ5_K*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, src += kSuperBlock) {
        uint8_t q[kSuperBlock];
        int scales[8], mins[8];
        quantize_scale_min_block(src, 32, 31, 63, q, scales, mins, blocks[b].d, blocks[b].dmin);
        pack_k_scales(scales, mins, blocks[b].scales);
        std::memset(blocks[b].qh, 0, sizeof blocks[b].qh);
        for (int j = 0; j < kSuperBlock; ++j)
            if (q[j] & 16) blocks[b].qh[j % 32] |= uint8_t(1 << (j / 32));
        pack_nibble_pairs(q, blocks[b].qs);  // keeps the low nibble only
    }
}

void quantize_q6_k(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ6_K*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, src += kSuperBlock) {
        BlockQ6_K& block = blocks[b];
        int8_t q[kSuperBlock];
        int scales[16];
        block.d = quantize_signed_block(src, 32, 128, q, scales);
        for (int j = 0; j < 16; ++j) block.scales[j] = int8_t(scales[j]);
        for (int chunk = 0; chunk < 2; ++chunk) {
            const int8_t* in = q + 128 * chunk;
            uint8_t* ql = block.ql + 64 * chunk;
            uint8_t* qh = block.qh + 32 * chunk;
            for (int l = 0; l < 32; ++l) {
                const int q0 = in[l] + 32, q1 = in[l + 32] + 32;
                const int q2 = in[l + 64] + 32, q3 = in[l + 96] + 32;
                ql[l] = uint8_t((q0 & 0xF) | (q2 & 0xF) << 4);
                ql[l + 32] = uint8_t((q1 & 0xF) | (q3 & 0xF) << 4);
                qh[l] = uint8_t(q0 >> 4 | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6);
            }
        }
    }
}

// As ggml: the element of largest magnitude maps to -127, and the per-16 sums are kept.
void quantize_q8_k(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockQ8_K*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, src += kSuperBlock) {
        BlockQ8_K& block = blocks[b];
        float amax = 0, max = 0;
        for (int j = 0; j < kSuperBlock; ++j)
            if (std::fabs(src[j]) > amax) {
                amax = std::fabs(src[j]);
                max = src[j];
            }
        if (amax == 0) {
            std::memset(&block, 0, sizeof block);
            continue;
        }
        const float inverse = -127.0f / max;
        for (int j = 0; j < kSuperBlock; ++j)
            block.qs[j] = int8_t(std::min(127, nearest_int(inverse * src[j])));
        for (int j = 0; j < 16; ++j) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) sum += block.qs[16 * j + i];
            block.bsums[j] = int16_t(sum);
        }
        block.d = 1 / inverse;
    }
}

// ---- dot products with a Q8_K activation row ----

// Sum over sub-blocks of scale * integer dot(q, activation quants).
int scaled_dot(const int8_t* q, const int8_t* a, int sub, int n_sub, const int* scales) {
    int total = 0;
    for (int j = 0; j < n_sub; ++j) {
        int dot = 0;
        for (int i = sub * j; i < sub * (j + 1); ++i) dot += q[i] * a[i];
        total += scales[j] * dot;
    }
    return total;
}

// Sum over sub-blocks of min * (sum of the activation quants), from the per-16 sums.
int min_dot(const BlockQ8_K& a, int sub, const int* mins) {
    int total = 0;
    for (int j = 0; j < 16; ++j) total += mins[j / (sub / 16)] * a.bsums[j];
    return total;
}

void vec_dot_q2_k(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ2_K*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    float sum = 0;
    int8_t q[kSuperBlock];
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        int scales[16], mins[16];
        for (int j = 0; j < 16; ++j) {
            scales[j] = w[b].scales[j] & 0xF;
            mins[j] = w[b].scales[j] >> 4;
        }
        unpack_q2_k(w[b], q);
        sum += fp16_to_fp32(w[b].d) * a[b].d * float(scaled_dot(q, a[b].qs, 16, 16, scales)) -
               fp16_to_fp32(w[b].dmin) * a[b].d * float(min_dot(a[b], 16, mins));
    }
    *out = sum;
}

void vec_dot_q3_k(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ3_K*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    float sum = 0;
    int8_t q[kSuperBlock], packed_scales[16];
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        unpack_q3_k(w[b], q);
        unpack_q3_k_scales(w[b].scales, packed_scales);
        int scales[16];
        std::copy(packed_scales, packed_scales + 16, scales);
        sum += fp16_to_fp32(w[b].d) * a[b].d * float(scaled_dot(q, a[b].qs, 16, 16, scales));
    }
    *out = sum;
}

template <typename Block, void (*unpack)(const Block&, int8_t*)>
void vec_dot_q4_q5_k(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const Block*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    float sum = 0;
    int8_t q[kSuperBlock];
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        uint8_t packed_scales[8], packed_mins[8];
        unpack_k_scales(w[b].scales, packed_scales, packed_mins);
        int scales[8], mins[8];
        std::copy(packed_scales, packed_scales + 8, scales);
        std::copy(packed_mins, packed_mins + 8, mins);
        unpack(w[b], q);
        sum += fp16_to_fp32(w[b].d) * a[b].d * float(scaled_dot(q, a[b].qs, 32, 8, scales)) -
               fp16_to_fp32(w[b].dmin) * a[b].d * float(min_dot(a[b], 32, mins));
    }
    *out = sum;
}

void vec_dot_q6_k(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ6_K*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    float sum = 0;
    int8_t q[kSuperBlock];
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        unpack_q6_k(w[b], q);
        int scales[16];
        std::copy(w[b].scales, w[b].scales + 16, scales);
        sum += fp16_to_fp32(w[b].d) * a[b].d * float(scaled_dot(q, a[b].qs, 16, 16, scales));
    }
    *out = sum;
}

constexpr FormatOps kQ2_K{dequantize_q2_k, quantize_q2_k, vec_dot_q2_k, GgmlType::Q8_K};
constexpr FormatOps kQ3_K{dequantize_q3_k, quantize_q3_k, vec_dot_q3_k, GgmlType::Q8_K};
constexpr FormatOps kQ4_K{dequantize_q4_q5_k<BlockQ4_K, unpack_q4_k>, quantize_q4_k,
                          vec_dot_q4_q5_k<BlockQ4_K, unpack_q4_k>, GgmlType::Q8_K};
constexpr FormatOps kQ5_K{dequantize_q4_q5_k<BlockQ5_K, unpack_q5_k>, quantize_q5_k,
                          vec_dot_q4_q5_k<BlockQ5_K, unpack_q5_k>, GgmlType::Q8_K};
constexpr FormatOps kQ6_K{dequantize_q6_k, quantize_q6_k, vec_dot_q6_k, GgmlType::Q8_K};
// Q8_K is an activation format only: no dot product takes it as the weight.
constexpr FormatOps kQ8_K{dequantize_q8_k, quantize_q8_k, nullptr, GgmlType::Q8_K};

}  // namespace

const FormatOps* kquant_format_ops(GgmlType type) {
    switch (type) {
        case GgmlType::Q2_K:
            return &kQ2_K;
        case GgmlType::Q3_K:
            return &kQ3_K;
        case GgmlType::Q4_K:
            return &kQ4_K;
        case GgmlType::Q5_K:
            return &kQ5_K;
        case GgmlType::Q6_K:
            return &kQ6_K;
        case GgmlType::Q8_K:
            return &kQ8_K;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail
