#pragma once
// Vector math shared by the AVX-512 kernels; include only from *_avx512.cpp files.
#include "backends/cpu/avx512_intrinsics.h"

namespace uma::cpu::detail {

// e^x from vscalefps on a degree-6 polynomial of e^y, |y| <= ln(2)/2 (relative error about 1e-7).
// Inputs below -100 give e^-100 (about 4e-44); large ones overflow to infinity.
inline __m512 exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-100.0f));
    const __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));  // x log2(e)
    const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 y = _mm512_mul_ps(_mm512_sub_ps(t, n), _mm512_set1_ps(0.693147180559945309f));
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// The first n (< 16) lanes.
inline __mmask16 first_lanes(int64_t n) {
    return static_cast<__mmask16>((1u << n) - 1);
}

}  // namespace uma::cpu::detail
