#pragma once
// The token loop every instruction set's packed kernels share: four tokens at a time (one
// unpacking of the weights feeds four activation rows), then the one, two or three left. Holds no
// intrinsics, so each SIMD file can instantiate it with its own kernels.
#include <cstddef>
#include <cstdint>

namespace uma::cpu::detail {
namespace {  // a private copy per SIMD translation unit (see quant_simd_x86.h)

// Decode reads every weight once. Its kernels ask for the lines of each group or super-block
// kReadAhead bytes further on with the non-temporal hint (prefetchnta on x86): on two cores of an
// AMD EPYC (alternated runs, median ratio) Mistral-7B Q4_0 then decoded 17% faster (20% with the
// AVX2 kernels), Q4_K_M 11%, TinyLlama Q5_K_M 31%, Q2_K 12%, IQ4_XS 9%, Q3_K_M 7% and Q4_0 and
// Q4_K_M 3%. Hints 2.3-3.5 KB ahead gained less, 6.9-9.2 KB ahead lost 7-15%, and so did the
// temporal hint. Q8_0 blocks go without: they decoded the same (Mistral-7B) or 4-12% slower
// (TinyLlama) with it. The hints stay a loop: unrolled, TinyLlama Q4_K_M decoded 17% slower.
constexpr size_t kReadAhead = 4608;
inline void read_ahead(const void* block, size_t bytes) {
    const auto* ahead = static_cast<const uint8_t*>(block) + kReadAhead;
    for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(ahead + offset, 0, 0);
}

// Kernels for a fixed number of tokens: tile, cols, activations, their stride, y, y's stride.
using PackedTokensFn = void (*)(const uint8_t*, int64_t, const uint8_t*, size_t, float*, int64_t);

template <PackedTokensFn Four, PackedTokensFn Three, PackedTokensFn Two, PackedTokensFn One>
void gemm_by_fours(const uint8_t* tile, int64_t cols, const uint8_t* act, size_t act_stride,
                   int64_t n_tokens, float* y, int64_t y_stride) {
    int64_t t = 0;
    for (; t + 4 <= n_tokens; t += 4)
        Four(tile, cols, act + t * act_stride, act_stride, y + t * y_stride, y_stride);
    const uint8_t* rest = act + t * act_stride;
    float* out = y + t * y_stride;
    switch (n_tokens - t) {
        case 3:
            Three(tile, cols, rest, act_stride, out, y_stride);
            break;
        case 2:
            Two(tile, cols, rest, act_stride, out, y_stride);
            break;
        case 1:
            One(tile, cols, rest, act_stride, out, y_stride);
            break;
        default:
            break;
    }
}

}  // namespace
}  // namespace uma::cpu::detail
