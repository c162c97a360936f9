#pragma once
// Weight layouts rearranged once at load for the int8 dot-product instructions (AVX-512 VNNI's
// vpdpbusd, AVX2's maddubs, NEON's sdot).
//
// A packed matrix is a sequence of tiles of kTileRows rows. Within a tile the quants of the same
// 32 columns of all rows sit together, arranged so that one 64-byte vector holds four consecutive
// quants of each of the 16 rows (one 32-bit lane per row) as unsigned bytes. A dot product then
// broadcasts four activation bytes to every lane and multiplies them into all 16 rows at once,
// with no horizontal reduction and no shuffles; the per-row scales of a block sit in one vector
// too. Each activation row is quantized once per product into a matching int8 form.
//
// Every format keeps the byte count of the original (plus a few percent for K-quant scales), so
// that decode still reads as few bytes per token as the file holds; it only moves them.
#include <cstddef>
#include <cstdint>

#include "backends/cpu/quant_formats.h"
#include "uma/core/ggml_type.h"

namespace uma::cpu::detail {

constexpr int64_t kTileRows = 16;

// Computes, for the tile at `tile` and every token t < n_tokens,
//   y[t * y_stride + r] = dot(row r of the tile, activation row t)   for r < kTileRows,
// where activation row t starts at act + t * act_stride.
using PackedGemmFn = void (*)(const uint8_t* tile, int64_t cols, const uint8_t* act,
                              size_t act_stride, int64_t n_tokens, float* y, int64_t y_stride);

using QuantizeActivationFn = void (*)(const float* x, int64_t cols, uint8_t* out);

struct PackedFormat {
    GgmlType type;
    int64_t column_group;  // cols must be a multiple of this
    size_t (*tile_bytes)(int64_t cols);
    // Rearranges kTileRows rows of the original format (row_bytes apart) into one tile.
    void (*pack_tile)(const uint8_t* rows, size_t row_bytes, int64_t cols, uint8_t* tile);
    size_t (*activation_bytes)(int64_t cols);
    QuantizeActivationFn quantize_activation;
    PackedGemmFn gemm;
};

// The packed format for this weight type, with the fastest kernels of the active SIMD level, when
// that level has kernels for it and the row length fits; nullptr otherwise (the caller then uses
// the per-row kernels in place).
const PackedFormat* packed_format(GgmlType type, int64_t cols);

// The kernels of one instruction set for one type; both null where it has none.
struct PackedKernels {
    PackedGemmFn gemm = nullptr;
    QuantizeActivationFn quantize_activation = nullptr;  // same bytes as the reference's
};

// How many blocks of 32 columns a group of a blocks-of-32 layout holds (see packed_layouts.h):
// AVX-512 packs some formats in wide groups where a row holds whole ones, and in standard groups
// otherwise. The other formats and instruction sets have standard groups only.
enum class Grouping { standard, wide };

// For tests: the plain scalar kernels on the packed layout, and the AVX2 and AVX-512 ones (null
// when the build has none, or where there is no such grouping). None depends on the active level.
PackedKernels packed_kernels_reference(GgmlType type);
PackedKernels packed_kernels_avx2(GgmlType type);
PackedKernels packed_kernels_avx512(GgmlType type, Grouping grouping = Grouping::standard);
// NEON's read the AVX2 layout.
PackedKernels packed_kernels_neon(GgmlType type);
// The format with the scalar kernel, whatever the CPU, in the layout that the kernels of
// `layout_of` read (AVX-512 packs the blocks of 32 its own way; tests pack with these); nullptr
// for a grouping that the type has not at that level.
const PackedFormat* packed_format_reference(GgmlType type, SimdLevel layout_of = SimdLevel::scalar,
                                            Grouping grouping = Grouping::standard);

}  // namespace uma::cpu::detail
