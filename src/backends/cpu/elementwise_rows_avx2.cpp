// AVX2 elementwise kernels (see elementwise_rows.h), eight floats per vector: silu through the
// vector exp, the RMS of a row summed in double precision four lanes at a time, and rows
// converted to half precision with F16C.
#include "backends/cpu/elementwise_rows.h"

#if defined(__x86_64__)
#include <cmath>

#include "backends/cpu/quant_simd_x86.h"

namespace uma::cpu::detail {
namespace {

inline __m256 swiglu8(__m256 g, __m256 u) {
    const __m256 e = simd::exp256(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_div_ps(_mm256_mul_ps(g, u), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, swiglu8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) {
        alignas(32) float g[8] = {}, u[8] = {}, result[8];
        for (int64_t k = i; k < n; ++k) g[k - i] = gate[k], u[k - i] = up[k];
        _mm256_store_ps(result, swiglu8(_mm256_load_ps(g), _mm256_load_ps(u)));
        for (int64_t k = i; k < n; ++k) out[k] = result[k - i];
    }
}

// Squares of four floats widened to double, added to acc.
inline __m256d add_squares(__m256d acc, __m128 x) {
    const __m256d d = _mm256_cvtps_pd(x);
    return _mm256_fmadd_pd(d, d, acc);
}

void rms_norm(const float* x, const float* weight, int64_t dim, float eps, float* out) {
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                      _mm256_setzero_pd()};
    int64_t i = 0;
    for (; i + 16 <= dim; i += 16)
        for (int k = 0; k < 4; ++k) acc[k] = add_squares(acc[k], _mm_loadu_ps(x + i + 4 * k));
    for (; i + 4 <= dim; i += 4) acc[0] = add_squares(acc[0], _mm_loadu_ps(x + i));
    const __m256d total =
        _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
    const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(total), _mm256_extractf128_pd(total, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
    for (; i < dim; ++i) sum += double(x[i]) * x[i];
    const float inv = 1.0f / std::sqrt(float(sum / double(dim)) + eps);
    const __m256 scale = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= dim; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), scale);
        if (weight) v = _mm256_mul_ps(v, _mm256_loadu_ps(weight + i));
        _mm256_storeu_ps(out + i, v);
    }
    for (; i < dim; ++i) out[i] = weight ? x[i] * inv * weight[i] : x[i] * inv;
}

void to_f16(const float* x, int64_t n, uint16_t* out) {
    constexpr int kRounding = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), kRounding));
    if (i < n) {
        alignas(32) float tail[8] = {};
        alignas(16) uint16_t halves[8];
        for (int64_t k = i; k < n; ++k) tail[k - i] = x[k];
        _mm_store_si128(reinterpret_cast<__m128i*>(halves),
                        _mm256_cvtps_ph(_mm256_load_ps(tail), kRounding));
        for (int64_t k = i; k < n; ++k) out[k] = halves[k - i];
    }
}

constexpr ElementwiseKernels kAvx2{swiglu, rms_norm, to_f16};

}  // namespace

const ElementwiseKernels* elementwise_kernels_avx2() {
    return &kAvx2;
}

}  // namespace uma::cpu::detail

#else  // not x86-64

namespace uma::cpu::detail {
const ElementwiseKernels* elementwise_kernels_avx2() {
    return nullptr;
}
}  // namespace uma::cpu::detail
#endif
