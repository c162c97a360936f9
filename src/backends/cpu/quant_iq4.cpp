// IQ4_NL and IQ4_XS: 4-bit indices into a fixed non-linear grid (kIq4Values). IQ4_NL has one fp16
// scale per 32 elements and pairs with Q8_0 activations; IQ4_XS has 6-bit scales per 32 under an
// fp16 super-block scale and pairs with Q8_K.
#include <algorithm>
#include <cmath>

#include "backends/cpu/quant_blocks.h"
#include "backends/cpu/quant_formats.h"
#include "uma/core/fp16.h"

namespace uma::cpu::detail {
namespace {

using namespace blocks;

constexpr int kHalf = kLegacyBlock / 2;

// Index of the grid value nearest to v.
int nearest_grid_index(float v) {
    int best = 0;
    for (int i = 1; i < 16; ++i)
        if (std::fabs(float(kIq4Values[i]) - v) < std::fabs(float(kIq4Values[best]) - v)) best = i;
    return best;
}

// Fits x ~= scale * kIq4Values[q]. The grid is asymmetric (-127 .. 113), so both signs of the scale
// are tried, each at a range of stretches around "extreme element on the grid end"; every
// candidate is refit by least squares and the one explaining most of x wins.
float fit_grid_scale(const float* x, int n) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; ++i)
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    if (amax == 0) return 0;
    float best_scale = 0, best_explained = -1;
    for (const float grid_end : {-127.0f, 113.0f}) {
        for (int step = -8; step <= 8; ++step) {
            const float scale = max / (grid_end * (1.0f + 0.025f * float(step)));
            float sum_xv = 0, sum_vv = 0;
            for (int i = 0; i < n; ++i) {
                const float v = float(kIq4Values[nearest_grid_index(x[i] / scale)]);
                sum_xv += x[i] * v;
                sum_vv += v * v;
            }
            if (sum_vv > 0 && sum_xv * sum_xv / sum_vv > best_explained) {
                best_explained = sum_xv * sum_xv / sum_vv;
                best_scale = sum_xv / sum_vv;
            }
        }
    }
    return best_scale;
}

// Writes the 32 indices of x / scale as IQ4_NL / Q4_0 style nibbles.
void pack_grid_indices(const float* x, float scale, uint8_t qs[16]) {
    const float inverse = scale != 0 ? 1.0f / scale : 0.0f;
    for (int j = 0; j < kHalf; ++j) {
        const int lo = nearest_grid_index(x[j] * inverse);
        const int hi = nearest_grid_index(x[j + kHalf] * inverse);
        qs[j] = uint8_t(lo | hi << 4);
    }
}

void decode_grid_nibbles(const uint8_t qs[16], float scale, float* dst) {
    for (int j = 0; j < kHalf; ++j) {
        dst[j] = scale * float(kIq4Values[qs[j] & 0xF]);
        dst[j + kHalf] = scale * float(kIq4Values[qs[j] >> 4]);
    }
}

// Integer dot of 32 grid values with 32 activation quants.
int grid_dot(const uint8_t qs[16], const int8_t* a) {
    int sum = 0;
    for (int j = 0; j < kHalf; ++j) {
        sum += kIq4Values[qs[j] & 0xF] * a[j];
        sum += kIq4Values[qs[j] >> 4] * a[j + kHalf];
    }
    return sum;
}

void dequantize_iq4_nl(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockIQ4_NL*>(src);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, dst += kLegacyBlock)
        decode_grid_nibbles(blocks[b].qs, fp16_to_fp32(blocks[b].d), dst);
}

void quantize_iq4_nl(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockIQ4_NL*>(dst);
    for (int64_t b = 0; b < n / kLegacyBlock; ++b, src += kLegacyBlock) {
        blocks[b].d = fp32_to_fp16(fit_grid_scale(src, kLegacyBlock));
        pack_grid_indices(src, fp16_to_fp32(blocks[b].d), blocks[b].qs);
    }
}

void vec_dot_iq4_nl(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockIQ4_NL*>(weight);
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    float sum = 0;
    for (int64_t b = 0; b < n / kLegacyBlock; ++b)
        sum += float(grid_dot(w[b].qs, a[b].qs)) * fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d);
    *out = sum;
}

void dequantize_iq4_xs(const void* src, float* dst, int64_t n) {
    const auto* blocks = static_cast<const BlockIQ4_XS*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const float d = fp16_to_fp32(blocks[b].d);
        for (int ib = 0; ib < 8; ++ib, dst += 32)
            decode_grid_nibbles(blocks[b].qs + 16 * ib, d * float(iq4_xs_scale(blocks[b], ib)),
                                dst);
    }
}

void quantize_iq4_xs(const float* src, void* dst, int64_t n) {
    auto* blocks = static_cast<BlockIQ4_XS*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, src += kSuperBlock) {
        BlockIQ4_XS& block = blocks[b];
        float sub_scales[8], max = 0;
        for (int ib = 0; ib < 8; ++ib) {
            sub_scales[ib] = fit_grid_scale(src + 32 * ib, 32);
            if (std::fabs(sub_scales[ib]) > std::fabs(max)) max = sub_scales[ib];
        }
        // The largest sub-block scale maps to -32, the end of the 6-bit range with most room.
        const float d = max / -32;
        const float inverse = d != 0 ? 1.0f / d : 0.0f;
        block.d = fp32_to_fp16(d);
        block.scales_h = 0;
        block.scales_l[0] = block.scales_l[1] = block.scales_l[2] = block.scales_l[3] = 0;
        const float step = fp16_to_fp32(block.d);
        for (int ib = 0; ib < 8; ++ib) {
            const int scale = std::clamp(int(std::lrint(inverse * sub_scales[ib])), -32, 31);
            const int biased = scale + 32;
            block.scales_l[ib / 2] |= uint8_t((biased & 0xF) << (4 * (ib % 2)));
            block.scales_h |= uint16_t((biased >> 4) << (2 * ib));
            pack_grid_indices(src + 32 * ib, step * float(scale), block.qs + 16 * ib);
        }
    }
}

void vec_dot_iq4_xs(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockIQ4_XS*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    float sum = 0;
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        int sumi = 0;
        for (int ib = 0; ib < 8; ++ib)
            sumi += iq4_xs_scale(w[b], ib) * grid_dot(w[b].qs + 16 * ib, a[b].qs + 32 * ib);
        sum += fp16_to_fp32(w[b].d) * a[b].d * float(sumi);
    }
    *out = sum;
}

constexpr FormatOps kIQ4_NL{dequantize_iq4_nl, quantize_iq4_nl, vec_dot_iq4_nl, GgmlType::Q8_0};
constexpr FormatOps kIQ4_XS{dequantize_iq4_xs, quantize_iq4_xs, vec_dot_iq4_xs, GgmlType::Q8_K};

}  // namespace

const FormatOps* iq4_format_ops(GgmlType type) {
    switch (type) {
        case GgmlType::IQ4_NL:
            return &kIQ4_NL;
        case GgmlType::IQ4_XS:
            return &kIQ4_XS;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail
