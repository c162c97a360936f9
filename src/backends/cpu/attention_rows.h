#pragma once
// The two inner loops of attention over an F16 or F32 key/value cache, for a group of query heads
// that share one key/value head (grouped-query attention): each cached row is read once and used
// by every head of the group.
#include <cstdint>

#include "backends/cpu/quant_formats.h"
#include "uma/core/ggml_type.h"

namespace uma::cpu::detail {

struct AttentionRowKernels {
    // scores[h] = dot(row, q + h * q_stride) for h < heads; row has dim elements.
    void (*dot)(const void* row, const float* q, int64_t q_stride, int heads, int64_t dim,
                float* scores);
    // out[h * out_stride + i] += weights[h] * row[i] for h < heads, i < dim.
    void (*accumulate)(const void* row, const float* weights, int heads, int64_t dim, float* out,
                       int64_t out_stride);
};

// For a cache of this type (F16 or F32) at the given level; nullptr for other types.
const AttentionRowKernels* attention_row_kernels(GgmlType cache_type, SimdLevel level);
// Per instruction set (nullptr where there is none), for the dispatcher and the tests.
const AttentionRowKernels* attention_row_kernels_avx2(GgmlType cache_type);
const AttentionRowKernels* attention_row_kernels_avx512(GgmlType cache_type);

}  // namespace uma::cpu::detail
