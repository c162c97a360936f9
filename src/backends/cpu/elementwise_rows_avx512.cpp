// AVX-512 elementwise kernels (see elementwise_rows.h): silu through the vector exp, the RMS of a
// row summed in double precision eight lanes at a time, and rows converted to half precision.
#include "backends/cpu/elementwise_rows.h"

#if defined(__x86_64__)
#include <cmath>

#include "backends/cpu/avx512_intrinsics.h"
#include "backends/cpu/simd_math_avx512.h"

namespace uma::cpu::detail {
namespace {

inline __m512 swiglu16(__m512 g, __m512 u) {
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), g));
    return _mm512_div_ps(_mm512_mul_ps(g, u), _mm512_add_ps(one, e));
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, swiglu16(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
    if (i < n) {
        const __mmask16 mask = first_lanes(n - i);
        _mm512_mask_storeu_ps(
            out + i, mask,
            swiglu16(_mm512_maskz_loadu_ps(mask, gate + i), _mm512_maskz_loadu_ps(mask, up + i)));
    }
}

// Squares of eight floats widened to double, added to acc.
inline __m512d add_squares(__m512d acc, __m256 x) {
    const __m512d d = _mm512_cvtps_pd(x);
    return _mm512_fmadd_pd(d, d, acc);
}

void rms_norm(const float* x, const float* weight, int64_t dim, float eps, float* out) {
    __m512d acc[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(),
                      _mm512_setzero_pd()};
    int64_t i = 0;
    for (; i + 32 <= dim; i += 32)
        for (int k = 0; k < 4; ++k) acc[k] = add_squares(acc[k], _mm256_loadu_ps(x + i + 8 * k));
    for (; i + 8 <= dim; i += 8) acc[0] = add_squares(acc[0], _mm256_loadu_ps(x + i));
    double sum = _mm512_reduce_add_pd(
        _mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3])));
    for (; i < dim; ++i) sum += double(x[i]) * x[i];
    const float inv = 1.0f / std::sqrt(float(sum / double(dim)) + eps);
    const __m512 scale = _mm512_set1_ps(inv);
    for (i = 0; i + 16 <= dim; i += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), scale);
        if (weight) v = _mm512_mul_ps(v, _mm512_loadu_ps(weight + i));
        _mm512_storeu_ps(out + i, v);
    }
    if (i < dim) {
        const __mmask16 mask = first_lanes(dim - i);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), scale);
        if (weight) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mask, weight + i));
        _mm512_mask_storeu_ps(out + i, mask, v);
    }
}

void to_f16(const float* x, int64_t n, uint16_t* out) {
    constexpr int kRounding = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(x + i), kRounding));
    if (i < n) {
        const __mmask16 mask = first_lanes(n - i);
        _mm256_mask_storeu_epi16(out + i, mask,
                                 _mm512_cvtps_ph(_mm512_maskz_loadu_ps(mask, x + i), kRounding));
    }
}

constexpr ElementwiseKernels kAvx512{swiglu, rms_norm, to_f16};

}  // namespace

const ElementwiseKernels* elementwise_kernels_avx512() {
    return &kAvx512;
}

}  // namespace uma::cpu::detail

#else  // not x86-64

namespace uma::cpu::detail {
const ElementwiseKernels* elementwise_kernels_avx512() {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
