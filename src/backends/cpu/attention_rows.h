#pragma once
// The inner loops of attention over an F16 or F32 key/value cache, for one query token and the
// group of query heads that share one key/value head (grouped-query attention): each cached row
// is read once for the whole group.
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "backends/cpu/quant_formats.h"
#include "uma/core/ggml_type.h"

namespace uma::cpu::detail {

// n consecutive positions of one key/value head in a cache: row j (position first + j) starts at
// base + slot * row_bytes, the slot wrapping at ring_rows when that is set (sliding windows).
struct CacheRows {
    const uint8_t* base = nullptr;
    size_t row_bytes = 0;
    int64_t first = 0;
    int64_t ring_rows = 0;

    const void* row(int64_t j) const {
        const int64_t position = first + j;
        return base +
               static_cast<size_t>(ring_rows > 0 ? position % ring_rows : position) * row_bytes;
    }

    // Asks for the first `bytes` of rows [begin, end) ahead of their use. The transposing score
    // kernels read a tile of rows in a burst and then compute for a while, which the hardware
    // prefetchers do not run ahead of: decoding with 64-dim F16 keys (8 query rows) from memory
    // took 2.2 ns per score, 1.45 with the next tile asked for (1.5 in cache). The weighted sums,
    // which stream row by row, gained nothing.
    void prefetch(int64_t begin, int64_t end, size_t bytes) const {
        for (int64_t j = begin; j < end; ++j)
            for (size_t line = 0; line < bytes; line += 64)
                __builtin_prefetch(static_cast<const char*>(row(j)) + line);
    }
};

struct AttentionRowKernels {
    // scores[h * score_stride + j] = dot(row j, q + h * q_stride) for h < heads, j < n.
    void (*scores)(const CacheRows& keys, int64_t n, const float* q, int64_t q_stride, int heads,
                   int64_t dim, float* scores, int64_t score_stride);
    // The largest of x[0..n), n > 0.
    float (*max)(const float* x, int64_t n);
    // x[i] = exp(x[i] - max) for i < n; returns their sum.
    float (*exp_sum)(float* x, int64_t n, float max);
    // out[h * out_stride + i] = sum over j < n of weights[h * weight_stride + j] * row j [i].
    void (*weighted_sum)(const CacheRows& values, int64_t n, const float* weights,
                         int64_t weight_stride, int heads, int64_t dim, float* out,
                         int64_t out_stride);
};

// Of one instruction set's two kernel sets, the one for a cache of this type (F32 or F16); nullptr
// for other types.
inline const AttentionRowKernels* by_cache_type(GgmlType cache_type, const AttentionRowKernels& f32,
                                                const AttentionRowKernels& f16) {
    switch (cache_type) {
        case GgmlType::F32:
            return &f32;
        case GgmlType::F16:
            return &f16;
        default:
            return nullptr;
    }
}

// For a cache of this type (F16 or F32) at the given level; nullptr for other types.
const AttentionRowKernels* attention_row_kernels(GgmlType cache_type, SimdLevel level);

// The scalar kernels for a cache of elements T (float: F32, uint16_t: F16), to which the vector
// kernels leave the head dimensions they do not cover.
template <class T>
const AttentionRowKernels& scalar_row_kernels() {
    return *attention_row_kernels(std::is_same_v<T, float> ? GgmlType::F32 : GgmlType::F16,
                                  SimdLevel::scalar);
}

// Per instruction set (nullptr where the build has none), for the dispatcher and the tests.
const AttentionRowKernels* attention_row_kernels_avx2(GgmlType cache_type);
const AttentionRowKernels* attention_row_kernels_avx512(GgmlType cache_type);
const AttentionRowKernels* attention_row_kernels_neon(GgmlType cache_type);

}  // namespace uma::cpu::detail
