// NEON kernels for the packed formats (see packed_layouts.h), in the layout the AVX2 kernels read.
// A 64-byte vector of a tile (lane r: four columns of row r) is four NEON registers of four rows
// each; the dot-product instruction by element (sdot v, w, a.4b[lane]) multiplies each register
// with the four activation bytes of one lane, so a tile's 16 rows accumulate in four registers
// with no horizontal sums, as in the AVX-512 kernels. sdot multiplies signed bytes: the nibbles
// (0..15) and the 6-bit Q6_K quants are signed bytes as they are; Q8_0's stored q + 128 turns back
// into q with one exclusive or, IQ4_NL's indices into the signed table entries with one lookup.
// Activations are quantized by the scalar code (the same bytes as every other kernel's). Nothing
// here is tuned: the x86 kernels' group sizes and read-ahead hints were measured on x86 and are
// not assumed to carry over; these kernels are checked under emulation, not timed.
#include "backends/cpu/packed_formats.h"

#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#include <arm_neon.h>

#include <utility>

#include "backends/cpu/packed_gemm_driver.h"
#include "backends/cpu/packed_layouts.h"
#include "backends/cpu/quant_blocks.h"

namespace uma::cpu::detail {
namespace {

using namespace packed;

// A tile's 16 rows in four registers: rows 4p .. 4p + 3 in register p.
using RowInts = int32x4_t[4];
using RowFloats = float32x4_t[4];

// Calls f.template operator()<I>() for I = 0 .. N - 1: the dot-product lane must be a constant.
template <int N, class F>
inline __attribute__((always_inline)) void for_each_constant(F&& f) {
    [&]<int... I>(std::integer_sequence<int, I...>) {
        (f.template operator()<I>(), ...);
    }
    (std::make_integer_sequence<int, N>());
}

// The 16 rows' fp16 values (scales, mins, d) as floats.
inline void load_halves(const uint16_t* halves, RowFloats out) {
    for (int p = 0; p < 4; ++p)
        out[p] = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(halves + 4 * p)));
}

// sum[p] += w[p] . (the four activation bytes of group G), G < 8, of 32 activations in a[0..1].
template <int G>
inline __attribute__((always_inline)) void dot_group(const int8x16_t w[4], const int8x16_t a[2],
                                                     RowInts sum) {
    for (int p = 0; p < 4; ++p) sum[p] = vdotq_laneq_s32(sum[p], w[p], a[G / 4], G % 4);
}

// Group G (four columns of the 16 rows) of a nibble-layout block of 32 columns.
template <int G>
inline __attribute__((always_inline)) void nibble_group(const uint8_t* quants, int8x16_t w[4]) {
    for (int p = 0; p < 4; ++p) {
        const uint8x16_t x = vld1q_u8(quants + 64 * (G / 2) + 16 * p);
        w[p] = vreinterpretq_s8_u8(G % 2 ? vshrq_n_u8(x, 4) : vandq_u8(x, vdupq_n_u8(0x0F)));
    }
}

// ---- blocks of 32 with one fp16 scale (and min) per row ----

// Each kind of block: its layout, how its groups become signed bytes, and whether the integer sum
// starts from the activations' bias (the weights' zero point times their sum) or from zero.
struct Q4_0Blocks {
    static constexpr const Block32Layout& kLayout = kQ4_0Layout;
    static constexpr bool kBiasStarts = true;  // x = d (q - 8)
    template <int G>
    static void group(const uint8_t* quants, int8x16_t w[4]) {
        nibble_group<G>(quants, w);
    }
};
struct Q4_1Blocks : Q4_0Blocks {  // the min multiplies the bias, the activations' sum
    static constexpr const Block32Layout& kLayout = kQ4_1Layout;
    static constexpr bool kBiasStarts = false;
};
struct Q8_0Blocks {
    static constexpr const Block32Layout& kLayout = kQ8_0Layout;
    static constexpr bool kBiasStarts = false;  // q itself, not q + 128
    template <int G>
    static void group(const uint8_t* quants, int8x16_t w[4]) {
        for (int p = 0; p < 4; ++p)
            w[p] =
                vreinterpretq_s8_u8(veorq_u8(vld1q_u8(quants + 64 * G + 16 * p), vdupq_n_u8(0x80)));
    }
};
struct IQ4_NLBlocks {
    static constexpr const Block32Layout& kLayout = kQ4_0Layout;
    static constexpr bool kBiasStarts = false;  // the table's signed entries
    template <int G>
    static void group(const uint8_t* quants, int8x16_t w[4]) {
        const int8x16_t table = vld1q_s8(blocks::kIq4Values);
        nibble_group<G>(quants, w);
        for (int p = 0; p < 4; ++p) w[p] = vqtbl1q_s8(table, vreinterpretq_u8_s8(w[p]));
    }
};

template <class Blocks, int T>
void block32_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                    float* y, int64_t y_stride) {
    constexpr const Block32Layout& layout = Blocks::kLayout;
    const ActBlock32* a[T];
    float32x4_t acc[T][4];
    for (int t = 0; t < T; ++t) {
        a[t] = reinterpret_cast<const ActBlock32*>(act + t * act_stride);
        for (int p = 0; p < 4; ++p) acc[t][p] = vdupq_n_f32(0);
    }
    for (int64_t b = 0; b < cols / kBlock; ++b) {
        const uint8_t* quants = tile + layout.quants(b);
        int32x4_t sum[T][4];
        int8x16_t x[T][2];
        for (int t = 0; t < T; ++t) {
            const int32x4_t start = vdupq_n_s32(Blocks::kBiasStarts ? a[t][b].bias : 0);
            for (int p = 0; p < 4; ++p) sum[t][p] = start;
            x[t][0] = vld1q_s8(a[t][b].qs);
            x[t][1] = vld1q_s8(a[t][b].qs + 16);
        }
        for_each_constant<8>([&]<int G>() {
            int8x16_t w[4];
            Blocks::template group<G>(quants, w);
            for (int t = 0; t < T; ++t) dot_group<G>(w, x[t], sum[t]);
        });
        RowFloats scale, min;
        load_halves(reinterpret_cast<const uint16_t*>(tile + layout.scales(b)), scale);
        if constexpr (layout.mins)
            load_halves(reinterpret_cast<const uint16_t*>(tile + layout.mins_of(b)), min);
        for (int t = 0; t < T; ++t)
            for (int p = 0; p < 4; ++p) {
                acc[t][p] = vfmaq_f32(acc[t][p], vcvtq_f32_s32(sum[t][p]),
                                      vmulq_n_f32(scale[p], a[t][b].d));
                if constexpr (layout.mins)
                    acc[t][p] = vfmaq_n_f32(acc[t][p], min[p], float(a[t][b].bias) * a[t][b].d);
            }
    }
    for (int t = 0; t < T; ++t)
        for (int p = 0; p < 4; ++p) vst1q_f32(y + t * y_stride + 4 * p, acc[t][p]);
}

// ---- super-blocks of 256 ----

// Widens 16 per-row bytes (unsigned or signed) to four registers of 32-bit integers.
inline void widen_unsigned(const uint8_t* bytes, RowInts out) {
    const uint8x16_t x = vld1q_u8(bytes);
    const uint16x8_t lo = vmovl_u8(vget_low_u8(x)), hi = vmovl_u8(vget_high_u8(x));
    out[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo)));
    out[1] = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(lo)));
    out[2] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi)));
    out[3] = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(hi)));
}
inline void widen_signed(const int8_t* bytes, RowInts out) {
    const int8x16_t x = vld1q_s8(bytes);
    const int16x8_t lo = vmovl_s8(vget_low_s8(x)), hi = vmovl_s8(vget_high_s8(x));
    out[0] = vmovl_s16(vget_low_s16(lo));
    out[1] = vmovl_s16(vget_high_s16(lo));
    out[2] = vmovl_s16(vget_low_s16(hi));
    out[3] = vmovl_s16(vget_high_s16(hi));
}

// Q4_K: per sub-block of 32 the nibbles' dot product times the row's scale, and the row's min
// times the activations' sum; x = d * scale * q - dmin * min.
template <int T>
void q4_k_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride, float* y,
                 int64_t y_stride) {
    const auto* w = reinterpret_cast<const Q4_KSuperBlock*>(tile);
    const ActBlockK* a[T];
    float32x4_t acc[T][4];
    for (int t = 0; t < T; ++t) {
        a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
        for (int p = 0; p < 4; ++p) acc[t][p] = vdupq_n_f32(0);
    }
    for (int64_t s = 0; s < cols / kSuperBlock; ++s) {
        const Q4_KSuperBlock& block = w[s];
        int32x4_t scaled[T][4], mins[T][4];
        for (int t = 0; t < T; ++t)
            for (int p = 0; p < 4; ++p) scaled[t][p] = mins[t][p] = vdupq_n_s32(0);
        for (int j = 0; j < 8; ++j) {
            int32x4_t sum[T][4];
            int8x16_t x[T][2];
            for (int t = 0; t < T; ++t) {
                for (int p = 0; p < 4; ++p) sum[t][p] = vdupq_n_s32(0);
                x[t][0] = vld1q_s8(a[t][s].qs + kBlock * j);
                x[t][1] = vld1q_s8(a[t][s].qs + kBlock * j + 16);
            }
            for_each_constant<8>([&]<int G>() {
                int8x16_t q[4];
                nibble_group<G>(block.qs[j], q);
                for (int t = 0; t < T; ++t) dot_group<G>(q, x[t], sum[t]);
            });
            RowInts scale, min;
            widen_unsigned(block.scales[j], scale);
            widen_unsigned(block.mins[j], min);
            for (int t = 0; t < T; ++t)
                for (int p = 0; p < 4; ++p) {
                    scaled[t][p] = vmlaq_s32(scaled[t][p], sum[t][p], scale[p]);
                    mins[t][p] = vmlaq_n_s32(mins[t][p], min[p], a[t][s].sum32[j]);
                }
        }
        RowFloats d, dmin;
        load_halves(block.d, d);
        load_halves(block.dmin, dmin);
        for (int t = 0; t < T; ++t)
            for (int p = 0; p < 4; ++p) {
                acc[t][p] =
                    vfmaq_f32(acc[t][p], vcvtq_f32_s32(scaled[t][p]), vmulq_n_f32(d[p], a[t][s].d));
                acc[t][p] = vfmsq_f32(acc[t][p], vcvtq_f32_s32(mins[t][p]),
                                      vmulq_n_f32(dmin[p], a[t][s].d));
            }
    }
    for (int t = 0; t < T; ++t)
        for (int p = 0; p < 4; ++p) vst1q_f32(y + t * y_stride + 4 * p, acc[t][p]);
}

// Q6_K: the 6-bit quant q (0..63) of group G of a block, its low four bits from the nibbles and
// its top two from bits 2 (G % 4) of high vector G / 4; per 16 columns (groups 0-3 and 4-7) the
// dot product less 32 times the activations' sum, times the row's scale; x = d * scale * (q - 32).
template <int G>
inline __attribute__((always_inline)) void q6_k_group(const Q6_KBlock32& block, int8x16_t w[4]) {
    nibble_group<G>(block.low, w);
    for (int p = 0; p < 4; ++p) {
        const uint8x16_t high = vld1q_u8(block.high + 64 * (G / 4) + 16 * p);
        const uint8x16_t top =
            vshlq_n_u8(vandq_u8(vshrq_n_u8(high, 2 * (G % 4)), vdupq_n_u8(3)), 4);
        w[p] = vreinterpretq_s8_u8(vorrq_u8(vreinterpretq_u8_s8(w[p]), top));
    }
}

template <int T>
void q6_k_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride, float* y,
                 int64_t y_stride) {
    const auto* w = reinterpret_cast<const Q6_KSuperBlock*>(tile);
    const ActBlockK* a[T];
    float32x4_t acc[T][4];
    for (int t = 0; t < T; ++t) {
        a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
        for (int p = 0; p < 4; ++p) acc[t][p] = vdupq_n_f32(0);
    }
    for (int64_t s = 0; s < cols / kSuperBlock; ++s) {
        const Q6_KSuperBlock& block = w[s];
        int32x4_t scaled[T][4];
        for (int t = 0; t < T; ++t)
            for (int p = 0; p < 4; ++p) scaled[t][p] = vdupq_n_s32(0);
        for (int j = 0; j < 8; ++j) {
            int32x4_t sum[T][2][4];  // per half (16 columns)
            int8x16_t x[T][2];
            for (int t = 0; t < T; ++t) {
                for (int h = 0; h < 2; ++h) {
                    const int32x4_t start = vdupq_n_s32(-32 * a[t][s].sum16[2 * j + h]);
                    for (int p = 0; p < 4; ++p) sum[t][h][p] = start;
                }
                x[t][0] = vld1q_s8(a[t][s].qs + kBlock * j);
                x[t][1] = vld1q_s8(a[t][s].qs + kBlock * j + 16);
            }
            for_each_constant<8>([&]<int G>() {
                int8x16_t q[4];
                q6_k_group<G>(block.blocks[j], q);
                for (int t = 0; t < T; ++t) dot_group<G>(q, x[t], sum[t][G / 4]);
            });
            for (int h = 0; h < 2; ++h) {
                RowInts scale;
                widen_signed(block.scales[2 * j + h], scale);
                for (int t = 0; t < T; ++t)
                    for (int p = 0; p < 4; ++p)
                        scaled[t][p] = vmlaq_s32(scaled[t][p], sum[t][h][p], scale[p]);
            }
        }
        RowFloats d;
        load_halves(block.d, d);
        for (int t = 0; t < T; ++t)
            for (int p = 0; p < 4; ++p)
                acc[t][p] =
                    vfmaq_f32(acc[t][p], vcvtq_f32_s32(scaled[t][p]), vmulq_n_f32(d[p], a[t][s].d));
    }
    for (int t = 0; t < T; ++t)
        for (int p = 0; p < 4; ++p) vst1q_f32(y + t * y_stride + 4 * p, acc[t][p]);
}

template <class Blocks>
void block32_gemm(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                  int64_t n_tokens, float* y, int64_t y_stride) {
    gemm_by_fours<block32_tokens<Blocks, 4>, block32_tokens<Blocks, 3>, block32_tokens<Blocks, 2>,
                  block32_tokens<Blocks, 1>>(tile, cols, act, act_stride, n_tokens, y, y_stride);
}

PackedKernels with_reference_activations(GgmlType type, PackedGemmFn gemm) {
    return {gemm, packed_kernels_reference(type).quantize_activation};
}

}  // namespace

PackedKernels packed_kernels_neon(GgmlType type) {
    switch (type) {
        case GgmlType::Q4_0:
            return with_reference_activations(type, block32_gemm<Q4_0Blocks>);
        case GgmlType::Q4_1:
            return with_reference_activations(type, block32_gemm<Q4_1Blocks>);
        case GgmlType::Q8_0:
            return with_reference_activations(type, block32_gemm<Q8_0Blocks>);
        case GgmlType::IQ4_NL:
            return with_reference_activations(type, block32_gemm<IQ4_NLBlocks>);
        case GgmlType::Q4_K:
            return with_reference_activations(
                type,
                gemm_by_fours<q4_k_tokens<4>, q4_k_tokens<3>, q4_k_tokens<2>, q4_k_tokens<1>>);
        case GgmlType::Q6_K:
            return with_reference_activations(
                type,
                gemm_by_fours<q6_k_tokens<4>, q6_k_tokens<3>, q6_k_tokens<2>, q6_k_tokens<1>>);
        default:
            return {};
    }
}

}  // namespace uma::cpu::detail

#else  // not AArch64 with the dot-product instructions

namespace uma::cpu::detail {
PackedKernels packed_kernels_neon(GgmlType) {
    return {};
}
}  // namespace uma::cpu::detail

#endif
