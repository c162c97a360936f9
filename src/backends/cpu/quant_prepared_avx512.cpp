// AVX-512 dot products with a prepared activation row (see quant_prepared.h).
//
// Q4_0: four 18-byte weight blocks (72 bytes) are read with two loads and regrouped with one
// vpermt2w (the blocks are 9 words long, so every field is word-aligned): the four 16-byte quant
// arrays land in the four 128-bit lanes, and a vpermw spreads the four fp16 scales over the same
// lanes. The activation is prepared in the matching order: per group of four blocks, the low
// halves (elements 0-15 of each block) in one 64-byte vector, the high halves in another, the
// scales broadcast per lane, and the -8 offset of the weights folded into per-block sums.
#include "backends/cpu/quant_prepared.h"

#if defined(__x86_64__)
#include <cstring>

#include "backends/cpu/avx512_intrinsics.h"
#include "backends/cpu/quant_blocks.h"
#include "backends/cpu/quant_simd_x86.h"

namespace uma::cpu::detail {
namespace {

using namespace blocks;
using namespace simd;

// One group of four Q8_0 activation blocks, prepared for Q4_0 weights.
struct PreparedQ4_0Group {
    int8_t low[64];    // lane k: elements 0-15 of block k
    int8_t high[64];   // lane k: elements 16-31 of block k
    float scale[16];   // lane k: the block's scale, four times
    float offset[16];  // lane k: -8 * scale * sum(quants) / 4, four times (sums to the block's)
};
static_assert(sizeof(PreparedQ4_0Group) == 256);

constexpr int64_t kQ4_0Group = 4 * kLegacyBlock;

size_t q4_0_prepared_bytes(int64_t n) {
    return size_t(n / kQ4_0Group) * sizeof(PreparedQ4_0Group);
}

void q4_0_prepare(const void* activation, void* prepared, int64_t n) {
    const auto* a = static_cast<const BlockQ8_0*>(activation);
    auto* groups = static_cast<PreparedQ4_0Group*>(prepared);
    for (int64_t g = 0; g < n / kQ4_0Group; ++g) {
        PreparedQ4_0Group& out = groups[g];
        for (int k = 0; k < 4; ++k) {
            const BlockQ8_0& block = a[4 * g + k];
            std::memcpy(out.low + 16 * k, block.qs, 16);
            std::memcpy(out.high + 16 * k, block.qs + 16, 16);
            int sum = 0;
            for (int i = 0; i < 32; ++i) sum += block.qs[i];
            const float d = half_to_float(block.d);
            for (int i = 0; i < 4; ++i) {
                out.scale[4 * k + i] = d;
                out.offset[4 * k + i] = -8.0f * d * float(sum) / 4.0f;
            }
        }
    }
}

// vpermt2w indices: word j of the result is quant word j % 8 of block j / 8 (words 9k+1..9k+8
// of the 72-byte group). The first register holds group words 0..31, the second (indices from 32
// up) words 32..35.
inline __m512i q4_0_quant_index() {
    int16_t index[32];
    for (int j = 0; j < 32; ++j) {
        const int word = 9 * (j / 8) + 1 + j % 8;
        index[j] = int16_t(word);
    }
    return _mm512_loadu_si512(index);
}
// vpermw indices: word i (of the low 16) is the scale of block i / 4 (word 9k of the group).
inline __m512i q4_0_scale_index() {
    int16_t index[32];
    for (int i = 0; i < 32; ++i) index[i] = int16_t(9 * ((i / 4) % 4));
    return _mm512_loadu_si512(index);
}

void q4_0_dot(int64_t n, float* out, const void* weight, const void* prepared) {
    const auto* w = static_cast<const uint8_t*>(weight);
    const auto* a = static_cast<const PreparedQ4_0Group*>(prepared);
    const __m512i quant_index = q4_0_quant_index();
    const __m512i scale_index = q4_0_scale_index();
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    const int64_t groups = n / kQ4_0Group;
    for (int64_t g = 0; g < groups; ++g) {
        const uint8_t* p = w + 72 * g;
        // Bytes 0..63, then 64..71: never past the group (nor the end of the mapping).
        const __m512i first = _mm512_loadu_si512(p);
        const __m512i second =
            _mm512_castsi128_si512(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 64)));
        const __m512i q = _mm512_permutex2var_epi16(first, quant_index, second);
        const __m512 w_scale =
            _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(scale_index, first)));
        const __m512i low = _mm512_and_si512(q, nibble);
        const __m512i high = _mm512_and_si512(_mm512_srli_epi16(q, 4), nibble);
        const PreparedQ4_0Group& y = a[g];
        __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), low, _mm512_loadu_si512(y.low));
        sum = _mm512_dpbusd_epi32(sum, high, _mm512_loadu_si512(y.high));
        // w_scale * (a_scale * sum - 8 * a_scale * sum(a)), per lane.
        const __m512 block = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_loadu_ps(y.scale),
                                             _mm512_loadu_ps(y.offset));
        acc[g & 1] = _mm512_fmadd_ps(w_scale, block, acc[g & 1]);
    }
    *out = _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
}

constexpr PreparedKernel kQ4_0{kQ4_0Group, q4_0_prepared_bytes, q4_0_prepare, q4_0_dot};

}  // namespace

const PreparedKernel* prepared_kernel_avx512(GgmlType weight_type) {
    switch (weight_type) {
        case GgmlType::Q4_0:
            return &kQ4_0;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail

#else  // not x86-64

namespace uma::cpu::detail {
const PreparedKernel* prepared_kernel_avx512(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
