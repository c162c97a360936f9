// AVX2 dot products of the 32-element block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) with a
// Q8_0 activation row. Each block's integer dot is formed exactly with maddubs/madd, then scaled
// in float, so the result matches the scalar reference up to summation order.
#include "backends/cpu/quant_formats.h"

#if defined(__x86_64__)
#include "backends/cpu/quant_blocks.h"
#include "backends/cpu/quant_simd_x86.h"

namespace uma::cpu::detail {
namespace {

using namespace blocks;
using namespace simd;

inline __m256 scaled(float scale, __m256i dot, __m256 acc) {
    return _mm256_fmadd_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(dot), acc);
}

struct Q4_0 {
    using Block = BlockQ4_0;
    static __m256 accumulate(const Block& w, const BlockQ8_0& a, __m256 acc) {
        const __m256i q = _mm256_sub_epi8(unpack_nibbles(w.qs), _mm256_set1_epi8(8));
        const __m256i dot = dot_signed_signed(q, load_256(a.qs));
        return scaled(half_to_float(w.d) * half_to_float(a.d), dot, acc);
    }
};

// Formats with a minimum: sum(d*q + m) * y = d * dot(q, y) + m * sum(y).
inline __m256 accumulate_with_min(__m256i q, uint16_t d, uint16_t m, const BlockQ8_0& a,
                                  __m256 acc) {
    const __m256i y = load_256(a.qs);
    const float da = half_to_float(a.d);
    acc = scaled(half_to_float(d) * da, dot_unsigned_signed(q, y), acc);
    return scaled(half_to_float(m) * da, dot_unsigned_signed(_mm256_set1_epi8(1), y), acc);
}

struct Q4_1 {
    using Block = BlockQ4_1;
    static __m256 accumulate(const Block& w, const BlockQ8_0& a, __m256 acc) {
        return accumulate_with_min(unpack_nibbles(w.qs), w.d, w.m, a, acc);
    }
};

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

struct Q5_0 {
    using Block = BlockQ5_0;
    static __m256 accumulate(const Block& w, const BlockQ8_0& a, __m256 acc) {
        // Without its fifth bit a quant is nibble - 16, i.e. the nibble with the top 4 bits set.
        const __m256i missing_bit =
            _mm256_andnot_si256(bits_to_byte_mask(load_u32(w.qh)), _mm256_set1_epi8(int8_t(0xF0)));
        const __m256i q = _mm256_or_si256(unpack_nibbles(w.qs), missing_bit);
        const __m256i dot = dot_signed_signed(q, load_256(a.qs));
        return scaled(half_to_float(w.d) * half_to_float(a.d), dot, acc);
    }
};

struct Q5_1 {
    using Block = BlockQ5_1;
    static __m256 accumulate(const Block& w, const BlockQ8_0& a, __m256 acc) {
        const __m256i fifth_bit =
            _mm256_and_si256(bits_to_byte_mask(load_u32(w.qh)), _mm256_set1_epi8(0x10));
        return accumulate_with_min(_mm256_or_si256(unpack_nibbles(w.qs), fifth_bit), w.d, w.m, a,
                                   acc);
    }
};

struct Q8_0 {
    using Block = BlockQ8_0;
    static __m256 accumulate(const Block& w, const BlockQ8_0& a, __m256 acc) {
        const __m256i dot = dot_signed_signed(load_256(w.qs), load_256(a.qs));
        return scaled(half_to_float(w.d) * half_to_float(a.d), dot, acc);
    }
};

struct IQ4_NL {
    using Block = BlockIQ4_NL;
    static __m256 accumulate(const Block& w, const BlockQ8_0& a, __m256 acc) {
        // The 16-entry grid fits a shuffle table: each nibble selects its grid value.
        const __m256i grid = _mm256_broadcastsi128_si256(load_128(kIq4Values));
        const __m256i q = _mm256_shuffle_epi8(grid, unpack_nibbles(w.qs));
        const __m256i dot = dot_signed_signed(q, load_256(a.qs));
        return scaled(half_to_float(w.d) * half_to_float(a.d), dot, acc);
    }
};

// Two accumulators so consecutive blocks do not wait on each other's FMA.
template <typename Format>
void vec_dot_legacy_avx2(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const typename Format::Block*>(weight);
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    const int64_t blocks = n / kLegacyBlock;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
        acc0 = Format::accumulate(w[b], a[b], acc0);
        acc1 = Format::accumulate(w[b + 1], a[b + 1], acc1);
    }
    if (b < blocks) acc0 = Format::accumulate(w[b], a[b], acc0);
    *out = horizontal_sum(_mm256_add_ps(acc0, acc1));
}

}  // namespace

VecDotFn legacy_vec_dot_avx2(GgmlType type) {
    switch (type) {
        case GgmlType::Q4_0:
            return vec_dot_legacy_avx2<Q4_0>;
        case GgmlType::Q4_1:
            return vec_dot_legacy_avx2<Q4_1>;
        case GgmlType::Q5_0:
            return vec_dot_legacy_avx2<Q5_0>;
        case GgmlType::Q5_1:
            return vec_dot_legacy_avx2<Q5_1>;
        case GgmlType::Q8_0:
            return vec_dot_legacy_avx2<Q8_0>;
        case GgmlType::IQ4_NL:
            return vec_dot_legacy_avx2<IQ4_NL>;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail

#else  // not x86-64: no AVX2 kernels

namespace uma::cpu::detail {
VecDotFn legacy_vec_dot_avx2(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
