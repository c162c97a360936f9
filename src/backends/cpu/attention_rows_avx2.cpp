// AVX2 attention row kernels (see attention_rows.h), the AVX-512 ones' structure at 8 floats per
// vector: scores for four heads per cached row with the horizontal sums folded together, weighted
// sums with up to four heads x 16 columns in registers across all rows, and exp from a degree-6
// polynomial of 2^f with the power of two built in the exponent bits. Head dimensions that are not
// a multiple of 8 go to the scalar kernels.
#include "backends/cpu/attention_rows.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <type_traits>

namespace uma::cpu::detail {
namespace {

inline __m256 load(const float* p) {
    return _mm256_loadu_ps(p);
}
inline __m256 load(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Head dimensions the vector loops do not cover go to the scalar kernels.
template <class T>
const AttentionRowKernels& scalar_kernels() {
    return *attention_row_kernels(std::is_same_v<T, float> ? GgmlType::F32 : GgmlType::F16,
                                  SimdLevel::scalar);
}

inline float sum1(__m256 a) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

// The four horizontal sums of a0..a3, in lanes 0..3.
inline __m128 sum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

template <class T>
void scores(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride, int heads,
            int64_t dim, float* out, int64_t out_stride) {
    if (dim % 8 != 0)
        return scalar_kernels<T>().scores(keys, n, q, q_stride, heads, dim, out, out_stride);
    for (int64_t j = 0; j < n; ++j) {
        const auto* row = static_cast<const T*>(keys.row(j));
        int h = 0;
        for (; h + 4 <= heads; h += 4) {
            __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                           _mm256_setzero_ps()};
            for (int64_t i = 0; i < dim; i += 8) {
                const __m256 k = load(row + i);
                for (int m = 0; m < 4; ++m)
                    a[m] = _mm256_fmadd_ps(k, _mm256_loadu_ps(q + (h + m) * q_stride + i), a[m]);
            }
            alignas(16) float sums[4];
            _mm_store_ps(sums, sum4(a[0], a[1], a[2], a[3]));
            for (int m = 0; m < 4; ++m) out[(h + m) * out_stride + j] = sums[m];
        }
        for (; h < heads; ++h) {
            __m256 a = _mm256_setzero_ps();
            for (int64_t i = 0; i < dim; i += 8)
                a = _mm256_fmadd_ps(load(row + i), _mm256_loadu_ps(q + h * q_stride + i), a);
            out[h * out_stride + j] = sum1(a);
        }
    }
}

inline __m256 exp256(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));  // 2^n stays a normal float
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

float max(const float* x, int64_t n) {
    float m = x[0];
    int64_t i = 0;
    if (n >= 8) {
        __m256 v = _mm256_loadu_ps(x);
        for (i = 8; i + 8 <= n; i += 8) v = _mm256_max_ps(v, _mm256_loadu_ps(x + i));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        m = _mm_cvtss_f32(h);
    }
    for (; i < n; ++i) m = std::max(m, x[i]);
    return m;
}

float exp_sum(float* x, int64_t n, float max) {
    const __m256 m = _mm256_set1_ps(max);
    __m256 sum = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
        _mm256_storeu_ps(x + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    float total = sum1(sum);
    if (i < n) {
        alignas(32) float tail[8] = {};
        for (int64_t k = i; k < n; ++k) tail[k - i] = x[k] - max;
        alignas(32) float e[8];
        _mm256_store_ps(e, exp256(_mm256_load_ps(tail)));
        for (int64_t k = i; k < n; ++k) total += x[k] = e[k - i];
    }
    return total;
}

// H heads x V vectors of 8 columns, starting at `column`, accumulated over all rows.
template <class T, int H, int V>
void weighted_block(const CacheRows& values, int64_t n, const float* weights, int64_t weight_stride,
                    int64_t column, float* out, int64_t out_stride) {
    __m256 acc[H][V];
    for (int h = 0; h < H; ++h)
        for (int v = 0; v < V; ++v) acc[h][v] = _mm256_setzero_ps();
    for (int64_t j = 0; j < n; ++j) {
        const auto* row = static_cast<const T*>(values.row(j)) + column;
        __m256 x[V];
        for (int v = 0; v < V; ++v) x[v] = load(row + 8 * v);
        for (int h = 0; h < H; ++h) {
            const __m256 w = _mm256_set1_ps(weights[h * weight_stride + j]);
            for (int v = 0; v < V; ++v) acc[h][v] = _mm256_fmadd_ps(w, x[v], acc[h][v]);
        }
    }
    for (int h = 0; h < H; ++h)
        for (int v = 0; v < V; ++v)
            _mm256_storeu_ps(out + h * out_stride + column + 8 * v, acc[h][v]);
}

template <class T, int H>
void weighted_heads(const CacheRows& values, int64_t n, const float* weights, int64_t weight_stride,
                    int64_t dim, float* out, int64_t out_stride) {
    int64_t column = 0;
    for (; column + 16 <= dim; column += 16)
        weighted_block<T, H, 2>(values, n, weights, weight_stride, column, out, out_stride);
    if (column < dim)
        weighted_block<T, H, 1>(values, n, weights, weight_stride, column, out, out_stride);
}

template <class T>
void weighted_sum(const CacheRows& values, int64_t n, const float* weights, int64_t weight_stride,
                  int heads, int64_t dim, float* out, int64_t out_stride) {
    if (dim % 8 != 0)
        return scalar_kernels<T>().weighted_sum(values, n, weights, weight_stride, heads, dim, out,
                                                out_stride);
    int h = 0;
    for (; h + 4 <= heads; h += 4)
        weighted_heads<T, 4>(values, n, weights + h * weight_stride, weight_stride, dim,
                             out + h * out_stride, out_stride);
    const float* w = weights + h * weight_stride;
    float* o = out + h * out_stride;
    switch (heads - h) {
        case 3:
            return weighted_heads<T, 3>(values, n, w, weight_stride, dim, o, out_stride);
        case 2:
            return weighted_heads<T, 2>(values, n, w, weight_stride, dim, o, out_stride);
        case 1:
            return weighted_heads<T, 1>(values, n, w, weight_stride, dim, o, out_stride);
        default:
            return;
    }
}

constexpr AttentionRowKernels kF32{scores<float>, max, exp_sum, weighted_sum<float>};
constexpr AttentionRowKernels kF16{scores<uint16_t>, max, exp_sum, weighted_sum<uint16_t>};

}  // namespace

const AttentionRowKernels* attention_row_kernels_avx2(GgmlType cache_type) {
    switch (cache_type) {
        case GgmlType::F32:
            return &kF32;
        case GgmlType::F16:
            return &kF16;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail

#else  // not x86-64

namespace uma::cpu::detail {
const AttentionRowKernels* attention_row_kernels_avx2(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
