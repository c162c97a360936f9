#pragma once
// The byte layouts of packed tiles and of the int8 activations they are multiplied with (see
// packed_formats.h), shared by the scalar reference and the SIMD kernels.
//
// Common to all: the quants of 32 columns of the 16 rows of a tile fill 8 "groups" of 4 columns.
// Group g of row r is the 32-bit lane r of a 64-byte vector. Nibble formats store two groups per
// vector: the 4 bytes of lane r of vector k hold group 2k in their low nibbles and group 2k + 1 in
// their high nibbles (column 8k + i in the low nibble of byte i, column 8k + 4 + i in the high).
#include <cstddef>
#include <cstdint>

namespace uma::cpu::detail::packed {

constexpr int kRows = 16;
constexpr int kBlock = 32;        // columns per block
constexpr int kSuperBlock = 256;  // columns per K-quant super-block

// ---- activations ----

// Q4_0 / Q8_0 weights: per 32 columns, the int8 quants, their float scale, and `offset` =
// (weight zero point) * sum(qs), which the kernels subtract from the integer dot product.
struct ActBlock32 {
    int8_t qs[kBlock];
    float d;
    int32_t offset;
};
static_assert(sizeof(ActBlock32) == 40);

// K-quant weights: per 256 columns one float scale (as llama.cpp's Q8_K), the int8 quants, and
// the sums of the quants of every 32 and every 16 columns.
struct ActBlockK {
    int8_t qs[kSuperBlock];
    float d;
    int32_t sum32[8];
    int32_t sum16[16];
};
static_assert(sizeof(ActBlockK) == 356);

// ---- tiles ----

// Q4_0, per tile: all blocks' quants (256 bytes each, nibble layout above, the raw 0..15 quant),
// then all blocks' 16 fp16 scales (32 bytes each). x = d * (q - 8).
constexpr size_t kQ4_0QuantBytes = 256;
constexpr size_t kQ4_0ScaleBytes = 32;

// Q8_0, per tile: all blocks' quants (512 bytes each: vector g holds group g, each quant stored
// as q + 128 so that it is unsigned), then all blocks' 16 fp16 scales. x = d * q.
constexpr size_t kQ8_0QuantBytes = 512;
constexpr size_t kQ8_0ScaleBytes = 32;

// Q4_K, per super-block of a tile, 2368 bytes: 8 sub-blocks of 32 columns with 256 bytes of
// quants each (nibble layout), then scales[8][16] and mins[8][16] as bytes (sub-block major),
// then d[16] and dmin[16] as fp16. x = d * scale * q - dmin * min.
struct Q4_KSuperBlock {
    uint8_t qs[8][256];
    uint8_t scales[8][16];
    uint8_t mins[8][16];
    uint16_t d[16];
    uint16_t dmin[16];
};
static_assert(sizeof(Q4_KSuperBlock) == 2368);

// Q6_K, per super-block of a tile, 3360 bytes (as the original): 8 blocks of 32 columns with the
// low 4 bits of the 6-bit quants in the nibble layout (256 bytes each) and their high 2 bits in
// 128 bytes each: vector h (of 2) holds, in bits 2s..2s+1 of byte i of lane r, the high bits of
// group 4h + s, column i. Then scales[16][16] (per 16 columns, sub-block major, signed) and d[16].
// x = d * scale * (q - 32).
struct Q6_KSuperBlock {
    uint8_t low[8][256];
    uint8_t high[8][128];
    int8_t scales[16][16];
    uint16_t d[16];
};
static_assert(sizeof(Q6_KSuperBlock) == 3360);

inline size_t q6_k_high_byte(int r, int c) {
    const int group = c / 4;
    return size_t(64 * (group / 4) + 4 * r + c % 4);
}
inline int q6_k_high_shift(int c) {
    return 2 * ((c / 4) % 4);
}

// Where the low-nibble quant of (row r, column c) of a 32-column block sits, for the nibble
// layout: byte index and whether it is the high nibble.
inline size_t nibble_byte(int r, int c) {
    const int group = c / 4;
    return size_t(64 * (group / 2) + 4 * r + c % 4);
}
inline bool nibble_is_high(int c) {
    return (c / 4) % 2 == 1;
}

}  // namespace uma::cpu::detail::packed
