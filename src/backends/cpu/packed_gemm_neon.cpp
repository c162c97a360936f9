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

// x >> N and x << N for 0 <= N < 8 (the intrinsics take no shift by 0).
template <int N>
inline uint8x16_t shift_right(uint8x16_t x) {
    if constexpr (N == 0)
        return x;
    else
        return vshrq_n_u8(x, N);
}
template <int N>
inline uint8x16_t shift_left(uint8x16_t x) {
    if constexpr (N == 0)
        return x;
    else
        return vshlq_n_u8(x, N);
}

// Adds to group G the bit it keeps, for every row, in bit G of its lane's bytes (64 bytes at
// `bits`: Q5's fifth bits, Q3_K's third), as bit `Position` of each quant.
template <int G, int Position>
inline __attribute__((always_inline)) void add_high_bits(const uint8_t* bits, int8x16_t w[4]) {
    for (int p = 0; p < 4; ++p) {
        const uint8x16_t x = vld1q_u8(bits + 16 * p);
        const uint8x16_t bit = G > Position ? shift_right<(G > Position ? G - Position : 0)>(x)
                                            : shift_left<(G > Position ? 0 : Position - G)>(x);
        w[p] = vreinterpretq_s8_u8(
            vorrq_u8(vreinterpretq_u8_s8(w[p]), vandq_u8(bit, vdupq_n_u8(1 << Position))));
    }
}

// Adds to group G its bit pairs (128 bytes at `pairs`: vector G / 4, bits 2 (G % 4) .. + 1; Q2_K's
// quants, Q3_K's low bits, Q6_K's high bits) as bits Position .. Position + 1 of each quant.
template <int G, int Position>
inline __attribute__((always_inline)) void add_bit_pairs(const uint8_t* pairs, int8x16_t w[4]) {
    for (int p = 0; p < 4; ++p) {
        const uint8x16_t x = vld1q_u8(pairs + 64 * (G / 4) + 16 * p);
        const uint8x16_t pair = vandq_u8(shift_right<2 * (G % 4)>(x), vdupq_n_u8(3));
        w[p] = vreinterpretq_s8_u8(vorrq_u8(vreinterpretq_u8_s8(w[p]), shift_left<Position>(pair)));
    }
}

// The signed table entries (IQ4_NL, IQ4_XS) that nibbles index.
inline void lookup_iq4(int8x16_t w[4]) {
    const int8x16_t table = vld1q_s8(blocks::kIq4Values);
    for (int p = 0; p < 4; ++p) w[p] = vqtbl1q_s8(table, vreinterpretq_u8_s8(w[p]));
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
        nibble_group<G>(quants, w);
        lookup_iq4(w);
    }
};
// Q5_0 and Q5_1: the fifth bits (64 bytes) before the nibbles; x = d (q - 16), or d q + m.
struct Q5_0Blocks {
    static constexpr const Block32Layout& kLayout = kQ5_0Layout;
    static constexpr bool kBiasStarts = true;
    template <int G>
    static void group(const uint8_t* quants, int8x16_t w[4]) {
        nibble_group<G>(quants + 64, w);
        add_high_bits<G, 4>(quants, w);
    }
};
struct Q5_1Blocks : Q5_0Blocks {
    static constexpr const Block32Layout& kLayout = kQ5_1Layout;
    static constexpr bool kBiasStarts = false;
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
inline void widen(uint8x16_t x, RowInts out) {
    const uint16x8_t lo = vmovl_u8(vget_low_u8(x)), hi = vmovl_u8(vget_high_u8(x));
    out[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo)));
    out[1] = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(lo)));
    out[2] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi)));
    out[3] = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(hi)));
}
inline void widen(int8x16_t x, RowInts out) {
    const int16x8_t lo = vmovl_s8(vget_low_s8(x)), hi = vmovl_s8(vget_high_s8(x));
    out[0] = vmovl_s16(vget_low_s16(lo));
    out[1] = vmovl_s16(vget_high_s16(lo));
    out[2] = vmovl_s16(vget_low_s16(hi));
    out[3] = vmovl_s16(vget_high_s16(hi));
}
template <class Byte>
inline void widen_bytes(const Byte* bytes, RowInts out) {
    if constexpr (sizeof(Byte) == 1 && Byte(-1) < Byte(0))
        widen(vld1q_s8(reinterpret_cast<const int8_t*>(bytes)), out);
    else
        widen(vld1q_u8(reinterpret_cast<const uint8_t*>(bytes)), out);
}

// Each super-block format: how group G of block j (32 columns) becomes signed bytes, whether its
// scales apply per 16 columns (kHalves: groups 0-3 and 4-7 summed apart) or per 32, where each sum
// starts, and how the sums of block j enter the rows' scaled sums and mins (per token). The
// kernel then scales those by d (and dmin) as the scalar kernel does.
struct Q4_KFormat {
    using SuperBlock = Q4_KSuperBlock;
    static constexpr bool kHalves = false;
    template <int G>
    static void group(const SuperBlock& block, int j, int8x16_t w[4]) {
        nibble_group<G>(block.qs[j], w);
    }
    static int32_t start(const ActBlockK&, int) { return 0; }
    template <class Block>  // Q4_K's and Q5_K's
    static void add(const Block& block, int j, const int32x4_t* sums, const ActBlockK& a,
                    RowInts scaled, RowInts mins) {
        RowInts scale, min;
        widen_bytes(block.scales[j], scale);
        widen_bytes(block.mins[j], min);
        for (int p = 0; p < 4; ++p) {
            scaled[p] = vmlaq_s32(scaled[p], sums[p], scale[p]);
            mins[p] = vmlaq_n_s32(mins[p], min[p], a.sum32[j]);
        }
    }
};
// Q5_K: Q4_K's nibbles with the fifth bits (bit G of lane r's bytes) moved to bit 4.
struct Q5_KFormat : Q4_KFormat {
    using SuperBlock = Q5_KSuperBlock;
    template <int G>
    static void group(const SuperBlock& block, int j, int8x16_t w[4]) {
        nibble_group<G>(block.blocks[j].low, w);
        add_high_bits<G, 4>(block.blocks[j].high, w);
    }
};
// The signed per-16-column scales of Q3_K and Q6_K: x = d * scale * (q - offset).
template <class Block>
void add_sixteen_scaled(const Block& block, int j, const int32x4_t* sums, RowInts scaled) {
    for (int h = 0; h < 2; ++h) {
        RowInts scale;
        widen_bytes(block.scales[2 * j + h], scale);
        for (int p = 0; p < 4; ++p) scaled[p] = vmlaq_s32(scaled[p], sums[4 * h + p], scale[p]);
    }
}
struct Q6_KFormat {
    using SuperBlock = Q6_KSuperBlock;
    static constexpr bool kHalves = true;
    template <int G>
    static void group(const SuperBlock& block, int j, int8x16_t w[4]) {
        nibble_group<G>(block.blocks[j].low, w);
        add_bit_pairs<G, 4>(block.blocks[j].high, w);
    }
    static int32_t start(const ActBlockK& a, int k) { return -32 * a.sum16[k]; }
    static void add(const SuperBlock& block, int j, const int32x4_t* sums, const ActBlockK&,
                    RowInts scaled, RowInts) {
        add_sixteen_scaled(block, j, sums, scaled);
    }
};
// Q3_K: the low two bits in bit pairs, the third (bit G of lane r's bytes) moved to bit 2.
struct Q3_KFormat : Q6_KFormat {
    using SuperBlock = Q3_KSuperBlock;
    template <int G>
    static void group(const SuperBlock& block, int j, int8x16_t w[4]) {
        for (int p = 0; p < 4; ++p) w[p] = vdupq_n_s8(0);
        add_bit_pairs<G, 0>(block.blocks[j].low, w);
        add_high_bits<G, 2>(block.blocks[j].high, w);
    }
    static int32_t start(const ActBlockK& a, int k) { return -4 * a.sum16[k]; }
    static void add(const SuperBlock& block, int j, const int32x4_t* sums, const ActBlockK&,
                    RowInts scaled, RowInts) {
        add_sixteen_scaled(block, j, sums, scaled);
    }
};
// Q2_K: bit pairs; per 16 columns a 4-bit scale (low nibble) and min (high nibble).
struct Q2_KFormat {
    using SuperBlock = Q2_KSuperBlock;
    static constexpr bool kHalves = true;
    template <int G>
    static void group(const SuperBlock& block, int j, int8x16_t w[4]) {
        for (int p = 0; p < 4; ++p) w[p] = vdupq_n_s8(0);
        add_bit_pairs<G, 0>(block.qs[j], w);
    }
    static int32_t start(const ActBlockK&, int) { return 0; }
    static void add(const SuperBlock& block, int j, const int32x4_t* sums, const ActBlockK& a,
                    RowInts scaled, RowInts mins) {
        for (int h = 0; h < 2; ++h) {
            const uint8x16_t packed = vld1q_u8(block.scales[2 * j + h]);
            RowInts scale, min;
            widen(vandq_u8(packed, vdupq_n_u8(0x0F)), scale);
            widen(vshrq_n_u8(packed, 4), min);
            for (int p = 0; p < 4; ++p) {
                scaled[p] = vmlaq_s32(scaled[p], sums[4 * h + p], scale[p]);
                mins[p] = vmlaq_n_s32(mins[p], min[p], a.sum16[2 * j + h]);
            }
        }
    }
};
// IQ4_XS: the nibbles index the table; signed per-32-column scales.
struct IQ4_XSFormat {
    using SuperBlock = IQ4_XSSuperBlock;
    static constexpr bool kHalves = false;
    template <int G>
    static void group(const SuperBlock& block, int j, int8x16_t w[4]) {
        nibble_group<G>(block.qs[j], w);
        lookup_iq4(w);
    }
    static int32_t start(const ActBlockK&, int) { return 0; }
    static void add(const SuperBlock& block, int j, const int32x4_t* sums, const ActBlockK&,
                    RowInts scaled, RowInts) {
        RowInts scale;
        widen_bytes(block.scales[j], scale);
        for (int p = 0; p < 4; ++p) scaled[p] = vmlaq_s32(scaled[p], sums[p], scale[p]);
    }
};

template <class Format, int T>
void superblock_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                       float* y, int64_t y_stride) {
    using SuperBlock = typename Format::SuperBlock;
    constexpr bool kMins = requires(const SuperBlock& b) {
        b.dmin;
    };
    constexpr int kSums = Format::kHalves ? 2 : 1;  // per block of 32
    const auto* w = reinterpret_cast<const SuperBlock*>(tile);
    const ActBlockK* a[T];
    float32x4_t acc[T][4];
    for (int t = 0; t < T; ++t) {
        a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
        for (int p = 0; p < 4; ++p) acc[t][p] = vdupq_n_f32(0);
    }
    for (int64_t s = 0; s < cols / kSuperBlock; ++s) {
        const SuperBlock& block = w[s];
        int32x4_t scaled[T][4], mins[T][4];
        for (int t = 0; t < T; ++t)
            for (int p = 0; p < 4; ++p) scaled[t][p] = mins[t][p] = vdupq_n_s32(0);
        for (int j = 0; j < 8; ++j) {
            int32x4_t sum[T][kSums * 4];
            int8x16_t x[T][2];
            for (int t = 0; t < T; ++t) {
                for (int h = 0; h < kSums; ++h) {
                    const int32x4_t start = vdupq_n_s32(Format::start(a[t][s], kSums * j + h));
                    for (int p = 0; p < 4; ++p) sum[t][4 * h + p] = start;
                }
                x[t][0] = vld1q_s8(a[t][s].qs + kBlock * j);
                x[t][1] = vld1q_s8(a[t][s].qs + kBlock * j + 16);
            }
            for_each_constant<8>([&]<int G>() {
                int8x16_t q[4];
                Format::template group<G>(block, j, q);
                for (int t = 0; t < T; ++t)
                    dot_group<G>(q, x[t], sum[t] + (Format::kHalves ? 4 * (G / 4) : 0));
            });
            for (int t = 0; t < T; ++t) Format::add(block, j, sum[t], a[t][s], scaled[t], mins[t]);
        }
        RowFloats d, dmin;
        load_halves(block.d, d);
        if constexpr (kMins) load_halves(block.dmin, dmin);
        for (int t = 0; t < T; ++t)
            for (int p = 0; p < 4; ++p) {
                acc[t][p] =
                    vfmaq_f32(acc[t][p], vcvtq_f32_s32(scaled[t][p]), vmulq_n_f32(d[p], a[t][s].d));
                if constexpr (kMins)
                    acc[t][p] = vfmsq_f32(acc[t][p], vcvtq_f32_s32(mins[t][p]),
                                          vmulq_n_f32(dmin[p], a[t][s].d));
            }
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

template <class Format>
void superblock_gemm(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                     int64_t n_tokens, float* y, int64_t y_stride) {
    gemm_by_fours<superblock_tokens<Format, 4>, superblock_tokens<Format, 3>,
                  superblock_tokens<Format, 2>, superblock_tokens<Format, 1>>(
        tile, cols, act, act_stride, n_tokens, y, y_stride);
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
        case GgmlType::Q5_0:
            return with_reference_activations(type, block32_gemm<Q5_0Blocks>);
        case GgmlType::Q5_1:
            return with_reference_activations(type, block32_gemm<Q5_1Blocks>);
        case GgmlType::Q8_0:
            return with_reference_activations(type, block32_gemm<Q8_0Blocks>);
        case GgmlType::IQ4_NL:
            return with_reference_activations(type, block32_gemm<IQ4_NLBlocks>);
        case GgmlType::Q2_K:
            return with_reference_activations(type, superblock_gemm<Q2_KFormat>);
        case GgmlType::Q3_K:
            return with_reference_activations(type, superblock_gemm<Q3_KFormat>);
        case GgmlType::Q4_K:
            return with_reference_activations(type, superblock_gemm<Q4_KFormat>);
        case GgmlType::Q5_K:
            return with_reference_activations(type, superblock_gemm<Q5_KFormat>);
        case GgmlType::Q6_K:
            return with_reference_activations(type, superblock_gemm<Q6_KFormat>);
        case GgmlType::IQ4_XS:
            return with_reference_activations(type, superblock_gemm<IQ4_XSFormat>);
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
