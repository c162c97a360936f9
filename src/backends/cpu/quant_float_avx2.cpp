// AVX2 + FMA + F16C dot products for F32, F16 and BF16 weight rows with F32 activations.
#include "backends/cpu/quant_formats.h"

#if defined(__x86_64__)
#include "backends/cpu/quant_simd_x86.h"

namespace uma::cpu::detail {
namespace {

using namespace simd;

// Widens 8 weights to floats; specialised per storage format.
struct F32Weights {
    static __m256 load(const void* row, int64_t i) {
        return _mm256_loadu_ps(static_cast<const float*>(row) + i);
    }
    static float at(const void* row, int64_t i) { return static_cast<const float*>(row)[i]; }
};
struct F16Weights {
    static __m256 load(const void* row, int64_t i) {
        return _mm256_cvtph_ps(load_128(static_cast<const uint16_t*>(row) + i));
    }
    static float at(const void* row, int64_t i) {
        return half_to_float(static_cast<const uint16_t*>(row)[i]);
    }
};
struct BF16Weights {
    // bf16 is the top half of an fp32: widen to 32 bits and shift into place.
    static __m256 load(const void* row, int64_t i) {
        const __m256i wide = _mm256_cvtepu16_epi32(load_128(static_cast<const uint16_t*>(row) + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    }
    static float at(const void* row, int64_t i) {
        const __m128i wide = _mm_cvtsi32_si128(int(static_cast<const uint16_t*>(row)[i]) << 16);
        return _mm_cvtss_f32(_mm_castsi128_ps(wide));
    }
};

// Four independent accumulators hide the FMA latency.
template <typename Weights>
void vec_dot_float_avx2(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* a = static_cast<const float*>(activation);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; ++k)
            acc[k] = _mm256_fmadd_ps(Weights::load(weight, i + 8 * k),
                                     _mm256_loadu_ps(a + i + 8 * k), acc[k]);
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(Weights::load(weight, i), _mm256_loadu_ps(a + i), acc[0]);
    float sum =
        horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; ++i) sum += Weights::at(weight, i) * a[i];
    *out = sum;
}

}  // namespace

VecDotFn float_vec_dot_avx2(GgmlType type) {
    switch (type) {
        case GgmlType::F32:
            return vec_dot_float_avx2<F32Weights>;
        case GgmlType::F16:
            return vec_dot_float_avx2<F16Weights>;
        case GgmlType::BF16:
            return vec_dot_float_avx2<BF16Weights>;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail

#else  // not x86-64: no AVX2 kernels

namespace uma::cpu::detail {
VecDotFn float_vec_dot_avx2(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
