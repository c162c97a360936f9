// AVX2 attention row kernels (see attention_rows.h), the AVX-512 ones' structure at 8 floats per
// vector: scores for 12 or more query rows from transposed tiles of 16 keys, for fewer from four
// heads per cached row with the horizontal sums folded together; weighted sums with up to four
// heads x 16 columns in registers across all rows; exp from a degree-6 polynomial of 2^f with the
// power of two built in the exponent bits. Head dimensions that are not a multiple of 8 go to the
// scalar kernels.
#include "backends/cpu/attention_rows.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>

#include "backends/cpu/quant_simd_x86.h"

namespace uma::cpu::detail {
namespace {

inline __m256 load(const float* p) {
    return _mm256_loadu_ps(p);
}
inline __m256 load(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
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
void scores_summed(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride, int heads,
                   int64_t dim, float* out, int64_t out_stride) {
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

// In place: row i of the 8 x 8 block r[0..7] becomes column i.
inline void transpose8(__m256 r[8]) {
    __m256 t[8];
    for (int i = 0; i < 4; ++i) {  // per 128-bit lane: pairs of rows, interleaved
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {  // r[4i + e], lane L: rows 4i..4i+3 of column 4L + e
        r[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int e = 0; e < 4; ++e) {
        t[e] = _mm256_permute2f128_ps(r[e], r[4 + e], 0x20);
        t[4 + e] = _mm256_permute2f128_ps(r[e], r[4 + e], 0x31);
    }
    for (int c = 0; c < 8; ++c) r[c] = t[c];
}

// Keys per tile of the transposed kernel: two vectors of scores per query row.
constexpr int kTileKeys = 16;

// Scores of R query rows against a tile of keys held transposed (kt[d] = dimension d of the
// tile's keys): broadcast products, no horizontal sums.
template <int R, int D>
inline void tile_scores(const float (*kt)[kTileKeys], const float* q, int64_t q_stride, float* out,
                        int64_t out_stride, int keys) {
    __m256 acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int d = 0; d < D; ++d) {
        const __m256 k0 = _mm256_load_ps(kt[d]), k1 = _mm256_load_ps(kt[d] + 8);
        for (int r = 0; r < R; ++r) {
            const __m256 b = _mm256_broadcast_ss(q + r * q_stride + d);
            acc[r][0] = _mm256_fmadd_ps(b, k0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(b, k1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; ++r) {
        if (keys == kTileKeys) {
            _mm256_storeu_ps(out + r * out_stride, acc[r][0]);
            _mm256_storeu_ps(out + r * out_stride + 8, acc[r][1]);
        } else {
            alignas(32) float all[kTileKeys];
            _mm256_store_ps(all, acc[r][0]);
            _mm256_store_ps(all + 8, acc[r][1]);
            for (int j = 0; j < keys; ++j) out[r * out_stride + j] = all[j];
        }
    }
}

// For several query rows: tiles of 16 keys are converted and transposed once, then dotted with
// every row by broadcasting (as in the AVX-512 kernel).
template <class T, int D>
void scores_transposed(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride,
                       int heads, float* out, int64_t out_stride) {
    alignas(32) float kt[D][kTileKeys];
    for (int64_t j0 = 0; j0 < n; j0 += kTileKeys) {
        const int tile = static_cast<int>(std::min<int64_t>(kTileKeys, n - j0));
        keys.prefetch(j0 + kTileKeys, std::min<int64_t>(n, j0 + 2 * kTileKeys), D * sizeof(T));
        for (int half = 0; half < 2; ++half)
            for (int c = 0; c < D; c += 8) {
                __m256 r[8];
                for (int i = 0; i < 8; ++i) {
                    const int key = 8 * half + i;
                    r[i] = key < tile ? load(static_cast<const T*>(keys.row(j0 + key)) + c)
                                      : _mm256_setzero_ps();
                }
                transpose8(r);
                for (int i = 0; i < 8; ++i) _mm256_store_ps(kt[c + i] + 8 * half, r[i]);
            }
        int h = 0;
        for (; heads - h >= 6 && heads - h != 8; h += 6)
            tile_scores<6, D>(kt, q + h * q_stride, q_stride, out + h * out_stride + j0, out_stride,
                              tile);
        for (; heads - h >= 4; h += 4)
            tile_scores<4, D>(kt, q + h * q_stride, q_stride, out + h * out_stride + j0, out_stride,
                              tile);
        for (; heads - h >= 2; h += 2)
            tile_scores<2, D>(kt, q + h * q_stride, q_stride, out + h * out_stride + j0, out_stride,
                              tile);
        for (; h < heads; ++h)
            tile_scores<1, D>(kt, q + h * q_stride, q_stride, out + h * out_stride + j0, out_stride,
                              tile);
    }
}

// Query rows from which transposing a tile of keys pays for itself. Measured in cache, 64-dim F16
// keys, ns per score, horizontal sums -> transposed: 4 rows 2.0 -> 2.6, 8 rows 2.3 -> 2.7, 16
// rows 1.7 -> 1.5, 32 rows 2.2 -> 1.5.
constexpr int kTransposeFromRows = 12;

template <class T>
void scores(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride, int heads,
            int64_t dim, float* out, int64_t out_stride) {
    if (dim % 8 != 0)
        return scalar_row_kernels<T>().scores(keys, n, q, q_stride, heads, dim, out, out_stride);
    if (heads >= kTransposeFromRows) switch (dim) {
            case 64:
                return scores_transposed<T, 64>(keys, n, q, q_stride, heads, out, out_stride);
            case 80:
                return scores_transposed<T, 80>(keys, n, q, q_stride, heads, out, out_stride);
            case 96:
                return scores_transposed<T, 96>(keys, n, q, q_stride, heads, out, out_stride);
            case 128:
                return scores_transposed<T, 128>(keys, n, q, q_stride, heads, out, out_stride);
            case 192:
                return scores_transposed<T, 192>(keys, n, q, q_stride, heads, out, out_stride);
            case 256:
                return scores_transposed<T, 256>(keys, n, q, q_stride, heads, out, out_stride);
            default:
                break;
        }
    scores_summed<T>(keys, n, q, q_stride, heads, dim, out, out_stride);
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
        const __m256 e = simd::exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
        _mm256_storeu_ps(x + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    float total = sum1(sum);
    if (i < n) {
        alignas(32) float tail[8] = {};
        for (int64_t k = i; k < n; ++k) tail[k - i] = x[k] - max;
        alignas(32) float e[8];
        _mm256_store_ps(e, simd::exp256(_mm256_load_ps(tail)));
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
        return scalar_row_kernels<T>().weighted_sum(values, n, weights, weight_stride, heads, dim,
                                                    out, out_stride);
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
    return by_cache_type(cache_type, kF32, kF16);
}

}  // namespace uma::cpu::detail

#else  // not x86-64

namespace uma::cpu::detail {
const AttentionRowKernels* attention_row_kernels_avx2(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
