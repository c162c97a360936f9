#pragma once
// AVX2 building blocks shared by the *_avx2.cpp and *_avx512.cpp kernels. Include only from those
// files (they are compiled with -mavx2 -mfma -mf16c or more) and only under __x86_64__.
//
// Everything sits in an anonymous namespace so each SIMD translation unit keeps a private copy:
// an ordinary inline function would be merged across files by the linker, and a baseline caller
// could end up running a copy compiled for a wider instruction set.
#include <immintrin.h>

#include <cstdint>

namespace uma::cpu::simd {
namespace {

// fp16 -> fp32 for one value, with F16C (fp16.h's portable version would be emitted with AVX2
// code generation here and clash with baseline copies, see above).
inline float half_to_float(uint16_t h) {
    return _cvtsh_ss(h);
}

inline float horizontal_sum(__m128 v) {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    return _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
}
inline float horizontal_sum(__m256 v) {
    return horizontal_sum(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

inline __m256i load_256(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i load_128(const void* p) {
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

// 16 bytes of nibbles -> 32 bytes: the 16 low nibbles, then the 16 high nibbles (the element
// order of Q4_0, IQ4_NL and IQ4_XS sub-blocks).
inline __m256i unpack_nibbles(const uint8_t* packed) {
    const __m128i bytes = load_128(packed);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Byte i of the result is 0xFF when bit i of `bits` is set, else 0.
inline __m256i bits_to_byte_mask(uint32_t bits) {
    // Byte i takes byte i/8 of `bits`, then every bit except bit i%8 is forced on.
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(int(bits)),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i others = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(others, _mm256_set1_epi64x(-1));
}

// Sums of 4 adjacent products of unsigned bytes u (< 128 here) with signed bytes s, as 8 int32.
inline __m256i dot_unsigned_signed(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// The same for two signed operands: moves the sign of x onto y so maddubs sees |x| * (+-y).
// Requires x, y > -128.
inline __m256i dot_signed_signed(__m256i x, __m256i y) {
    return dot_unsigned_signed(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// Products of pairs of bytes (unsigned u, signed s) weighted per 16-bit lane by `scales`, as 8
// int32.
inline __m256i scaled_dot_unsigned_signed(__m256i u, __m256i s, __m256i scales) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scales);
}

// The 16 sub-block sums of a Q8_K block, weighted by 16 int16 factors, summed pairwise to 8 int32.
inline __m256i weighted_block_sums(const int16_t* bsums, __m256i factors) {
    return _mm256_madd_epi16(load_256(bsums), factors);
}

// Shuffle masks that broadcast int16 element 2k to the low 128-bit lane and 2k+1 to the high lane
// of a register holding 8 int16 in each lane (the scale pattern of two 16-element sub-blocks).
inline __m256i pair_broadcast_mask(int k) {
    const int lo = 4 * k, hi = 4 * k + 2;
    const __m128i low = _mm_set1_epi16(int16_t(lo | (lo + 1) << 8));
    const __m128i high = _mm_set1_epi16(int16_t(hi | (hi + 1) << 8));
    return _mm256_set_m128i(high, low);
}

// e^x from a degree-6 polynomial of e^y, |y| <= ln(2)/2, times 2^n built in the exponent bits
// (relative error about 1e-7). Inputs are clamped to [-87, 88], where 2^n stays a normal float:
// e^-87 is about 2e-38, e^88 about 2e38.
inline __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 t = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
    const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 y = _mm256_mul_ps(_mm256_sub_ps(t, n), _mm256_set1_ps(0.693147180559945309f));
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f));
    const __m256i power =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(power));
}

}  // namespace
}  // namespace uma::cpu::simd
