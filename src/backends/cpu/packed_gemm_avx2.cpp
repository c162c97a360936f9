// AVX2 kernels for the packed formats (see packed_layouts.h), for x86-64 CPUs without AVX-512
// VNNI. Every 64-byte vector of a tile is taken as two 32-byte halves: rows 0-7 and rows 8-15.
//
// AVX2 has no byte dot product into 32 bits. maddubs multiplies unsigned weight bytes with signed
// activation bytes and adds neighbours into 16 bits, so the sums stay in 16-bit lanes for as long
// as they provably cannot overflow (named at each kernel), and one madd per block widens them to
// 32 bits, applying the block's integer scale where the format has one. Q8_0's 8-bit quants would
// overflow maddubs as unsigned bytes, so they are multiplied as |q| with the activation carrying
// q's sign (the bias of the activation block is then not needed).
//
// One token reads both halves in one pass; several tokens go through a tile once per half, which
// keeps their accumulators in AVX2's 16 registers (the second pass finds the tile in L2).
#include "backends/cpu/packed_formats.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "backends/cpu/packed_gemm_driver.h"
#include "backends/cpu/packed_layouts.h"
#include "backends/cpu/quant_blocks.h"

namespace uma::cpu::detail {
namespace {

using namespace packed;

constexpr int kHalfRows = 8;

inline __m256i broadcast_dword(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

inline __m256i load_half(const uint8_t* vector, int half) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(vector + 32 * half));
}

// Group g (0..7) of a block in the nibble layout, rows of `half`, as unsigned bytes 0..15.
inline __m256i nibble_group(const uint8_t* quants, int g, int half) {
    const __m256i x = load_half(quants + 64 * (g / 2), half);
    const __m256i shifted = g % 2 ? _mm256_srli_epi16(x, 4) : x;
    return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0F));
}

// 16-bit pair sums of one nibble block (32 columns) with each token's activations. Each maddubs
// lane is at most 2 * 15 * 127 = 3810, so eight groups stay below 2^15.
template <int T>
inline void nibble_block_pairs(const uint8_t* quants, int half, const int8_t* const a[T],
                               __m256i pairs[T]) {
    for (int t = 0; t < T; ++t) pairs[t] = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
        const __m256i w = nibble_group(quants, g, half);
        for (int t = 0; t < T; ++t)
            pairs[t] =
                _mm256_add_epi16(pairs[t], _mm256_maddubs_epi16(w, broadcast_dword(a[t] + 4 * g)));
    }
}

// The 8 rows' scales of a half as floats, from 16 fp16 per block.
inline __m256 half_scales(const uint8_t* scales, int half) {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + 2 * kHalfRows * half)));
}

// A byte per row (8 rows from `bytes`) as a 32-bit lane; `Signed` sign-extends.
template <bool Signed>
inline __m256i widen_bytes(const void* bytes) {
    const __m128i eight = _mm_loadl_epi64(static_cast<const __m128i*>(bytes));
    return Signed ? _mm256_cvtepi8_epi32(eight) : _mm256_cvtepu8_epi32(eight);
}
// The low 16 bits of every lane in both of its halves, so that madd multiplies both pair sums of a
// lane by it.
inline __m256i both_halves(__m256i lanes) {
    return _mm256_blend_epi16(lanes, _mm256_slli_epi32(lanes, 16), 0xAA);
}
// The low 16 bits of every lane, 0 above: madd with a value v in the low 16 bits of every lane
// (and 0 above) then gives lane * v exactly.
inline __m256i low_half(__m256i lanes) {
    return _mm256_and_si256(lanes, _mm256_set1_epi32(0xFFFF));
}
inline __m256i low_16(int32_t v) {
    return _mm256_set1_epi32(v & 0xFFFF);
}

// ---- the blocks of 32: Q4_0, Q8_0, IQ4_NL, Q4_1, Q5_0, Q5_1 ----

// What a block's activation bias is to these kernels: added to the integer sum (Q4_0, Q5_0), left
// out (Q8_0 and IQ4_NL, whose sums here need no offset), or multiplied by the min (Q4_1, Q5_1).
enum class Bias { add, none, min };

// A block's integer sums (rows of `half`) into the accumulators of T tokens, times both scales.
template <int T, Bias kBias>
inline void add_block_sums(const __m256i sums[T], const uint8_t* scales, int half,
                           const ActBlock32* const a[T], int64_t b, __m256 acc[T]) {
    const __m256 w_scale = half_scales(scales, half);
    const __m256 min = kBias == Bias::min ? half_scales(scales + Block32Layout::kScaleBytes, half)
                                          : _mm256_setzero_ps();
    for (int t = 0; t < T; ++t) {
        const ActBlock32& x = a[t][b];
        const __m256i sum =
            kBias == Bias::add ? _mm256_add_epi32(sums[t], _mm256_set1_epi32(x.bias)) : sums[t];
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum),
                                 _mm256_mul_ps(w_scale, _mm256_set1_ps(x.d)), acc[t]);
        if constexpr (kBias == Bias::min)
            acc[t] = _mm256_fmadd_ps(min, _mm256_set1_ps(float(x.bias) * x.d), acc[t]);
    }
}

// A nibble block (Q4_0, Q4_1) of 32 columns (rows of `half`) into the accumulators of T tokens.
template <int T, Bias kBias>
inline void nibble_block(const uint8_t* quants, const uint8_t* scales, int half,
                         const ActBlock32* const a[T], int64_t b, __m256 acc[T]) {
    const int8_t* qs[T];
    for (int t = 0; t < T; ++t) qs[t] = a[t][b].qs;
    __m256i pairs[T], sums[T];
    nibble_block_pairs<T>(quants, half, qs, pairs);
    for (int t = 0; t < T; ++t) sums[t] = _mm256_madd_epi16(pairs[t], _mm256_set1_epi16(1));
    add_block_sums<T, kBias>(sums, scales, half, a, b, acc);
}

// Group g of a 5-bit block (rows of `half`) as unsigned values: the nibbles, and the group's
// fifth bits (bit g of each byte of the rows' high bits, see Q5_KBlock32) shifted into bit 4 (the
// 16-bit shifts carry bits across bytes, never into bit 4, which alone is kept).
inline __m256i five_bit_group(const uint8_t* low, __m256i high, int g, int half) {
    const __m256i shifted = g < 4   ? _mm256_slli_epi16(high, 4 - g)
                            : g > 4 ? _mm256_srli_epi16(high, g - 4)
                                    : high;
    return _mm256_or_si256(nibble_group(low, g, half),
                           _mm256_and_si256(shifted, _mm256_set1_epi8(0x10)));
}

// Adds each token's pair sums over a 5-bit block of 32 columns, madd-ed with `factors`, to
// sums[t]. Each maddubs lane of 5-bit quants is at most 2 * 31 * 127 = 7874, so the pair sums
// widen to 32 bits every four groups rather than every eight.
template <int T>
inline void add_five_bit_block(const uint8_t* high_bits, const uint8_t* low, int half,
                               const int8_t* const qs[T], __m256i factors, __m256i sums[T]) {
    const __m256i high = load_half(high_bits, half);
    for (int first = 0; first < 8; first += 4) {
        __m256i pairs[T];
        for (int t = 0; t < T; ++t) pairs[t] = _mm256_setzero_si256();
        for (int g = first; g < first + 4; ++g) {
            const __m256i w = five_bit_group(low, high, g, half);
            for (int t = 0; t < T; ++t)
                pairs[t] = _mm256_add_epi16(
                    pairs[t], _mm256_maddubs_epi16(w, broadcast_dword(qs[t] + 4 * g)));
        }
        for (int t = 0; t < T; ++t)
            sums[t] = _mm256_add_epi32(sums[t], _mm256_madd_epi16(pairs[t], factors));
    }
}

// A Q5_0 or Q5_1 block: the fifth bits (64 bytes), then the nibbles.
template <int T, Bias kBias>
inline void five_bit_block(const uint8_t* quants, const uint8_t* scales, int half,
                           const ActBlock32* const a[T], int64_t b, __m256 acc[T]) {
    const int8_t* qs[T];
    __m256i sums[T];
    for (int t = 0; t < T; ++t) qs[t] = a[t][b].qs, sums[t] = _mm256_setzero_si256();
    add_five_bit_block<T>(quants, quants + 64, half, qs, _mm256_set1_epi16(1), sums);
    add_block_sums<T, kBias>(sums, scales, half, a, b, acc);
}

// The table's entries and their magnitudes in both 128-bit lanes (vpshufb looks up within a lane),
// for maddubs as in signed_block.
struct Iq4Tables {
    __m256i values, magnitudes;
    Iq4Tables() {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks::kIq4Values));
        values = _mm256_broadcastsi128_si256(v);
        magnitudes = _mm256_abs_epi8(values);
    }
};

// A block of 32 columns whose group g (rows of `half`) group(g) gives as signed bytes and their
// magnitudes: maddubs multiplies the magnitudes, unsigned, by the activations carrying the bytes'
// signs. The products pair up to at most 2 * 128 * 127 < 2^15, but two groups could overflow, so
// every group widens to 32 bits at once. sum q * a is the dot product itself: no bias.
template <int T, class Group>
inline void signed_block(Group group, const uint8_t* scales, int half, const ActBlock32* const a[T],
                         int64_t b, __m256 acc[T]) {
    __m256i sums[T];
    for (int t = 0; t < T; ++t) sums[t] = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
        const auto [q, magnitude] = group(g);
        for (int t = 0; t < T; ++t) {
            const __m256i signed_a = _mm256_sign_epi8(broadcast_dword(a[t][b].qs + 4 * g), q);
            sums[t] = _mm256_add_epi32(
                sums[t],
                _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, signed_a), _mm256_set1_epi16(1)));
        }
    }
    add_block_sums<T, Bias::none>(sums, scales, half, a, b, acc);
}

struct SignedGroup {
    __m256i q, magnitude;
};

// Q8_0's quants are stored as q + 128; flipping the top bit gives q back, signed.
template <int T>
inline void q8_0_block(const uint8_t* quants, const uint8_t* scales, int half,
                       const ActBlock32* const a[T], int64_t b, __m256 acc[T]) {
    const auto group = [&](int g) {
        const __m256i q =
            _mm256_xor_si256(load_half(quants + 64 * g, half), _mm256_set1_epi8(char(0x80)));
        return SignedGroup{q, _mm256_abs_epi8(q)};  // -128 becomes 128, right as unsigned
    };
    signed_block<T>(group, scales, half, a, b, acc);
}

// IQ4_NL's nibbles index kIq4Values.
template <int T>
inline void iq4_nl_block(const uint8_t* quants, const uint8_t* scales, int half,
                         const ActBlock32* const a[T], int64_t b, __m256 acc[T]) {
    const Iq4Tables tables;
    const auto group = [&](int g) {
        const __m256i index = nibble_group(quants, g, half);
        return SignedGroup{_mm256_shuffle_epi8(tables.values, index),
                           _mm256_shuffle_epi8(tables.magnitudes, index)};
    };
    signed_block<T>(group, scales, half, a, b, acc);
}

// The blocks of 32 of one format: how its quants become bytes (kind), what its activations' bias
// is to the sums, its layout, and whether decode reads ahead (see read_ahead).
enum class Kind { nibbles, bytes, table, five_bits };
template <const Block32Layout& Layout, Kind kKindOf, Bias kBiasOf, bool kReadAheadOf>
struct Blocks32 {
    static constexpr Block32Layout kLayout = Layout;
    static constexpr Kind kKind = kKindOf;
    static constexpr Bias kBias = kBiasOf;
    static constexpr bool kReadAhead = kReadAheadOf;
};
using Q4_0Blocks = Blocks32<kQ4_0Layout, Kind::nibbles, Bias::add, true>;
using Q8_0Blocks = Blocks32<kQ8_0Layout, Kind::bytes, Bias::none, false>;
using IQ4_NLBlocks = Blocks32<kQ4_0Layout, Kind::table, Bias::none, true>;  // packed as Q4_0
using Q4_1Blocks = Blocks32<kQ4_1Layout, Kind::nibbles, Bias::min, true>;
using Q5_0Blocks = Blocks32<kQ5_0Layout, Kind::five_bits, Bias::add, true>;
using Q5_1Blocks = Blocks32<kQ5_1Layout, Kind::five_bits, Bias::min, true>;

template <class Blocks, int T>
inline void block32(const uint8_t* quants, const uint8_t* scales, int half,
                    const ActBlock32* const a[T], int64_t b, __m256 acc[T]) {
    if constexpr (Blocks::kKind == Kind::nibbles)
        nibble_block<T, Blocks::kBias>(quants, scales, half, a, b, acc);
    else if constexpr (Blocks::kKind == Kind::bytes)
        q8_0_block<T>(quants, scales, half, a, b, acc);
    else if constexpr (Blocks::kKind == Kind::table)
        iq4_nl_block<T>(quants, scales, half, a, b, acc);
    else
        five_bit_block<T, Blocks::kBias>(quants, scales, half, a, b, acc);
}

// The halves a pass over a tile covers: both for one token, one at a time for more.
template <int T>
constexpr int kHalvesPerPass = T == 1 ? 2 : 1;

// The passes over a tile: `pass(first, acc)` accumulates halves first .. first + kHalvesPerPass - 1
// (acc[h] for half first + h) over the whole tile; the sums of its rows then go to y.
template <int T, class Pass>
inline void over_halves(float* y, int64_t y_stride, Pass&& pass) {
    constexpr int kHalves = kHalvesPerPass<T>;
    for (int first = 0; first < 2; first += kHalves) {
        __m256 acc[kHalves][T];
        for (int h = 0; h < kHalves; ++h)
            for (int t = 0; t < T; ++t) acc[h][t] = _mm256_setzero_ps();
        pass(first, acc);
        for (int h = 0; h < kHalves; ++h)
            for (int t = 0; t < T; ++t)
                _mm256_storeu_ps(y + t * y_stride + kHalfRows * (first + h), acc[h][t]);
    }
}

template <class Blocks, int T>
void block32_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                    float* y, int64_t y_stride) {
    constexpr Block32Layout layout = Blocks::kLayout;
    constexpr int kHalves = kHalvesPerPass<T>;
    const int64_t groups = cols / (layout.group * kBlock);
    const ActBlock32* a[T];
    for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const ActBlock32*>(act + t * act_stride);
    over_halves<T>(y, y_stride, [&](int first, __m256(&acc)[kHalves][T]) {
        for (int64_t g = 0; g < groups; ++g) {
            const uint8_t* group = tile + size_t(g) * layout.group_bytes();
            if constexpr (T == 1 && Blocks::kReadAhead) read_ahead(group, layout.group_bytes());
                // Unrolled, so that each load steps through memory with one fixed stride.
#pragma GCC unroll 8
            for (int64_t i = 0; i < layout.group; ++i)
                for (int h = 0; h < kHalves; ++h)
                    block32<Blocks, T>(group + layout.quants(i), group + layout.scales(i),
                                       first + h, a, layout.group * g + i, acc[h]);
        }
    });
}

// ---- Q4_K and Q5_K ----

// Adds each token's sum over sub-block j (rows of `half`), times the rows' scales, to scaled[t].
struct Q4_KBlocks {
    using SuperBlock = Q4_KSuperBlock;
    template <int T>
    static void add_scaled(const SuperBlock& block, int j, int half, const int8_t* const qs[T],
                           __m256i scale, __m256i scaled[T]) {
        __m256i pairs[T];
        nibble_block_pairs<T>(block.qs[j], half, qs, pairs);
        for (int t = 0; t < T; ++t)
            scaled[t] = _mm256_add_epi32(scaled[t], _mm256_madd_epi16(pairs[t], scale));
    }
};

struct Q5_KBlocks {
    using SuperBlock = Q5_KSuperBlock;
    template <int T>
    static void add_scaled(const SuperBlock& block, int j, int half, const int8_t* const qs[T],
                           __m256i scale, __m256i scaled[T]) {
        add_five_bit_block<T>(block.blocks[j].high, block.blocks[j].low, half, qs, scale, scaled);
    }
};

template <class Blocks, int T>
void k_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride, float* y,
              int64_t y_stride) {
    using SuperBlock = typename Blocks::SuperBlock;
    constexpr int kHalves = kHalvesPerPass<T>;
    const int64_t ns = cols / kSuperBlock;
    const auto* w = reinterpret_cast<const SuperBlock*>(tile);
    const ActBlockK* a[T];
    for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
    over_halves<T>(y, y_stride, [&](int first, __m256(&acc)[kHalves][T]) {
        for (int64_t s = 0; s < ns; ++s) {
            const SuperBlock& block = w[s];
            if constexpr (T == 1) read_ahead(&block, sizeof block);
            for (int h = 0; h < kHalves; ++h) {
                const int half = first + h;
                __m256i scaled[T], mins[T];
                for (int t = 0; t < T; ++t) scaled[t] = mins[t] = _mm256_setzero_si256();
                for (int j = 0; j < 8; ++j) {
                    const int8_t* qs[T];
                    for (int t = 0; t < T; ++t) qs[t] = a[t][s].qs + kBlock * j;
                    // The pair sums (each < 2^15) times the 6-bit scale; the 6-bit min times the
                    // activations' sum (|sum32| <= 32 * 127 < 2^15).
                    const __m256i scale =
                        both_halves(widen_bytes<false>(block.scales[j] + kHalfRows * half));
                    Blocks::template add_scaled<T>(block, j, half, qs, scale, scaled);
                    const __m256i min = widen_bytes<false>(block.mins[j] + kHalfRows * half);
                    for (int t = 0; t < T; ++t)
                        mins[t] = _mm256_add_epi32(
                            mins[t], _mm256_madd_epi16(min, low_16(a[t][s].sum32[j])));
                }
                const __m256 d = half_scales(reinterpret_cast<const uint8_t*>(block.d), half);
                const __m256 dmin = half_scales(reinterpret_cast<const uint8_t*>(block.dmin), half);
                for (int t = 0; t < T; ++t) {
                    const __m256 x_scale = _mm256_set1_ps(a[t][s].d);
                    acc[h][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaled[t]),
                                                _mm256_mul_ps(d, x_scale), acc[h][t]);
                    acc[h][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mins[t]),
                                                 _mm256_mul_ps(dmin, x_scale), acc[h][t]);
                }
            }
        }
    });
}

// ---- Q6_K ----

// The eight groups of a Q6_K block (rows of `half`) as unsigned 6-bit values: the low nibbles as
// in nibble_group, the top two bits of group 4h + s from bits 2s..2s+1 of high vector h, moved to
// bits 4-5 (the 16-bit shifts carry bits across bytes, which the mask drops).
inline void unpack_q6_k(const Q6_KBlock32& block, int half, __m256i w[8]) {
    const __m256i top = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; ++h) {
        const __m256i high = load_half(block.high + 64 * h, half);
        const __m256i bits[4] = {_mm256_slli_epi16(high, 4), _mm256_slli_epi16(high, 2), high,
                                 _mm256_srli_epi16(high, 2)};
        for (int s = 0; s < 4; ++s)
            w[4 * h + s] = _mm256_or_si256(_mm256_and_si256(bits[s], top),
                                           nibble_group(block.low, 4 * h + s, half));
    }
}

// The eight groups of a Q3_K block (rows of `half`) as unsigned 3-bit values (q + 4): the bit
// pairs of `low` as Q6_K's high bits, the third bit of group g from bit g of `high` (the 16-bit
// shifts carry bits across bytes, which the masks drop).
// The eight groups of 128 bytes of bit pairs (Q2_K's quants, Q3_K's low bits; rows of `half`):
// group g from bits 2 (g % 4) of vector g / 4 (the 16-bit shifts carry bits across bytes, which
// the mask drops).
inline void unpack_bit_pairs(const uint8_t* pairs, int half, __m256i w[8]) {
    const __m256i two = _mm256_set1_epi8(0x03);
    const __m256i v[2] = {load_half(pairs, half), load_half(pairs + 64, half)};
    for (int g = 0; g < 8; ++g)
        w[g] = _mm256_and_si256(_mm256_srli_epi16(v[g / 4], 2 * (g % 4)), two);
}

inline void unpack_q3_k(const Q3_KBlock32& block, int half, __m256i w[8]) {
    unpack_bit_pairs(block.low, half, w);
    const __m256i third = _mm256_set1_epi8(0x04);
    const __m256i high = load_half(block.high, half);
    for (int g = 0; g < 8; ++g) {
        const __m256i top = g < 2   ? _mm256_slli_epi16(high, 2 - g)
                            : g > 2 ? _mm256_srli_epi16(high, g - 2)
                                    : high;
        w[g] = _mm256_or_si256(w[g], _mm256_and_si256(top, third));
    }
}

// Q6_K and Q3_K: blocks of 32 columns whose quants are stored as q + 2^kOffsetShift, unsigned,
// with a signed scale per 16 columns.
struct Q6_KBlocks {
    using SuperBlock = Q6_KSuperBlock;
    static constexpr int kOffsetShift = 5;
    static void unpack(const SuperBlock& block, int j, int half, __m256i w[8]) {
        unpack_q6_k(block.blocks[j], half, w);
    }
};
struct Q3_KBlocks {
    using SuperBlock = Q3_KSuperBlock;
    static constexpr int kOffsetShift = 2;
    static void unpack(const SuperBlock& block, int j, int half, __m256i w[8]) {
        unpack_q3_k(block.blocks[j], half, w);
    }
};

// Per 16 columns: maddubs lanes reach 2 * 63 * 127 = 16002, so two groups share a 16-bit sum and
// each pair of groups widens on its own with the (signed) scale.
template <class Blocks, int T>
void sixteen_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                    float* y, int64_t y_stride) {
    using SuperBlock = typename Blocks::SuperBlock;
    constexpr int kHalves = kHalvesPerPass<T>;
    const int64_t ns = cols / kSuperBlock;
    const auto* w = reinterpret_cast<const SuperBlock*>(tile);
    const ActBlockK* a[T];
    for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
    over_halves<T>(y, y_stride, [&](int first, __m256(&acc)[kHalves][T]) {
        for (int64_t s = 0; s < ns; ++s) {
            const SuperBlock& block = w[s];
            if constexpr (T == 1) read_ahead(&block, sizeof block);
            for (int h = 0; h < kHalves; ++h) {
                const int half = first + h;
                // sum (q - offset) a = sum q a - offset sum a: the second term through `offsets`.
                __m256i scaled[T], offsets[T];
                for (int t = 0; t < T; ++t) scaled[t] = offsets[t] = _mm256_setzero_si256();
                __m256i w[8];
                for (int k = 0; k < 16; ++k) {
                    if (k % 2 == 0) Blocks::unpack(block, k / 2, half, w);
                    const __m256i wide = widen_bytes<true>(block.scales[k] + kHalfRows * half);
                    const __m256i scale = both_halves(wide), scale16 = low_half(wide);
                    for (int pair = 0; pair < 2; ++pair) {
                        const int g = 4 * (k % 2) + 2 * pair;
                        const __m256i w0 = w[g], w1 = w[g + 1];
                        for (int t = 0; t < T; ++t) {
                            const int8_t* x = a[t][s].qs + kBlock * (k / 2) + 4 * g;
                            const __m256i sum =
                                _mm256_add_epi16(_mm256_maddubs_epi16(w0, broadcast_dword(x)),
                                                 _mm256_maddubs_epi16(w1, broadcast_dword(x + 4)));
                            scaled[t] = _mm256_add_epi32(scaled[t], _mm256_madd_epi16(sum, scale));
                        }
                    }
                    for (int t = 0; t < T; ++t)
                        offsets[t] = _mm256_add_epi32(
                            offsets[t], _mm256_madd_epi16(scale16, low_16(a[t][s].sum16[k])));
                }
                const __m256 d = half_scales(reinterpret_cast<const uint8_t*>(block.d), half);
                for (int t = 0; t < T; ++t) {
                    const __m256i sum = _mm256_sub_epi32(
                        scaled[t], _mm256_slli_epi32(offsets[t], Blocks::kOffsetShift));
                    acc[h][t] =
                        _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum),
                                        _mm256_mul_ps(d, _mm256_set1_ps(a[t][s].d)), acc[h][t]);
                }
            }
        }
    });
}

// ---- Q2_K ----

// Per 16 columns a 4-bit scale and min (the nibbles of one byte per row); maddubs lanes of 2-bit
// quants stay below 2 * 3 * 127, so a sub-block's four groups share one 16-bit sum.
template <int T>
void q2_k_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride, float* y,
                 int64_t y_stride) {
    constexpr int kHalves = kHalvesPerPass<T>;
    const int64_t ns = cols / kSuperBlock;
    const auto* w = reinterpret_cast<const Q2_KSuperBlock*>(tile);
    const ActBlockK* a[T];
    for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
    over_halves<T>(y, y_stride, [&](int first, __m256(&acc)[kHalves][T]) {
        for (int64_t s = 0; s < ns; ++s) {
            const Q2_KSuperBlock& block = w[s];
            if constexpr (T == 1) read_ahead(&block, sizeof block);
            for (int h = 0; h < kHalves; ++h) {
                const int half = first + h;
                __m256i scaled[T], mins[T];
                for (int t = 0; t < T; ++t) scaled[t] = mins[t] = _mm256_setzero_si256();
                __m256i q[8];
                for (int k = 0; k < 16; ++k) {
                    if (k % 2 == 0) unpack_bit_pairs(block.qs[k / 2], half, q);
                    const __m256i both = widen_bytes<false>(block.scales[k] + kHalfRows * half);
                    const __m256i scale =
                        both_halves(_mm256_and_si256(both, _mm256_set1_epi32(0xF)));
                    const __m256i min = _mm256_srli_epi32(both, 4);
                    for (int t = 0; t < T; ++t) {
                        const int8_t* x = a[t][s].qs + 16 * k;
                        __m256i sum = _mm256_setzero_si256();
                        for (int g = 0; g < 4; ++g)
                            sum = _mm256_add_epi16(
                                sum, _mm256_maddubs_epi16(q[4 * (k % 2) + g],
                                                          broadcast_dword(x + 4 * g)));
                        scaled[t] = _mm256_add_epi32(scaled[t], _mm256_madd_epi16(sum, scale));
                        mins[t] = _mm256_add_epi32(
                            mins[t], _mm256_madd_epi16(min, low_16(a[t][s].sum16[k])));
                    }
                }
                const __m256 d = half_scales(reinterpret_cast<const uint8_t*>(block.d), half);
                const __m256 dmin = half_scales(reinterpret_cast<const uint8_t*>(block.dmin), half);
                for (int t = 0; t < T; ++t) {
                    const __m256 x_scale = _mm256_set1_ps(a[t][s].d);
                    acc[h][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaled[t]),
                                                _mm256_mul_ps(d, x_scale), acc[h][t]);
                    acc[h][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mins[t]),
                                                 _mm256_mul_ps(dmin, x_scale), acc[h][t]);
                }
            }
        }
    });
}

// ---- IQ4_XS ----

template <int T>
void iq4_xs_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                   float* y, int64_t y_stride) {
    constexpr int kHalves = kHalvesPerPass<T>;
    const int64_t ns = cols / kSuperBlock;
    const auto* w = reinterpret_cast<const IQ4_XSSuperBlock*>(tile);
    const Iq4Tables tables;
    const __m256i ones = _mm256_set1_epi16(1);
    const ActBlockK* a[T];
    for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
    over_halves<T>(y, y_stride, [&](int first, __m256(&acc)[kHalves][T]) {
        for (int64_t s = 0; s < ns; ++s) {
            const IQ4_XSSuperBlock& block = w[s];
            if constexpr (T == 1) read_ahead(&block, sizeof block);
            for (int h = 0; h < kHalves; ++h) {
                const int half = first + h;
                __m256i scaled[T];
                for (int t = 0; t < T; ++t) scaled[t] = _mm256_setzero_si256();
                for (int j = 0; j < 8; ++j) {
                    __m256i sums[T];
                    for (int t = 0; t < T; ++t) sums[t] = _mm256_setzero_si256();
                    for (int g = 0; g < 8; ++g) {
                        const __m256i index = nibble_group(block.qs[j], g, half);
                        const __m256i value = _mm256_shuffle_epi8(tables.values, index);
                        const __m256i magnitude = _mm256_shuffle_epi8(tables.magnitudes, index);
                        for (int t = 0; t < T; ++t) {
                            const __m256i x = _mm256_sign_epi8(
                                broadcast_dword(a[t][s].qs + kBlock * j + 4 * g), value);
                            sums[t] = _mm256_add_epi32(
                                sums[t],
                                _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, x), ones));
                        }
                    }
                    const __m256i scale = widen_bytes<true>(block.scales[j] + kHalfRows * half);
                    for (int t = 0; t < T; ++t)
                        scaled[t] = _mm256_add_epi32(scaled[t], _mm256_mullo_epi32(sums[t], scale));
                }
                const __m256 d = half_scales(reinterpret_cast<const uint8_t*>(block.d), half);
                for (int t = 0; t < T; ++t)
                    acc[h][t] =
                        _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaled[t]),
                                        _mm256_mul_ps(d, _mm256_set1_ps(a[t][s].d)), acc[h][t]);
            }
        }
    });
}

// ---- drivers ----

template <class Blocks>
constexpr PackedGemmFn block32_gemm =
    gemm_by_fours<block32_tokens<Blocks, 4>, block32_tokens<Blocks, 3>, block32_tokens<Blocks, 2>,
                  block32_tokens<Blocks, 1>>;

// ---- activations (byte for byte as the scalar reference) ----

// 32 int32 (four vectors of eight) to 32 int8 with saturation, in order.
inline __m256i pack_to_bytes(__m256i q0, __m256i q1, __m256i q2, __m256i q3) {
    const __m256i bytes =
        _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
    return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline int32_t horizontal_sum(__m256i v) {
    const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i s2 = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 1)));
}

inline float horizontal_max(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

template <int kZeroPoint>
void quantize_block32(const float* x, int64_t cols, uint8_t* out) {
    auto* blocks = reinterpret_cast<ActBlock32*>(out);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock) {
        __m256 v[4], m = _mm256_setzero_ps();
        for (int i = 0; i < 4; ++i) {
            v[i] = _mm256_loadu_ps(x + 8 * i);
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i]));
        }
        const float d = horizontal_max(m) / 127.0f;
        const __m256 inverse = _mm256_set1_ps(d > 0 ? 1.0f / d : 0.0f);
        __m256i q[4];
        for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], inverse));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(blocks[b].qs),
                            pack_to_bytes(q[0], q[1], q[2], q[3]));
        blocks[b].d = d;
        blocks[b].bias =
            -kZeroPoint * horizontal_sum(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]),
                                                          _mm256_add_epi32(q[2], q[3])));
    }
}

void quantize_k(const float* x, int64_t cols, uint8_t* out) {
    auto* blocks = reinterpret_cast<ActBlockK*>(out);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t b = 0; b < cols / kSuperBlock; ++b, x += kSuperBlock) {
        ActBlockK& block = blocks[b];
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < kSuperBlock; i += 8)
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
        const float amax = horizontal_max(m);
        std::memset(&block, 0, sizeof block);
        if (amax == 0) continue;
        const float inverse = -127.0f / signed_max(x, amax);
        const __m256 scale = _mm256_set1_ps(inverse);
        for (int j = 0; j < kSuperBlock / 32; ++j) {
            __m256i q[4];
            for (int i = 0; i < 4; ++i)
                q[i] = _mm256_min_epi32(
                    _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * j + 8 * i), scale)),
                    _mm256_set1_epi32(127));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(block.qs + 32 * j),
                                pack_to_bytes(q[0], q[1], q[2], q[3]));
            block.sum16[2 * j] = horizontal_sum(_mm256_add_epi32(q[0], q[1]));
            block.sum16[2 * j + 1] = horizontal_sum(_mm256_add_epi32(q[2], q[3]));
            block.sum32[j] = block.sum16[2 * j] + block.sum16[2 * j + 1];
        }
        block.d = 1 / inverse;
    }
}

template <class Blocks>
void sixteen_gemm(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                  int64_t n_tokens, float* y, int64_t y_stride) {
    gemm_by_fours<sixteen_tokens<Blocks, 4>, sixteen_tokens<Blocks, 3>, sixteen_tokens<Blocks, 2>,
                  sixteen_tokens<Blocks, 1>>(tile, cols, act, act_stride, n_tokens, y, y_stride);
}

template <class Blocks>
void k_gemm(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
            int64_t n_tokens, float* y, int64_t y_stride) {
    gemm_by_fours<k_tokens<Blocks, 4>, k_tokens<Blocks, 3>, k_tokens<Blocks, 2>,
                  k_tokens<Blocks, 1>>(tile, cols, act, act_stride, n_tokens, y, y_stride);
}

// A blocks-of-32 format's kernels: the product, and activations with the format's zero point.
template <class Blocks, GgmlType Type>
constexpr PackedKernels block32_kernels() {
    return {block32_gemm<Blocks>, quantize_block32<block32_zero_point(Type)>};
}

}  // namespace

PackedKernels packed_kernels_avx2(GgmlType type) {
    switch (type) {
        case GgmlType::Q4_0:
            return block32_kernels<Q4_0Blocks, GgmlType::Q4_0>();
        case GgmlType::Q8_0:
            return block32_kernels<Q8_0Blocks, GgmlType::Q8_0>();
        case GgmlType::IQ4_NL:
            return block32_kernels<IQ4_NLBlocks, GgmlType::IQ4_NL>();
        case GgmlType::Q4_1:
            return block32_kernels<Q4_1Blocks, GgmlType::Q4_1>();
        case GgmlType::Q5_0:
            return block32_kernels<Q5_0Blocks, GgmlType::Q5_0>();
        case GgmlType::Q5_1:
            return block32_kernels<Q5_1Blocks, GgmlType::Q5_1>();
        case GgmlType::Q4_K:
            return {k_gemm<Q4_KBlocks>, quantize_k};
        case GgmlType::Q5_K:
            return {k_gemm<Q5_KBlocks>, quantize_k};
        case GgmlType::Q2_K:
            return {gemm_by_fours<q2_k_tokens<4>, q2_k_tokens<3>, q2_k_tokens<2>, q2_k_tokens<1>>,
                    quantize_k};
        case GgmlType::Q3_K:
            return {sixteen_gemm<Q3_KBlocks>, quantize_k};
        case GgmlType::Q6_K:
            return {sixteen_gemm<Q6_KBlocks>, quantize_k};
        case GgmlType::IQ4_XS:
            return {gemm_by_fours<iq4_xs_tokens<4>, iq4_xs_tokens<3>, iq4_xs_tokens<2>,
                                  iq4_xs_tokens<1>>,
                    quantize_k};
        default:
            return {};
    }
}

}  // namespace uma::cpu::detail

#else  // not x86-64

namespace uma::cpu::detail {
PackedKernels packed_kernels_avx2(GgmlType) {
    return {};
}
}  // namespace uma::cpu::detail

#endif
