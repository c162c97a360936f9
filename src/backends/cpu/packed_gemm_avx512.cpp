// AVX-512 VNNI kernels for the packed formats (see packed_layouts.h). Per block of 32 columns a
// tile's quants become eight vectors of unsigned bytes, lane r holding four columns of row r; each
// is multiplied (vpdpbusd) with four activation bytes broadcast to every lane, so the 16 rows'
// sums accumulate side by side. Up to four tokens share one unpacking of the weights, which is
// what makes prompt processing fast; decode is the one-token case.
#include "backends/cpu/packed_formats.h"

#if defined(__x86_64__)
#include <cmath>
#include <cstring>

#include "backends/cpu/avx512_intrinsics.h"
#include "backends/cpu/packed_gemm_driver.h"
#include "backends/cpu/packed_layouts.h"
#include "backends/cpu/quant_blocks.h"

namespace uma::cpu::detail {
namespace {

using namespace packed;

inline __m512i broadcast_dword(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

// Two nibble vectors of a block: groups 2k (low nibbles) and 2k + 1 (high nibbles).
inline void unpack_nibbles(const uint8_t* quants, __m512i w[8]) {
    const __m512i mask = _mm512_set1_epi8(0x0F);
    for (int k = 0; k < 4; ++k) {
        const __m512i x = _mm512_loadu_si512(quants + 64 * k);
        w[2 * k] = _mm512_and_si512(x, mask);
        w[2 * k + 1] = _mm512_and_si512(_mm512_srli_epi16(x, 4), mask);
    }
}

// The nibbles as in unpack_nibbles, each group's fifth bits (64 bytes at `high`, see Q5_KBlock32)
// shifted into bit 4 (the 16-bit shifts carry bits across bytes, never into bit 4, which alone is
// kept).
inline void unpack_five_bits(const uint8_t* high_bits, const uint8_t* low, __m512i q[8]) {
    unpack_nibbles(low, q);
    const __m512i high = _mm512_loadu_si512(high_bits), fifth = _mm512_set1_epi8(0x10);
    const __m512i bits[8] = {
        _mm512_slli_epi16(high, 4),
        _mm512_slli_epi16(high, 3),
        _mm512_slli_epi16(high, 2),
        _mm512_slli_epi16(high, 1),
        high,
        _mm512_srli_epi16(high, 1),
        _mm512_srli_epi16(high, 2),
        _mm512_srli_epi16(high, 3),
    };
    // 0xF8 is "a | (b & c)".
    for (int g = 0; g < 8; ++g) q[g] = _mm512_ternarylogic_epi32(q[g], bits[g], fifth, 0xF8);
}

// acc + w . (four activation bytes in every lane), the broadcast folded into the instruction's
// memory operand: compilers load it into a register with a separate instruction otherwise, and
// decode issues these more than any other.
inline __m512i dot4(__m512i acc, __m512i w, const int8_t* a) {
#if defined(__GNUC__)
    asm("vpdpbusd %2%{1to16%}, %1, %0"
        : "+v"(acc)
        : "v"(w), "m"(*reinterpret_cast<const int32_t*>(a)));
    return acc;
#else
    return _mm512_dpbusd_epi32(acc, w, broadcast_dword(a));
#endif
}

// sum over the 8 groups of w[g] . a[4g .. 4g+3], per row, in `Chains` chains of multiply-adds.
// Prompts unpack a block once for several tokens and take two (four measured ~5% slower); one
// token's Q8_0 blocks stream ~5% faster with four, the loads less held back by the chains.
template <int Chains = 2>
inline __m512i block_dot(const __m512i w[8], const int8_t* a,
                         __m512i start = _mm512_setzero_si512()) {
    static_assert(Chains == 2 || Chains == 4);
    __m512i chain[Chains];
    chain[0] = start;
    for (int c = 1; c < Chains; ++c) chain[c] = _mm512_setzero_si512();
    for (int g = 0; g < 8; ++g) chain[g % Chains] = dot4(chain[g % Chains], w[g], a + 4 * g);
    __m512i sum = chain[0];
    for (int c = 1; c < Chains; ++c) sum = _mm512_add_epi32(sum, chain[c]);
    return sum;
}

// block_dot of the nibble block at `quants` for one token, unpacked with one instruction per
// nibble vector: the high nibbles stay in place (16 times their value), their sums are exact
// multiples of 16 and are shifted back once. Decode is short of issue slots, not of arithmetic.
// The low and the high nibbles each add up in Chains / 2 chains: Q4_K streamed ~4% faster with
// four in all, Q4_0 (whose blocks are the products' own) ~1% slower.
template <int Chains>
inline __m512i nibble_block_dot(const uint8_t* quants, const int8_t* a,
                                __m512i start = _mm512_setzero_si512()) {
    static_assert(Chains == 2 || Chains == 4);
    constexpr int kPerHalf = Chains / 2;
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512i even[kPerHalf], odd[kPerHalf];
    for (int c = 0; c < kPerHalf; ++c) even[c] = odd[c] = _mm512_setzero_si512();
    even[0] = start;
    for (int k = 0; k < 4; ++k) {
        const __m512i x = _mm512_loadu_si512(quants + 64 * k);
        even[k % kPerHalf] = dot4(even[k % kPerHalf], _mm512_and_si512(x, low), a + 8 * k);
        odd[k % kPerHalf] = dot4(odd[k % kPerHalf], _mm512_andnot_si512(low, x), a + 8 * k + 4);
    }
    for (int c = 1; c < kPerHalf; ++c) {
        even[0] = _mm512_add_epi32(even[0], even[c]);
        odd[0] = _mm512_add_epi32(odd[0], odd[c]);
    }
    return _mm512_add_epi32(even[0], _mm512_srai_epi32(odd[0], 4));
}

// Software prefetch: one non-temporal hint per line, 4.5 KB ahead (read_ahead). Hints for the lines
// 2 KiB and 32 KiB ahead, two instructions per 64 bytes, had made decode slower, not faster (Q4_0
// streamed 40 -> 54 GB/s without them).

// ---- Q4_0, Q8_0 and IQ4_NL: blocks of 32 with one fp16 scale per row ----

// The table entries plus 128, as unsigned bytes, in every 128-bit lane (vpshufb looks up within a
// lane): sum (v + 128) a = sum v a + 128 sum a, and 128 sum a comes off (IQ4_XS per sub-block,
// IQ4_NL through its activations' bias).
inline __m512i iq4_table() {
    alignas(16) uint8_t shifted[16];
    for (int i = 0; i < 16; ++i) shifted[i] = uint8_t(blocks::kIq4Values[i] + 128);
    return _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(shifted)));
}

struct Q4_0Blocks {
    static constexpr Block32Layout kLayout = kQ4_0ScalesLastLayout;
    static constexpr bool kReadAhead = true;
    static constexpr bool kNibbles = true;
    static void load(const uint8_t* quants, __m512i w[8]) { unpack_nibbles(quants, w); }
};
struct Q8_0Blocks {
    static constexpr Block32Layout kLayout = kQ8_0ScalesLastLayout;
    static constexpr bool kReadAhead = false;  // see read_ahead
    static constexpr bool kNibbles = false;
    static void load(const uint8_t* quants, __m512i w[8]) {
        for (int g = 0; g < 8; ++g) w[g] = _mm512_loadu_si512(quants + 64 * g);
    }
};
// IQ4_NL packs as Q4_0 (see packed_layouts.h); its nibbles index the table, and its activations
// carry -128 sum(a) as Q8_0's do.
struct IQ4_NLBlocks {
    static constexpr Block32Layout kLayout = kQ4_0ScalesLastLayout;
    static constexpr bool kReadAhead = true;
    static constexpr bool kNibbles = false;
    static void load(const uint8_t* quants, __m512i w[8]) {
        const __m512i table = iq4_table();
        unpack_nibbles(quants, w);
        for (int g = 0; g < 8; ++g) w[g] = _mm512_shuffle_epi8(table, w[g]);
    }
};
// Q4_1 and Q5_1 add the min times the activations' sum, which their activations carry as the bias.
struct Q4_1Blocks : Q4_0Blocks {
    static constexpr Block32Layout kLayout = kQ4_1ScalesLastLayout;
};
struct Q5_0Blocks {
    static constexpr Block32Layout kLayout = kQ5_0ScalesLastLayout;
    static constexpr bool kReadAhead = true;
    static constexpr bool kNibbles = false;
    static void load(const uint8_t* quants, __m512i w[8]) {
        unpack_five_bits(quants, quants + 64, w);
    }
};
struct Q5_1Blocks : Q5_0Blocks {
    static constexpr Block32Layout kLayout = kQ5_1ScalesLastLayout;
};
// The same blocks in groups of eight (see kQ4_0WideLayout).
struct IQ4_NLWideBlocks : IQ4_NLBlocks {
    static constexpr Block32Layout kLayout = kQ4_0WideLayout;
};
struct Q4_1WideBlocks : Q4_1Blocks {
    static constexpr Block32Layout kLayout = kQ4_1WideLayout;
};
struct Q5_1WideBlocks : Q5_1Blocks {
    static constexpr Block32Layout kLayout = kQ5_1WideLayout;
};

// One block of 32 columns into the accumulators of T tokens.
template <class Blocks, int T>
inline __attribute__((always_inline)) void block32_accumulate(const uint8_t* quants,
                                                              const uint8_t* scales,
                                                              const ActBlock32* const a[T],
                                                              int64_t b, __m512 acc[T]) {
    constexpr bool kMins = Blocks::kLayout.mins;
    const __m512 w_scale =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales)));
    // The bias starts the integer sum, or (formats with mins) the min multiplies it.
    const auto start = [](const ActBlock32& x) {
        return kMins ? _mm512_setzero_si512() : _mm512_set1_epi32(x.bias);
    };
    const __m512 min = kMins ? _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                                   scales + Block32Layout::kScaleBytes)))
                             : _mm512_setzero_ps();
    const auto add_min = [&](const ActBlock32& x, __m512& sum) {
        if constexpr (kMins) sum = _mm512_fmadd_ps(min, _mm512_set1_ps(float(x.bias) * x.d), sum);
    };
    if constexpr (T == 1 && Blocks::kNibbles) {
        const ActBlock32& x = a[0][b];
        const __m512i sum = nibble_block_dot<2>(quants, x.qs, start(x));
        acc[0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum),
                                 _mm512_mul_ps(w_scale, _mm512_set1_ps(x.d)), acc[0]);
        add_min(x, acc[0]);
        return;
    }
    __m512i w[8];
    Blocks::load(quants, w);
    for (int t = 0; t < T; ++t) {
        const ActBlock32& x = a[t][b];
        const __m512i sum = block_dot < T == 1 ? 4 : 2 > (w, x.qs, start(x));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum),
                                 _mm512_mul_ps(w_scale, _mm512_set1_ps(x.d)), acc[t]);
        add_min(x, acc[t]);
    }
}

// The blocks of a group are separate code (unrolled), so that each load instruction steps through
// memory with one fixed stride (the group's size), which the core's stride prefetcher follows; one
// loop body for the blocks of a pair alternated two strides and decode streamed ~20% slower.
template <class Blocks, int T>
void block32_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                    float* y, int64_t y_stride) {
    constexpr Block32Layout layout = Blocks::kLayout;
    // One token's blocks would all add into one register, a chain of dependent multiply-adds that
    // held back the loads behind it: blocks alternating between two accumulators streamed Q8_0
    // ~11% and Q4_0 ~2% faster (two cores of an AMD EPYC, alternated runs, median ratio).
    constexpr int kChains = T == 1 ? 2 : 1;
    const int64_t groups = cols / (layout.group * kBlock);
    const ActBlock32* a[T];
    __m512 acc[kChains][T];
    for (int t = 0; t < T; ++t) {
        a[t] = reinterpret_cast<const ActBlock32*>(act + t * act_stride);
        for (int c = 0; c < kChains; ++c) acc[c][t] = _mm512_setzero_ps();
    }
    for (int64_t g = 0; g < groups; ++g) {
        const uint8_t* group = tile + size_t(g) * layout.group_bytes();
        if constexpr (T == 1 && Blocks::kReadAhead) read_ahead(group, layout.group_bytes());
#pragma GCC unroll 8
        for (int64_t i = 0; i < layout.group; ++i)
            block32_accumulate<Blocks, T>(group + layout.quants(i), group + layout.scales(i), a,
                                          layout.group * g + i, acc[i % kChains]);
    }
    for (int t = 0; t < T; ++t) {
        __m512 sum = acc[0][t];
        for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c][t]);
        _mm512_storeu_ps(y + t * y_stride, sum);
    }
}

// ---- Q4_K and Q5_K: super-blocks of 256, per-row sub-block scales and mins ----

struct Q4_KBlocks {
    using SuperBlock = Q4_KSuperBlock;
    static void unpack(const SuperBlock& block, int j, __m512i q[8]) {
        unpack_nibbles(block.qs[j], q);
    }
    static __m512i one_token_dot(const SuperBlock& block, int j, const int8_t* a) {
        return nibble_block_dot<4>(block.qs[j], a);
    }
};

struct Q5_KBlocks {
    using SuperBlock = Q5_KSuperBlock;
    static void unpack(const SuperBlock& block, int j, __m512i q[8]) {
        unpack_five_bits(block.blocks[j].high, block.blocks[j].low, q);
    }
    static __m512i one_token_dot(const SuperBlock& block, int j, const int8_t* a) {
        __m512i q[8];
        unpack(block, j, q);
        return block_dot<4>(q, a);
    }
};

template <class Blocks, int T>
void k_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride, float* y,
              int64_t y_stride) {
    using SuperBlock = typename Blocks::SuperBlock;
    const int64_t ns = cols / kSuperBlock;
    const auto* w = reinterpret_cast<const SuperBlock*>(tile);
    const ActBlockK* a[T];
    __m512 acc[T];
    for (int t = 0; t < T; ++t) {
        a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
        acc[t] = _mm512_setzero_ps();
    }
    for (int64_t s = 0; s < ns; ++s) {
        const SuperBlock& block = w[s];
        if constexpr (T == 1) read_ahead(&block, sizeof block);
        __m512i scaled[T], mins[T];
        for (int t = 0; t < T; ++t) scaled[t] = mins[t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; ++j) {
            __m512i q[8];
            if constexpr (T != 1) Blocks::unpack(block, j, q);
            const __m512i scale = _mm512_cvtepu8_epi32(
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.scales[j])));
            // Zero-extended to 32 bits, so the pairwise 16-bit product below multiplies the min
            // by the low half of the sum (which holds all of it: |sum| < 2^15) and 0 by the rest.
            const __m512i min = _mm512_cvtepu8_epi32(
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.mins[j])));
            for (int t = 0; t < T; ++t) {
                const ActBlockK& x = a[t][s];
                __m512i dot;
                if constexpr (T == 1)
                    dot = Blocks::one_token_dot(block, j, x.qs + kBlock * j);
                else
                    dot = block_dot(q, x.qs + kBlock * j);
                scaled[t] = _mm512_add_epi32(scaled[t], _mm512_mullo_epi32(dot, scale));
                mins[t] = _mm512_dpwssd_epi32(mins[t], min, _mm512_set1_epi32(x.sum32[j]));
            }
        }
        const __m512 d =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block.d)));
        const __m512 dmin =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block.dmin)));
        for (int t = 0; t < T; ++t) {
            const __m512 x_scale = _mm512_set1_ps(a[t][s].d);
            acc[t] =
                _mm512_fmadd_ps(_mm512_cvtepi32_ps(scaled[t]), _mm512_mul_ps(d, x_scale), acc[t]);
            acc[t] =
                _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mins[t]), _mm512_mul_ps(dmin, x_scale), acc[t]);
        }
    }
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

// ---- IQ4_XS: super-blocks of 256, 4-bit indices into a table, signed per-row scales ----

template <int T>
void iq4_xs_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                   float* y, int64_t y_stride) {
    const int64_t ns = cols / kSuperBlock;
    const auto* w = reinterpret_cast<const IQ4_XSSuperBlock*>(tile);
    const __m512i table = iq4_table();
    const ActBlockK* a[T];
    __m512 acc[T];
    for (int t = 0; t < T; ++t) {
        a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
        acc[t] = _mm512_setzero_ps();
    }
    for (int64_t s = 0; s < ns; ++s) {
        const IQ4_XSSuperBlock& block = w[s];
        if constexpr (T == 1) read_ahead(&block, sizeof block);
        __m512i scaled[T];
        for (int t = 0; t < T; ++t) scaled[t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; ++j) {
            __m512i q[8];
            unpack_nibbles(block.qs[j], q);
            for (int g = 0; g < 8; ++g) q[g] = _mm512_shuffle_epi8(table, q[g]);
            const __m512i scale = _mm512_cvtepi8_epi32(
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.scales[j])));
            for (int t = 0; t < T; ++t) {
                const ActBlockK& x = a[t][s];
                const __m512i dot = block_dot < T == 1 ? 4
                                                       : 2 > (q, x.qs + kBlock * j,
                                                              _mm512_set1_epi32(-128 * x.sum32[j]));
                scaled[t] = _mm512_add_epi32(scaled[t], _mm512_mullo_epi32(dot, scale));
            }
        }
        const __m512 d =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block.d)));
        for (int t = 0; t < T; ++t)
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(scaled[t]),
                                     _mm512_mul_ps(d, _mm512_set1_ps(a[t][s].d)), acc[t]);
    }
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

// ---- Q6_K: super-blocks of 256, signed per-row scales per 16 columns ----

// The eight groups of a 32-column block as unsigned 6-bit values: low nibbles as in
// unpack_nibbles, the high two bits of group 4h + s from bits 2s..2s+1 of high vector h.
inline void unpack_q6_k(const uint8_t* low, const uint8_t* high, __m512i w[8]) {
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    const __m512i top = _mm512_set1_epi8(0x30);
    const __m512i h0 = _mm512_loadu_si512(high), h1 = _mm512_loadu_si512(high + 64);
    const __m512i bits[8] = {
        _mm512_slli_epi16(h0, 4), _mm512_slli_epi16(h0, 2), h0, _mm512_srli_epi16(h0, 2),
        _mm512_slli_epi16(h1, 4), _mm512_slli_epi16(h1, 2), h1, _mm512_srli_epi16(h1, 2),
    };
    for (int k = 0; k < 4; ++k) {
        const __m512i x = _mm512_loadu_si512(low + 64 * k);
        // Bits 0-3 from the nibbles, 4-5 from the masked high bits: 0xD8 is "c ? b : a".
        w[2 * k] = _mm512_ternarylogic_epi32(_mm512_and_si512(bits[2 * k], top), x, nibble, 0xD8);
        w[2 * k + 1] = _mm512_ternarylogic_epi32(_mm512_and_si512(bits[2 * k + 1], top),
                                                 _mm512_srli_epi16(x, 4), nibble, 0xD8);
    }
}

// The eight groups of 128 bytes of bit pairs (Q2_K's quants, Q3_K's low bits): group g from bits
// 2 (g % 4) of vector g / 4 (the 16-bit shifts carry bits across bytes, which the mask drops).
inline void unpack_bit_pairs(const uint8_t* pairs, __m512i w[8]) {
    const __m512i two = _mm512_set1_epi8(0x03);
    const __m512i v[2] = {_mm512_loadu_si512(pairs), _mm512_loadu_si512(pairs + 64)};
    for (int g = 0; g < 8; ++g)
        w[g] = _mm512_and_si512(_mm512_srli_epi16(v[g / 4], 2 * (g % 4)), two);
}

// The eight groups of a Q3_K block as unsigned 3-bit values (q + 4): the bit pairs, and the third
// bit of group g from bit g of `high`, shifted into bit 2.
inline void unpack_q3_k(const uint8_t* low, const uint8_t* high, __m512i w[8]) {
    unpack_bit_pairs(low, w);
    const __m512i third = _mm512_set1_epi8(0x04);
    const __m512i h = _mm512_loadu_si512(high);
    const __m512i top[8] = {
        _mm512_slli_epi16(h, 2), _mm512_slli_epi16(h, 1), h,
        _mm512_srli_epi16(h, 1), _mm512_srli_epi16(h, 2), _mm512_srli_epi16(h, 3),
        _mm512_srli_epi16(h, 4), _mm512_srli_epi16(h, 5),
    };
    // 0xF8 is "a | (b & c)".
    for (int g = 0; g < 8; ++g) w[g] = _mm512_ternarylogic_epi32(w[g], top[g], third, 0xF8);
}

inline __m512i half_block_dot(const __m512i w[4], const int8_t* a) {
    __m512i even = dot4(_mm512_setzero_si512(), w[0], a);
    __m512i odd = dot4(_mm512_setzero_si512(), w[1], a + 4);
    even = dot4(even, w[2], a + 8);
    odd = dot4(odd, w[3], a + 12);
    return _mm512_add_epi32(even, odd);
}

// Q6_K and Q3_K: blocks of 32 columns whose quants are stored as q + kOffset, unsigned, with a
// signed scale per 16 columns.
struct Q6_KBlocks {
    using SuperBlock = Q6_KSuperBlock;
    static constexpr int kOffset = 32;
    static void unpack(const SuperBlock& block, int j, __m512i q[8]) {
        unpack_q6_k(block.blocks[j].low, block.blocks[j].high, q);
    }
};
struct Q3_KBlocks {
    using SuperBlock = Q3_KSuperBlock;
    static constexpr int kOffset = 4;
    static void unpack(const SuperBlock& block, int j, __m512i q[8]) {
        unpack_q3_k(block.blocks[j].low, block.blocks[j].high, q);
    }
};

template <class Blocks, int T>
void sixteen_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                    float* y, int64_t y_stride) {
    using SuperBlock = typename Blocks::SuperBlock;
    const int64_t ns = cols / kSuperBlock;
    const auto* w = reinterpret_cast<const SuperBlock*>(tile);
    const ActBlockK* a[T];
    __m512 acc[T];
    for (int t = 0; t < T; ++t) {
        a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
        acc[t] = _mm512_setzero_ps();
    }
    for (int64_t s = 0; s < ns; ++s) {
        const SuperBlock& block = w[s];
        if constexpr (T == 1) read_ahead(&block, sizeof block);
        __m512i scaled[T];
        for (int t = 0; t < T; ++t) scaled[t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; ++j) {
            __m512i q[8];
            Blocks::unpack(block, j, q);
            for (int half = 0; half < 2; ++half) {
                const int k = 2 * j + half;
                const __m512i scale = _mm512_cvtepi8_epi32(
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.scales[k])));
                for (int t = 0; t < T; ++t) {
                    const ActBlockK& x = a[t][s];
                    // sum (q - offset) a = sum q a - offset sum a, the second term the same in
                    // every row.
                    const __m512i sum = _mm512_sub_epi32(
                        half_block_dot(q + 4 * half, x.qs + kBlock * j + 16 * half),
                        _mm512_set1_epi32(Blocks::kOffset * x.sum16[k]));
                    scaled[t] = _mm512_add_epi32(scaled[t], _mm512_mullo_epi32(sum, scale));
                }
            }
        }
        const __m512 d =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block.d)));
        for (int t = 0; t < T; ++t)
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(scaled[t]),
                                     _mm512_mul_ps(d, _mm512_set1_ps(a[t][s].d)), acc[t]);
    }
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

// ---- Q2_K: super-blocks of 256, 2-bit quants, a 4-bit scale and min per 16 columns ----

template <int T>
void q2_k_tokens(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride, float* y,
                 int64_t y_stride) {
    const int64_t ns = cols / kSuperBlock;
    const auto* w = reinterpret_cast<const Q2_KSuperBlock*>(tile);
    const ActBlockK* a[T];
    __m512 acc[T];
    for (int t = 0; t < T; ++t) {
        a[t] = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
        acc[t] = _mm512_setzero_ps();
    }
    const __m512i low4 = _mm512_set1_epi32(0xF);
    for (int64_t s = 0; s < ns; ++s) {
        const Q2_KSuperBlock& block = w[s];
        if constexpr (T == 1) read_ahead(&block, sizeof block);
        __m512i scaled[T], mins[T];
        for (int t = 0; t < T; ++t) scaled[t] = mins[t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; ++j) {
            __m512i q[8];
            unpack_bit_pairs(block.qs[j], q);
            for (int half = 0; half < 2; ++half) {
                const int k = 2 * j + half;
                const __m512i both = _mm512_cvtepu8_epi32(
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.scales[k])));
                // The min zero-extended to 32 bits, for the pairwise 16-bit product with the
                // activations' sum (|sum16| <= 16 * 127 < 2^15) as in k_tokens.
                const __m512i scale = _mm512_and_si512(both, low4),
                              min = _mm512_srli_epi32(both, 4);
                for (int t = 0; t < T; ++t) {
                    const ActBlockK& x = a[t][s];
                    const __m512i dot = half_block_dot(q + 4 * half, x.qs + kBlock * j + 16 * half);
                    scaled[t] = _mm512_add_epi32(scaled[t], _mm512_mullo_epi32(dot, scale));
                    mins[t] = _mm512_dpwssd_epi32(mins[t], min, _mm512_set1_epi32(x.sum16[k]));
                }
            }
        }
        const __m512 d =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block.d)));
        const __m512 dmin =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block.dmin)));
        for (int t = 0; t < T; ++t) {
            const __m512 x_scale = _mm512_set1_ps(a[t][s].d);
            acc[t] =
                _mm512_fmadd_ps(_mm512_cvtepi32_ps(scaled[t]), _mm512_mul_ps(d, x_scale), acc[t]);
            acc[t] =
                _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mins[t]), _mm512_mul_ps(dmin, x_scale), acc[t]);
        }
    }
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

// ---- drivers ----

// Blocks of 32 have few registers of state per token, so eight tokens share each unpacking.
template <class Blocks>
void block32_gemm(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                  int64_t n_tokens, float* y, int64_t y_stride) {
    int64_t t = 0;
    for (; t + 8 <= n_tokens; t += 8)
        block32_tokens<Blocks, 8>(tile, cols, act + t * act_stride, act_stride, y + t * y_stride,
                                  y_stride);
    gemm_by_fours<block32_tokens<Blocks, 4>, block32_tokens<Blocks, 3>, block32_tokens<Blocks, 2>,
                  block32_tokens<Blocks, 1>>(tile, cols, act + t * act_stride, act_stride,
                                             n_tokens - t, y + t * y_stride, y_stride);
}

template <class Blocks>
void k_gemm(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
            int64_t n_tokens, float* y, int64_t y_stride) {
    gemm_by_fours<k_tokens<Blocks, 4>, k_tokens<Blocks, 3>, k_tokens<Blocks, 2>,
                  k_tokens<Blocks, 1>>(tile, cols, act, act_stride, n_tokens, y, y_stride);
}
template <class Blocks>
void sixteen_gemm(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                  int64_t n_tokens, float* y, int64_t y_stride) {
    gemm_by_fours<sixteen_tokens<Blocks, 4>, sixteen_tokens<Blocks, 3>, sixteen_tokens<Blocks, 2>,
                  sixteen_tokens<Blocks, 1>>(tile, cols, act, act_stride, n_tokens, y, y_stride);
}

// ---- activations (byte for byte as the scalar reference) ----

inline __m512i round_to_int(__m512 x) {
    return _mm512_cvt_roundps_epi32(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

template <int kZeroPoint>
void quantize_block32(const float* x, int64_t cols, uint8_t* out) {
    auto* blocks = reinterpret_cast<ActBlock32*>(out);
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock) {
        const __m512 lo = _mm512_loadu_ps(x), hi = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(
            _mm512_max_ps(_mm512_andnot_ps(sign, lo), _mm512_andnot_ps(sign, hi)));
        const float d = amax / 127.0f;
        const __m512 inverse = _mm512_set1_ps(d > 0 ? 1.0f / d : 0.0f);
        const __m512i qlo = round_to_int(_mm512_mul_ps(lo, inverse));
        const __m512i qhi = round_to_int(_mm512_mul_ps(hi, inverse));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(blocks[b].qs), _mm512_cvtsepi32_epi8(qlo));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(blocks[b].qs + 16), _mm512_cvtsepi32_epi8(qhi));
        blocks[b].d = d;
        blocks[b].bias = -kZeroPoint * _mm512_reduce_add_epi32(_mm512_add_epi32(qlo, qhi));
    }
}

void quantize_k(const float* x, int64_t cols, uint8_t* out) {
    auto* blocks = reinterpret_cast<ActBlockK*>(out);
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int64_t b = 0; b < cols / kSuperBlock; ++b, x += kSuperBlock) {
        ActBlockK& block = blocks[b];
        __m512 m = _mm512_setzero_ps();
        for (int i = 0; i < kSuperBlock; i += 16)
            m = _mm512_max_ps(m, _mm512_andnot_ps(sign, _mm512_loadu_ps(x + i)));
        const float amax = _mm512_reduce_max_ps(m);
        std::memset(&block, 0, sizeof block);
        if (amax == 0) continue;
        const float inverse = -127.0f / signed_max(x, amax);
        const __m512 scale = _mm512_set1_ps(inverse);
        for (int j = 0; j < 16; ++j) {
            const __m512i q =
                _mm512_min_epi32(round_to_int(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * j), scale)),
                                 _mm512_set1_epi32(127));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(block.qs + 16 * j),
                             _mm512_cvtsepi32_epi8(q));
            block.sum16[j] = _mm512_reduce_add_epi32(q);
        }
        for (int j = 0; j < 8; ++j) block.sum32[j] = block.sum16[2 * j] + block.sum16[2 * j + 1];
        block.d = 1 / inverse;
    }
}

// A blocks-of-32 format's kernels: the product, and activations with the format's zero point.
template <class Blocks, GgmlType Type>
constexpr PackedKernels block32_kernels() {
    return {block32_gemm<Blocks>, quantize_block32<block32_zero_point(Type)>};
}

}  // namespace

PackedKernels packed_kernels_avx512(GgmlType type, Grouping grouping) {
    if (grouping == Grouping::wide) {
        switch (type) {
            case GgmlType::IQ4_NL:
                return block32_kernels<IQ4_NLWideBlocks, GgmlType::IQ4_NL>();
            case GgmlType::Q4_1:
                return block32_kernels<Q4_1WideBlocks, GgmlType::Q4_1>();
            case GgmlType::Q5_1:
                return block32_kernels<Q5_1WideBlocks, GgmlType::Q5_1>();
            default:
                return {};
        }
    }
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
PackedKernels packed_kernels_avx512(GgmlType, Grouping) {
    return {};
}
}  // namespace uma::cpu::detail

#endif
