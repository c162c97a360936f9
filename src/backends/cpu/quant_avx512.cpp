// AVX-512 (F, BW, VL, DQ, VNNI) dot products for the most used weight formats: F32, F16, Q8_0,
// Q4_0, Q4_K and Q6_K. Byte products go through VNNI (vpdpbusd: unsigned x signed bytes summed in
// fours into int32; vpdpwssd: int16 pairs into int32), two legacy blocks or 64 K-quant elements
// per 512-bit register.
#include "backends/cpu/quant_formats.h"

#if defined(__x86_64__)
#include "backends/cpu/avx512_intrinsics.h"
#include "backends/cpu/quant_blocks.h"
#include "backends/cpu/quant_simd_x86.h"

namespace uma::cpu::detail {
namespace {

using namespace blocks;
using namespace simd;

// ---- float rows ----

struct F32Weights {
    static __m512 load(const void* row, int64_t i) {
        return _mm512_loadu_ps(static_cast<const float*>(row) + i);
    }
    static float at(const void* row, int64_t i) { return static_cast<const float*>(row)[i]; }
};
struct F16Weights {
    static __m512 load(const void* row, int64_t i) {
        return _mm512_cvtph_ps(load_256(static_cast<const uint16_t*>(row) + i));
    }
    static float at(const void* row, int64_t i) {
        return half_to_float(static_cast<const uint16_t*>(row)[i]);
    }
};

template <typename Weights>
void vec_dot_float_avx512(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* a = static_cast<const float*>(activation);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 4; ++k)
            acc[k] = _mm512_fmadd_ps(Weights::load(weight, i + 16 * k),
                                     _mm512_loadu_ps(a + i + 16 * k), acc[k]);
    for (; i + 16 <= n; i += 16)
        acc[0] = _mm512_fmadd_ps(Weights::load(weight, i), _mm512_loadu_ps(a + i), acc[0]);
    float sum = _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
    for (; i < n; ++i) sum += Weights::at(weight, i) * a[i];
    *out = sum;
}

// ---- legacy blocks, two per register ----

inline __m512i join(__m256i low, __m256i high) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
}
inline __m512 join_scales(float low, float high) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(low)), _mm256_set1_ps(high), 1);
}

// Signed x signed bytes: |x| as the unsigned operand, y negated where x is negative.
inline __m512i dot_signed_signed_512(__m512i x, __m512i y) {
    const __mmask64 negative = _mm512_movepi8_mask(x);
    const __m512i signed_y = _mm512_mask_sub_epi8(y, negative, _mm512_setzero_si512(), y);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(x), signed_y);
}

struct Q8_0 {
    using Block = BlockQ8_0;
    static __m512i dot(const Block& w0, const Block& w1, __m512i y) {
        return dot_signed_signed_512(join(load_256(w0.qs), load_256(w1.qs)), y);
    }
};

struct Q4_0 {
    using Block = BlockQ4_0;
    // The nibbles are unsigned 0..15; the -8 offset is 8 * sum(y), subtracted afterwards.
    static __m512i dot(const Block& w0, const Block& w1, __m512i y) {
        const __m512i zero = _mm512_setzero_si512();
        const __m512i q = join(unpack_nibbles(w0.qs), unpack_nibbles(w1.qs));
        const __m512i offset = _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(8), y);
        return _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, q, y), offset);
    }
};

template <typename Format>
void vec_dot_legacy_avx512(int64_t n, float* out, const void* weight, const void* activation) {
    using Block = typename Format::Block;
    const auto* w = static_cast<const Block*>(weight);
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    const int64_t blocks = n / kLegacyBlock;
    __m512 acc = _mm512_setzero_ps();
    auto accumulate = [&](const Block& w0, const Block& w1, const BlockQ8_0& a0,
                          const BlockQ8_0& a1) {
        const __m512i dot = Format::dot(w0, w1, join(load_256(a0.qs), load_256(a1.qs)));
        const __m512 scales = join_scales(half_to_float(w0.d) * half_to_float(a0.d),
                                          half_to_float(w1.d) * half_to_float(a1.d));
        acc = _mm512_fmadd_ps(scales, _mm512_cvtepi32_ps(dot), acc);
    };
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) accumulate(w[b], w[b + 1], a[b], a[b + 1]);
    if (b < blocks) {  // pair the last block with an all-zero one (scale 0)
        const Block zero_weight{};
        const BlockQ8_0 zero_activation{};
        accumulate(w[b], zero_weight, a[b], zero_activation);
    }
    *out = _mm512_reduce_add_ps(acc);
}

// ---- K-quants, 64 elements per register ----

// A vpermw index: int16 lane i of the result takes element first + i / lanes_per_value, e.g. the
// scales of two 32-element sub-blocks (16 lanes each) or of four 16-element ones (8 lanes each).
inline __m512i spread_index(int first, int lanes_per_value) {
    int16_t lanes[32];
    for (int i = 0; i < 32; ++i) lanes[i] = int16_t(first + i / lanes_per_value);
    return _mm512_loadu_si512(lanes);
}

void vec_dot_q4_k_avx512(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ4_K*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    // Spreads scales 2g and 2g+1 over the two halves of a register.
    const __m512i scale_index[4] = {spread_index(0, 16), spread_index(2, 16), spread_index(4, 16),
                                    spread_index(6, 16)};
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    const __m512i low_then_high = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);
    __m512 acc = _mm512_setzero_ps();
    __m128 acc_min = _mm_setzero_ps();
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        uint32_t words[4];
        unpack_k_scales_words(w[b].scales, words);
        const __m128i bytes =
            _mm_set_epi32(int(words[3]), int(words[2]), int(words[1]), int(words[0]));
        // sum_j min_j * (activation sum of sub-block j), from adjacent per-16 sums.
        const __m256i sums16 = load_256(a[b].bsums);
        const __m128i sums32 =
            _mm_hadd_epi16(_mm256_castsi256_si128(sums16), _mm256_extracti128_si256(sums16, 1));
        const __m128i min_products =
            _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(bytes, bytes)), sums32);
        acc_min = _mm_fmadd_ps(_mm_set1_ps(half_to_float(w[b].dmin) * a[b].d),
                               _mm_cvtepi32_ps(min_products), acc_min);

        const __m512i scales16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(bytes));
        __m512i sum = _mm512_setzero_si512();
        for (int group = 0; group < 4; ++group) {
            // 32 bytes -> low nibbles (first sub-block) in the low half, high nibbles above.
            const __m512i packed = _mm512_broadcast_i64x4(load_256(w[b].qs + 32 * group));
            const __m512i q = _mm512_and_si512(_mm512_srlv_epi64(packed, low_then_high), nibble);
            const __m512i y = _mm512_loadu_si512(a[b].qs + 64 * group);
            sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(q, y),
                                      _mm512_permutexvar_epi16(scale_index[group], scales16));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(half_to_float(w[b].d) * a[b].d),
                              _mm512_cvtepi32_ps(sum), acc);
    }
    *out = _mm512_reduce_add_ps(acc) - horizontal_sum(acc_min);
}

void vec_dot_q6_k_avx512(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const BlockQ6_K*>(weight);
    const auto* a = static_cast<const BlockQ8_K*>(activation);
    // Spreads scales 4k .. 4k+3 over the four 128-bit lanes (one 16-element sub-block each).
    const __m512i scale_index[4] = {spread_index(0, 8), spread_index(4, 8), spread_index(8, 8),
                                    spread_index(12, 8)};
    const __m512i nibble = _mm512_set1_epi8(0x0F), bits_4_5 = _mm512_set1_epi8(0x30);
    // Moves the high-bit pairs of elements 0-31 / 32-63 (bits 0-1 / 2-3) to bits 4-5, and those
    // of elements 64-95 / 96-127 (bits 4-5 / 6-7) likewise.
    const __m512i first_shift = _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4);
    const __m512i second_shift = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const __m256i scales16 = _mm256_cvtepi8_epi16(load_128(w[b].scales));
        // Quants are stored +32: start from -32 * sum(scale_j * activation sum_j).
        const __m256i offset = _mm256_slli_epi32(weighted_block_sums(a[b].bsums, scales16), 5);
        __m512i sum = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), offset));
        const __m512i scales512 = _mm512_zextsi256_si512(scales16);
        for (int chunk = 0; chunk < 2; ++chunk) {  // 128 elements
            const __m512i ql = _mm512_loadu_si512(w[b].ql + 64 * chunk);
            const __m512i qh = _mm512_broadcast_i64x4(load_256(w[b].qh + 32 * chunk));
            const __m512i first =
                _mm512_or_si512(_mm512_and_si512(ql, nibble),
                                _mm512_and_si512(_mm512_sllv_epi64(qh, first_shift), bits_4_5));
            const __m512i second =
                _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), nibble),
                                _mm512_and_si512(_mm512_srlv_epi64(qh, second_shift), bits_4_5));
            const int8_t* y = a[b].qs + 128 * chunk;
            sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(first, _mm512_loadu_si512(y)),
                                      _mm512_permutexvar_epi16(scale_index[2 * chunk], scales512));
            sum = _mm512_dpwssd_epi32(
                sum, _mm512_maddubs_epi16(second, _mm512_loadu_si512(y + 64)),
                _mm512_permutexvar_epi16(scale_index[2 * chunk + 1], scales512));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(half_to_float(w[b].d) * a[b].d),
                              _mm512_cvtepi32_ps(sum), acc);
    }
    *out = _mm512_reduce_add_ps(acc);
}

}  // namespace

VecDotFn vec_dot_avx512(GgmlType type) {
    switch (type) {
        case GgmlType::F32:
            return vec_dot_float_avx512<F32Weights>;
        case GgmlType::F16:
            return vec_dot_float_avx512<F16Weights>;
        case GgmlType::Q8_0:
            return vec_dot_legacy_avx512<Q8_0>;
        case GgmlType::Q4_0:
            return vec_dot_legacy_avx512<Q4_0>;
        case GgmlType::Q4_K:
            return vec_dot_q4_k_avx512;
        case GgmlType::Q6_K:
            return vec_dot_q6_k_avx512;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail

#else  // not x86-64: no AVX-512 kernels

namespace uma::cpu::detail {
VecDotFn vec_dot_avx512(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
