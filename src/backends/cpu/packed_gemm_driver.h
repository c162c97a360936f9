#pragma once
// The token loop every instruction set's packed kernels share: four tokens at a time (one
// unpacking of the weights feeds four activation rows), then the one, two or three left. Holds no
// intrinsics, so each SIMD file can instantiate it with its own kernels.
#include <cstddef>
#include <cstdint>

namespace uma::cpu::detail {
namespace {  // a private copy per SIMD translation unit (see quant_simd_x86.h)

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
