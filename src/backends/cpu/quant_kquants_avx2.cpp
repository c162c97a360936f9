// AVX2 dot products of the super-block formats (Q2_K .. Q6_K, IQ4_XS) with a Q8_K activation row.
//
// The quants are rebuilt as unsigned bytes so maddubs can multiply them with the activation
// bytes; madd then applies the integer sub-block scales. Offsets that make a quant signed
// (Q3_K's -4, Q6_K's -32) and the minimums of Q2_K/Q4_K/Q5_K are folded in afterwards through the
// per-16 activation sums of Q8_K, exactly as in integer arithmetic.
#include "backends/cpu/quant_formats.h"

#if defined(__x86_64__)
#include "backends/cpu/quant_blocks.h"
#include "backends/cpu/quant_simd_x86.h"

namespace uma::cpu::detail {
namespace {

using namespace blocks;
using namespace simd;

inline __m256 scaled(float scale, __m256i values, __m256 acc) {
    return _mm256_fmadd_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(values), acc);
}

inline __m256i low_nibbles(__m256i v) {
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}
inline __m256i high_nibbles(__m256i v) {
    return low_nibbles(_mm256_srli_epi16(v, 4));
}

// Q4_K / Q5_K scales and mins, unpacked to 8 int16 each.
struct KScales {
    __m128i scales;  // 8 x int16
    __m128i mins;    // 8 x int16
};
inline KScales load_k_scales(const uint8_t packed[12]) {
    uint32_t words[4];
    unpack_k_scales_words(packed, words);
    const __m128i bytes = _mm_set_epi32(int(words[3]), int(words[2]), int(words[1]), int(words[0]));
    return {_mm_cvtepu8_epi16(bytes), _mm_cvtepu8_epi16(_mm_unpackhi_epi64(bytes, bytes))};
}
// sum_j min_j * (activation sum of sub-block j), as 4 int32 partial sums.
inline __m128i min_products(const KScales& k, const int16_t bsums[16]) {
    const __m256i sums16 = load_256(bsums);
    const __m128i sums32 =  // adjacent per-16 sums added: one per 32-element sub-block
        _mm_hadd_epi16(_mm256_castsi256_si128(sums16), _mm256_extracti128_si256(sums16, 1));
    return _mm_madd_epi16(k.mins, sums32);
}
inline __m128 scaled_128(float scale, __m128i values, __m128 acc) {
    return _mm_fmadd_ps(_mm_set1_ps(scale), _mm_cvtepi32_ps(values), acc);
}
// Broadcasts int16 element k of a register holding the same 8 int16 in both lanes.
inline __m256i pick_scale(__m256i eight_scales, int k) {
    return _mm256_shuffle_epi8(eight_scales,
                               _mm256_set1_epi16(int16_t((2 * k) | (2 * k + 1) << 8)));
}

// Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins. `add_fifth_bit` is false for Q4_K.
template <typename Block, bool add_fifth_bit>
void vec_dot_q4_q5_k_avx2(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const Block*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_min = _mm_setzero_ps();
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const KScales k = load_k_scales(w[b].scales);
        acc_min =
            scaled_128(half_to_float(w[b].dmin) * a[b].d, min_products(k, a[b].bsums), acc_min);
        const __m256i scales = _mm256_broadcastsi128_si256(k.scales);

        [[maybe_unused]] __m256i high_bits = _mm256_setzero_si256();
        if constexpr (add_fifth_bit) high_bits = load_256(w[b].qh);
        __m256i sum = _mm256_setzero_si256();
        for (int group = 0; group < 4; ++group) {  // 64 elements: two sub-blocks
            const __m256i packed = load_256(w[b].qs + 32 * group);
            __m256i first = low_nibbles(packed), second = high_nibbles(packed);
            if constexpr (add_fifth_bit) {
                // Group g uses bits 2g and 2g+1; shifting 2 per group keeps them at bits 0 and 1.
                const __m256i one = _mm256_set1_epi8(1), two = _mm256_set1_epi8(2);
                first =
                    _mm256_or_si256(first, _mm256_slli_epi16(_mm256_and_si256(high_bits, one), 4));
                second =
                    _mm256_or_si256(second, _mm256_slli_epi16(_mm256_and_si256(high_bits, two), 3));
                high_bits = _mm256_srli_epi16(high_bits, 2);
            }
            const int8_t* y = a[b].qs + 64 * group;
            sum = _mm256_add_epi32(
                sum, scaled_dot_unsigned_signed(first, load_256(y), pick_scale(scales, 2 * group)));
            sum = _mm256_add_epi32(sum,
                                   scaled_dot_unsigned_signed(second, load_256(y + 32),
                                                              pick_scale(scales, 2 * group + 1)));
        }
        acc = scaled(half_to_float(w[b].d) * a[b].d, sum, acc);
    }
    *out = horizontal_sum(acc) - horizontal_sum(acc_min);
}

// The scales of sub-blocks 2k (low lane) and 2k+1 (high lane) from 8 int16 repeated in both lanes.
struct PairScales {
    __m256i masks[4] = {pair_broadcast_mask(0), pair_broadcast_mask(1), pair_broadcast_mask(2),
                        pair_broadcast_mask(3)};
    __m256i pick(__m256i eight_scales, int k) const {
        return _mm256_shuffle_epi8(eight_scales, masks[k]);
    }
};

inline __m256i repeat_scales(__m128i eight_int16) {
    return _mm256_broadcastsi128_si256(eight_int16);
}

void vec_dot_q6_k_avx2(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ6_K*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    const PairScales pairs;
    const __m256i nibble = _mm256_set1_epi8(0x0F), bits_4_5 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        // Quants are stored +32: subtract 32 * sum(scale_j * activation sum_j) up front.
        const __m256i scales16 = _mm256_cvtepi8_epi16(load_128(w[b].scales));
        __m256i sum =
            _mm256_sub_epi32(_mm256_setzero_si256(),
                             _mm256_slli_epi32(weighted_block_sums(a[b].bsums, scales16), 5));
        for (int chunk = 0; chunk < 2; ++chunk) {  // 128 elements
            const __m256i eight_scales = repeat_scales(_mm_cvtepi8_epi16(
                _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w[b].scales + 8 * chunk))));
            const __m256i qh = load_256(w[b].qh + 32 * chunk);
            const __m256i ql0 = load_256(w[b].ql + 64 * chunk);
            const __m256i ql1 = load_256(w[b].ql + 64 * chunk + 32);
            // Elements 0-31, 32-63, 64-95, 96-127: the high 2 bits sit at bits 0-1, 2-3, 4-5, 6-7.
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, nibble),
                                _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits_4_5)),
                _mm256_or_si256(_mm256_and_si256(ql1, nibble),
                                _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits_4_5)),
                _mm256_or_si256(high_nibbles(ql0), _mm256_and_si256(qh, bits_4_5)),
                _mm256_or_si256(high_nibbles(ql1),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits_4_5)),
            };
            const int8_t* y = a[b].qs + 128 * chunk;
            for (int k = 0; k < 4; ++k)
                sum =
                    _mm256_add_epi32(sum, scaled_dot_unsigned_signed(q[k], load_256(y + 32 * k),
                                                                     pairs.pick(eight_scales, k)));
        }
        acc = scaled(half_to_float(w[b].d) * a[b].d, sum, acc);
    }
    *out = horizontal_sum(acc);
}

void vec_dot_q3_k_avx2(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ3_K*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    const PairScales pairs;
    const __m256i two_bits = _mm256_set1_epi8(3), one_bit = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        uint32_t words[4];
        unpack_q3_k_scale_words(w[b].scales, words);
        const __m128i scales8 =
            _mm_sub_epi8(_mm_set_epi32(int(words[3]), int(words[2]), int(words[1]), int(words[0])),
                         _mm_set1_epi8(32));
        const __m128i scales_by_chunk[2] = {scales8, _mm_srli_si128(scales8, 8)};
        // A quant is low + 4 * high - 4: use the unsigned low + 4 * high, subtract 4 * sum(scale *
        // activation sum) up front.
        const __m256i scales16 = _mm256_cvtepi8_epi16(scales8);
        __m256i sum =
            _mm256_sub_epi32(_mm256_setzero_si256(),
                             _mm256_slli_epi32(weighted_block_sums(a[b].bsums, scales16), 2));
        __m256i high_bits = load_256(w[b].hmask);  // element 32p + l: bit p of byte l
        for (int chunk = 0; chunk < 2; ++chunk) {
            const __m256i eight_scales = repeat_scales(_mm_cvtepi8_epi16(scales_by_chunk[chunk]));
            __m256i low_bits = load_256(w[b].qs + 32 * chunk);
            for (int plane = 0; plane < 4; ++plane) {  // 32 elements, two sub-blocks
                const __m256i high = _mm256_slli_epi16(_mm256_and_si256(high_bits, one_bit), 2);
                const __m256i q = _mm256_or_si256(_mm256_and_si256(low_bits, two_bits), high);
                low_bits = _mm256_srli_epi16(low_bits, 2);
                high_bits = _mm256_srli_epi16(high_bits, 1);
                const int8_t* y = a[b].qs + 128 * chunk + 32 * plane;
                sum = _mm256_add_epi32(sum, scaled_dot_unsigned_signed(
                                                q, load_256(y), pairs.pick(eight_scales, plane)));
            }
        }
        acc = scaled(half_to_float(w[b].d) * a[b].d, sum, acc);
    }
    *out = horizontal_sum(acc);
}

void vec_dot_q2_k_avx2(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ2_K*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    const PairScales pairs;
    const __m128i low_nibble = _mm_set1_epi8(0x0F);
    const __m256i two_bits = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const __m128i packed_scales = load_128(w[b].scales);
        const __m128i scales8 = _mm_and_si128(packed_scales, low_nibble);
        const __m128i mins8 = _mm_and_si128(_mm_srli_epi16(packed_scales, 4), low_nibble);
        acc_min = scaled(half_to_float(w[b].dmin) * a[b].d,
                         weighted_block_sums(a[b].bsums, _mm256_cvtepu8_epi16(mins8)), acc_min);
        const __m256i scales_by_chunk[2] = {
            repeat_scales(_mm_cvtepu8_epi16(scales8)),
            repeat_scales(_mm_cvtepu8_epi16(_mm_srli_si128(scales8, 8))),
        };
        __m256i sum = _mm256_setzero_si256();
        for (int chunk = 0; chunk < 2; ++chunk) {
            __m256i bits = load_256(w[b].qs + 32 * chunk);
            for (int plane = 0; plane < 4; ++plane) {
                const __m256i q = _mm256_and_si256(bits, two_bits);
                bits = _mm256_srli_epi16(bits, 2);
                const int8_t* y = a[b].qs + 128 * chunk + 32 * plane;
                sum = _mm256_add_epi32(
                    sum, scaled_dot_unsigned_signed(q, load_256(y),
                                                    pairs.pick(scales_by_chunk[chunk], plane)));
            }
        }
        acc = scaled(half_to_float(w[b].d) * a[b].d, sum, acc);
    }
    *out = horizontal_sum(acc) - horizontal_sum(acc_min);
}

void vec_dot_iq4_xs_avx2(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockIQ4_XS*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    const __m256i grid = _mm256_broadcastsi128_si256(load_128(kIq4Values));
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        __m256i sum = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ++ib) {
            const __m256i q = _mm256_shuffle_epi8(grid, unpack_nibbles(w[b].qs + 16 * ib));
            const __m256i y = load_256(a[b].qs + 32 * ib);
            // Signed x signed: move q's sign onto y (grid values are > -128).
            const __m256i pairs =
                _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q));
            sum = _mm256_add_epi32(
                sum, _mm256_madd_epi16(pairs, _mm256_set1_epi16(int16_t(iq4_xs_scale(w[b], ib)))));
        }
        acc = scaled(half_to_float(w[b].d) * a[b].d, sum, acc);
    }
    *out = horizontal_sum(acc);
}

}  // namespace

VecDotFn kquant_vec_dot_avx2(GgmlType type) {
    switch (type) {
        case GgmlType::Q2_K:
            return vec_dot_q2_k_avx2;
        case GgmlType::Q3_K:
            return vec_dot_q3_k_avx2;
        case GgmlType::Q4_K:
            return vec_dot_q4_q5_k_avx2<BlockQ4_K, false>;
        case GgmlType::Q5_K:
            return vec_dot_q4_q5_k_avx2<BlockQ5_K, true>;
        case GgmlType::Q6_K:
            return vec_dot_q6_k_avx2;
        case GgmlType::IQ4_XS:
            return vec_dot_iq4_xs_avx2;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail

#else  // not x86-64: no AVX2 kernels

namespace uma::cpu::detail {
VecDotFn kquant_vec_dot_avx2(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
