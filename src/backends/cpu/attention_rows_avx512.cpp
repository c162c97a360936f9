// AVX-512 attention row kernels (see attention_rows.h). Scores: for four or more query rows, tiles
// of 32 cached keys are converted and transposed once and dotted with every row by broadcasting,
// no horizontal sums; for fewer, each key is dotted with four heads at a time and the horizontal
// sums folded together. Weighted sums: the outputs of up to four heads over 64 columns stay in
// registers across all rows. Exponentials use vscalefps on a degree-6 polynomial of 2^f,
// |f| <= 1/2 (relative error about 1e-7). Head dimensions other than 64, 80, 96, 128, 192 and 256
// (scores) or not a multiple of 16 (weighted sums) go to the scalar kernels.
#include "backends/cpu/attention_rows.h"

#if defined(__x86_64__)
#include <algorithm>
#include <cmath>

#include "backends/cpu/avx512_intrinsics.h"
#include "backends/cpu/simd_math_avx512.h"

namespace uma::cpu::detail {
namespace {

inline __m512 load(const float* p) {
    return _mm512_loadu_ps(p);
}
inline __m512 load(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The four horizontal sums of a0..a3, in lanes 0..3.
inline __m128 sum4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    const auto halves = [](__m512 a) {
        return _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    };
    const __m256 h01 = _mm256_hadd_ps(halves(a0), halves(a1));
    const __m256 h23 = _mm256_hadd_ps(halves(a2), halves(a3));
    const __m256 h = _mm256_hadd_ps(h01, h23);
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

template <class T, int V>  // dim = 16 V
void scores_fixed(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride, int heads,
                  float* out, int64_t out_stride) {
    for (int64_t j = 0; j < n; ++j) {
        const auto* row = static_cast<const T*>(keys.row(j));
        __m512 k[V];
        for (int v = 0; v < V; ++v) k[v] = load(row + 16 * v);
        int h = 0;
        for (; h + 4 <= heads; h += 4) {
            __m512 a[4];
            for (int i = 0; i < 4; ++i) {
                const float* qh = q + (h + i) * q_stride;
                a[i] = _mm512_mul_ps(k[0], _mm512_loadu_ps(qh));
                for (int v = 1; v < V; ++v)
                    a[i] = _mm512_fmadd_ps(k[v], _mm512_loadu_ps(qh + 16 * v), a[i]);
            }
            alignas(16) float sums[4];
            _mm_store_ps(sums, sum4(a[0], a[1], a[2], a[3]));
            for (int i = 0; i < 4; ++i) out[(h + i) * out_stride + j] = sums[i];
        }
        for (; h < heads; ++h) {
            const float* qh = q + h * q_stride;
            __m512 a = _mm512_mul_ps(k[0], _mm512_loadu_ps(qh));
            for (int v = 1; v < V; ++v) a = _mm512_fmadd_ps(k[v], _mm512_loadu_ps(qh + 16 * v), a);
            out[h * out_stride + j] = _mm512_reduce_add_ps(a);
        }
    }
}

// In place: row i of the 16 x 16 block r[0..15] becomes column i.
inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; ++i) {  // per 128-bit lane: pairs of rows, interleaved
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {  // r[4i + e], lane L: rows 4i..4i+3 of column 4L + e
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 2; ++i)  // t[8i + e]: rows 8i..8i+7 of columns e and 8 + e
        for (int e = 0; e < 4; ++e) {
            t[8 * i + e] = _mm512_shuffle_f32x4(r[8 * i + e], r[8 * i + 4 + e], 0x88);
            t[8 * i + 4 + e] = _mm512_shuffle_f32x4(r[8 * i + e], r[8 * i + 4 + e], 0xDD);
        }
    for (int e = 0; e < 4; ++e) {
        r[e] = _mm512_shuffle_f32x4(t[e], t[8 + e], 0x88);
        r[8 + e] = _mm512_shuffle_f32x4(t[e], t[8 + e], 0xDD);
        r[4 + e] = _mm512_shuffle_f32x4(t[4 + e], t[12 + e], 0x88);
        r[12 + e] = _mm512_shuffle_f32x4(t[4 + e], t[12 + e], 0xDD);
    }
}

// Keys per tile of the transposed kernel: two vectors of scores per query row.
constexpr int kTileKeys = 32;

// Scores of R query rows against a tile of keys held transposed (kt[d] = dimension d of the
// tile's keys): broadcast products, no horizontal sums.
template <int R, int D>
inline void tile_scores(const float (*kt)[kTileKeys], const float* q, int64_t q_stride, float* out,
                        int64_t out_stride, int keys) {
    __m512 acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int d = 0; d < D; ++d) {
        const __m512 k0 = _mm512_load_ps(kt[d]), k1 = _mm512_load_ps(kt[d] + 16);
        for (int r = 0; r < R; ++r) {
            const __m512 b = _mm512_set1_ps(q[r * q_stride + d]);
            acc[r][0] = _mm512_fmadd_ps(b, k0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(b, k1, acc[r][1]);
        }
    }
    const auto mask = [](int n) {
        return static_cast<__mmask16>(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1);
    };
    for (int r = 0; r < R; ++r) {
        _mm512_mask_storeu_ps(out + r * out_stride, mask(keys), acc[r][0]);
        _mm512_mask_storeu_ps(out + r * out_stride + 16, mask(keys - 16), acc[r][1]);
    }
}

// For many query rows (a prompt's tokens and heads): tiles of 32 keys are converted and
// transposed once, then dotted with every row by broadcasting. Each score costs dim / 16
// multiply-adds and no horizontal sum; the transposition is shared by all the rows.
template <class T, int V>  // dim = 16 V
void scores_transposed(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride,
                       int heads, float* out, int64_t out_stride) {
    alignas(64) float kt[16 * V][kTileKeys];
    for (int64_t j0 = 0; j0 < n; j0 += kTileKeys) {
        const int tile = static_cast<int>(std::min<int64_t>(kTileKeys, n - j0));
        keys.prefetch(j0 + kTileKeys, std::min<int64_t>(n, j0 + 2 * kTileKeys), 16 * V * sizeof(T));
        for (int half = 0; half < 2; ++half)
            for (int v = 0; v < V; ++v) {
                __m512 r[16];
                for (int i = 0; i < 16; ++i) {
                    const int key = 16 * half + i;
                    r[i] = key < tile ? load(static_cast<const T*>(keys.row(j0 + key)) + 16 * v)
                                      : _mm512_setzero_ps();
                }
                transpose16(r);
                for (int c = 0; c < 16; ++c) _mm512_store_ps(kt[16 * v + c] + 16 * half, r[c]);
            }
        int h = 0;
        for (; h + 8 <= heads; h += 8)
            tile_scores<8, 16 * V>(kt, q + h * q_stride, q_stride, out + h * out_stride + j0,
                                   out_stride, tile);
        for (; h + 4 <= heads; h += 4)
            tile_scores<4, 16 * V>(kt, q + h * q_stride, q_stride, out + h * out_stride + j0,
                                   out_stride, tile);
        for (; h + 2 <= heads; h += 2)
            tile_scores<2, 16 * V>(kt, q + h * q_stride, q_stride, out + h * out_stride + j0,
                                   out_stride, tile);
        for (; h < heads; ++h)
            tile_scores<1, 16 * V>(kt, q + h * q_stride, q_stride, out + h * out_stride + j0,
                                   out_stride, tile);
    }
}

// Query rows from which transposing a tile of keys pays for itself. Measured in cache, 64-dim F16
// keys, ns per score, horizontal sums -> transposed: 1 row 3.0 -> 4.2, 2 rows 2.8 -> 2.9, 4 rows
// 1.8 -> 1.7, 8 rows 1.6 -> 1.5, 32 rows 1.3 -> 0.73.
constexpr int kTransposeFromRows = 4;

template <class T, int V>
void scores_dim(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride, int heads,
                float* out, int64_t out_stride) {
    if (heads >= kTransposeFromRows)
        return scores_transposed<T, V>(keys, n, q, q_stride, heads, out, out_stride);
    return scores_fixed<T, V>(keys, n, q, q_stride, heads, out, out_stride);
}

template <class T>
void scores(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride, int heads,
            int64_t dim, float* out, int64_t out_stride) {
    switch (dim) {
        case 64:
            return scores_dim<T, 4>(keys, n, q, q_stride, heads, out, out_stride);
        case 80:
            return scores_dim<T, 5>(keys, n, q, q_stride, heads, out, out_stride);
        case 96:
            return scores_dim<T, 6>(keys, n, q, q_stride, heads, out, out_stride);
        case 128:
            return scores_dim<T, 8>(keys, n, q, q_stride, heads, out, out_stride);
        case 192:
            return scores_dim<T, 12>(keys, n, q, q_stride, heads, out, out_stride);
        case 256:
            return scores_dim<T, 16>(keys, n, q, q_stride, heads, out, out_stride);
        default:
            return scalar_row_kernels<T>().scores(keys, n, q, q_stride, heads, dim, out,
                                                  out_stride);
    }
}

float max(const float* x, int64_t n) {
    __m512 m = _mm512_set1_ps(x[0]);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
    if (i < n) {
        const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
        m = _mm512_mask_max_ps(m, mask, m, _mm512_maskz_loadu_ps(mask, x + i));
    }
    return _mm512_reduce_max_ps(m);
}

float exp_sum(float* x, int64_t n, float max) {
    const __m512 m = _mm512_set1_ps(max);
    __m512 sum = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
        _mm512_storeu_ps(x + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (i < n) {
        const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + i), m));
        _mm512_mask_storeu_ps(x + i, mask, e);
        sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(mask, e));
    }
    return _mm512_reduce_add_ps(sum);
}

// H heads x V vectors of 16 columns, starting at column `column`, accumulated over all rows.
template <class T, int H, int V>
void weighted_block(const CacheRows& values, int64_t n, const float* weights, int64_t weight_stride,
                    int64_t column, float* out, int64_t out_stride) {
    __m512 acc[H][V];
    for (int h = 0; h < H; ++h)
        for (int v = 0; v < V; ++v) acc[h][v] = _mm512_setzero_ps();
    for (int64_t j = 0; j < n; ++j) {
        const auto* row = static_cast<const T*>(values.row(j)) + column;
        __m512 x[V];
        for (int v = 0; v < V; ++v) x[v] = load(row + 16 * v);
        for (int h = 0; h < H; ++h) {
            const __m512 w = _mm512_set1_ps(weights[h * weight_stride + j]);
            for (int v = 0; v < V; ++v) acc[h][v] = _mm512_fmadd_ps(w, x[v], acc[h][v]);
        }
    }
    for (int h = 0; h < H; ++h)
        for (int v = 0; v < V; ++v)
            _mm512_storeu_ps(out + h * out_stride + column + 16 * v, acc[h][v]);
}

template <class T, int H>
void weighted_heads(const CacheRows& values, int64_t n, const float* weights, int64_t weight_stride,
                    int64_t dim, float* out, int64_t out_stride) {
    int64_t column = 0;
    for (; column + 64 <= dim; column += 64)
        weighted_block<T, H, 4>(values, n, weights, weight_stride, column, out, out_stride);
    switch ((dim - column) / 16) {
        case 3:
            return weighted_block<T, H, 3>(values, n, weights, weight_stride, column, out,
                                           out_stride);
        case 2:
            return weighted_block<T, H, 2>(values, n, weights, weight_stride, column, out,
                                           out_stride);
        case 1:
            return weighted_block<T, H, 1>(values, n, weights, weight_stride, column, out,
                                           out_stride);
        default:
            return;
    }
}

template <class T>
void weighted_sum(const CacheRows& values, int64_t n, const float* weights, int64_t weight_stride,
                  int heads, int64_t dim, float* out, int64_t out_stride) {
    if (dim % 16 != 0)
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

const AttentionRowKernels* attention_row_kernels_avx512(GgmlType cache_type) {
    return by_cache_type(cache_type, kF32, kF16);
}

}  // namespace uma::cpu::detail

#else  // not x86-64

namespace uma::cpu::detail {
const AttentionRowKernels* attention_row_kernels_avx512(GgmlType) {
    return nullptr;
}
}  // namespace uma::cpu::detail

#endif
