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

#include "uma/core/ggml_type.h"

namespace uma::cpu::detail::packed {

constexpr int kRows = 16;
constexpr int kBlock = 32;        // columns per block
constexpr int kSuperBlock = 256;  // columns per K-quant super-block

// ---- activations ----

// Q4_0 / Q8_0 weights: per 32 columns, the int8 quants, their float scale, and `bias` =
// -(weight zero point) * sum(qs), which the kernels add to the integer dot product (stored negated
// so that a one-token kernel starts its sum from it with a plain broadcast load).
struct ActBlock32 {
    int8_t qs[kBlock];
    float d;
    int32_t bias;
};
static_assert(sizeof(ActBlock32) == 40);

// The weights' zero point that a block-of-32 format's activations carry: Q4_0's 8, Q5_0's 16,
// 128 for Q8_0's stored q + 128 and IQ4_NL's table entries + 128 (see the layouts below), and -1
// for Q4_1 and Q5_1, whose bias is then sum(a) for their mins to multiply.
constexpr int block32_zero_point(GgmlType type) {
    switch (type) {
        case GgmlType::Q4_0:
            return 8;
        case GgmlType::Q5_0:
            return 16;
        case GgmlType::Q8_0:
        case GgmlType::IQ4_NL:
            return 128;
        default:  // Q4_1, Q5_1
            return -1;
    }
}

// The first of a K activation block's kSuperBlock values whose magnitude is `amax`, with its sign:
// the value that maps to -127 (the SIMD quantizers find amax with vector max, then this one).
namespace {  // a private copy per SIMD translation unit (see quant_simd_x86.h)
inline float signed_max(const float* x, float amax) {
    for (int j = 0; j < kSuperBlock; ++j)
        if (x[j] == amax || x[j] == -amax) return x[j];
    return 0;
}
}  // namespace

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

// Every tile is read front to back as one stream, in groups of about a kilobyte or more that each
// load instruction of a kernel steps through with one fixed stride. Decode on an AVX-512 VNNI
// machine streamed 35-45% slower with each tile's scales after all its quants (a second, slow
// stream that kept the hardware prefetchers from running ahead).

// Q4_0 and Q8_0, per tile: groups of `group` blocks of 32 columns, each group the blocks' scales
// (16 fp16 per block) and their quants, the scales before or after the quants. Q4_0 quants take
// 256 bytes per block (nibble layout above, the raw 0..15 quant; x = d * (q - 8)); Q8_0 quants 512
// (vector g holds group g, each quant stored as q + 128 so that it is unsigned; x = d * q). IQ4_NL
// packs as Q4_0, its blocks being Q4_0's in shape: its nibbles index kIq4Values (x = d * value).
// Q5_0 quants take 320 bytes: their fifth bits as Q5_K's (64 bytes, see Q5_KBlock32), then the
// low four in the nibble layout (x = d * (q - 16)). Q4_1 and Q5_1 are Q4_0 and Q5_0 with a second
// fp16 per row after the scales, the min (x = d * q + m). Rows must hold whole groups.
struct Block32Layout {
    size_t quant_bytes;  // per block
    int64_t group;       // blocks per group
    bool scales_last;    // the group's scales after its quants
    bool mins = false;   // 16 fp16 mins after each block's 16 scales
    static constexpr size_t kScaleBytes = 2 * kRows;
    constexpr size_t scale_bytes() const { return mins ? 2 * kScaleBytes : kScaleBytes; }
    constexpr size_t group_bytes() const { return size_t(group) * (quant_bytes + scale_bytes()); }
    constexpr size_t scales(int64_t block) const {
        return size_t(block / group) * group_bytes() +
               (scales_last ? size_t(group) * quant_bytes : 0) +
               size_t(block % group) * scale_bytes();
    }
    constexpr size_t mins_of(int64_t block) const { return scales(block) + kScaleBytes; }
    constexpr size_t quants(int64_t block) const {
        return size_t(block / group) * group_bytes() +
               (scales_last ? 0 : size_t(group) * scale_bytes()) +
               size_t(block % group) * quant_bytes;
    }
    constexpr size_t tile_bytes(int64_t cols) const {
        return size_t(cols / (group * kBlock)) * group_bytes();
    }
};
// Groups of about a kilobyte streamed fastest: for Q4_0 four blocks (1152 bytes; with software
// prefetch hints in the kernels, one, two, eight and sixteen measured 20%, 20%, 15% and 40% slower;
// without them two ties and eight is ~14% slower), for Q8_0 two (1088 bytes; four ~5-10% slower).
// The same sizes won again with the scales last (two ~14% and eight ~10% slower for Q4_0, four
// ~25% for Q8_0).
// Where the scales go depends on the kernels that read them, measured on two cores of an AMD EPYC
// (alternated runs, median ratio, in two windows of the shared machine): the AVX-512 ones stream
// Q4_0 0-14% and Q8_0 16-24% faster with the scales last, the AVX2 ones Q4_0 ~33% and Q8_0 ~5%
// slower. (The K-quants' scales moved behind their quants streamed 23-33% slower.) The scalar
// kernels read either; they take the AVX2 layout unless the tests pair them with the AVX-512 one.
// Q4_1, Q5_0 and Q5_1 take Q4_0's four blocks per group.
constexpr Block32Layout kQ4_0Layout{256, 4, false};
constexpr Block32Layout kQ8_0Layout{512, 2, false};
constexpr Block32Layout kQ4_1Layout{256, 4, false, true};
constexpr Block32Layout kQ5_0Layout{320, 4, false};
constexpr Block32Layout kQ5_1Layout{320, 4, false, true};
constexpr Block32Layout kQ4_0ScalesLastLayout{256, 4, true};
constexpr Block32Layout kQ8_0ScalesLastLayout{512, 2, true};
constexpr Block32Layout kQ4_1ScalesLastLayout{256, 4, true, true};
constexpr Block32Layout kQ5_0ScalesLastLayout{320, 4, true};
constexpr Block32Layout kQ5_1ScalesLastLayout{320, 4, true, true};
// Wide groups: with eight blocks per group the AVX-512 kernels decoded Q4_1 9-14% faster
// (Mistral-7B shape 17%), Q5_1 4-14% and IQ4_NL 0.5-4% (TinyLlama shape, alternated runs, median
// ratio, two windows); Q4_0 0-2% slower and Q5_0 the same. Prompts ran the same. Only rows of whole
// multiples of 256 columns hold them; the others keep groups of four.
constexpr Block32Layout kQ4_0WideLayout{256, 8, true};
constexpr Block32Layout kQ4_1WideLayout{256, 8, true, true};
constexpr Block32Layout kQ5_1WideLayout{320, 8, true, true};
static_assert(kQ4_0Layout.group_bytes() % 64 == 0 && kQ8_0Layout.group_bytes() % 64 == 0 &&
              kQ4_1Layout.group_bytes() % 64 == 0 && kQ5_0Layout.group_bytes() % 64 == 0 &&
              kQ5_1Layout.group_bytes() % 64 == 0);

// Q4_K, per super-block of a tile, 2368 bytes: first scales[8][16] and mins[8][16] as bytes
// (sub-block major), d[16] and dmin[16] as fp16, then 8 sub-blocks of 32 columns with 256 bytes
// of quants each (nibble layout). x = d * scale * q - dmin * min.
struct Q4_KSuperBlock {
    uint8_t scales[8][16];
    uint8_t mins[8][16];
    uint16_t d[16];
    uint16_t dmin[16];
    uint8_t qs[8][256];
};
static_assert(sizeof(Q4_KSuperBlock) == 2368 && offsetof(Q4_KSuperBlock, qs) % 64 == 0);

// Q5_K, per super-block of a tile, 2880 bytes: scales, mins, d and dmin as in Q4_K, then 8
// sub-blocks of 32 columns, each the fifth bits of its quants (64 bytes: bit g of byte 4r + i holds
// that of row r, column 4g + i, so that one shift by 4 - g brings group g's bits to where its
// quants need them) followed by their low 4 bits in the nibble layout (256 bytes). With the fifth
// bits after the nibbles, decode streamed ~40% slower (AVX-512, two cores of an AMD EPYC,
// alternated runs). x = d * scale * q - dmin * min.
struct Q5_KBlock32 {
    uint8_t high[64];
    uint8_t low[256];
};
struct Q5_KSuperBlock {
    uint8_t scales[8][16];
    uint8_t mins[8][16];
    uint16_t d[16];
    uint16_t dmin[16];
    Q5_KBlock32 blocks[8];
};
static_assert(sizeof(Q5_KSuperBlock) == 2880 && offsetof(Q5_KSuperBlock, blocks) % 64 == 0);

namespace {  // a private copy per translation unit, as signed_max
inline int q5_k_high_bit(const Q5_KBlock32& block, int r, int c) {
    return (block.high[4 * r + c % 4] >> (c / 4)) & 1;
}
}  // namespace

// Q2_K, per super-block of a tile, 1344 bytes (as many as the original's): per 16 columns and row
// the original's byte of 4-bit scale (low nibble) and 4-bit min (high nibble), d[16] and dmin[16]
// as fp16, then 8 blocks of 32 columns, each its 2-bit quants as Q3_K's bit pairs (128 bytes).
// x = d * scale * q - dmin * min.
struct Q2_KSuperBlock {
    uint8_t scales[16][16];
    uint16_t d[16];
    uint16_t dmin[16];
    uint8_t qs[8][128];
};
static_assert(sizeof(Q2_KSuperBlock) == 1344 && offsetof(Q2_KSuperBlock, qs) % 64 == 0);

namespace {  // a private copy per translation unit, as signed_max
// The bit pair of row r, column c in a 128-byte block of Q2_K quants or Q3_K low bits.
inline int bit_pair(const uint8_t* pairs, int r, int c) {
    const int g = c / 4;
    return (pairs[64 * (g / 4) + 4 * r + c % 4] >> (2 * (g % 4))) & 3;
}
}  // namespace

// Q3_K, per super-block of a tile, 1856 bytes: scales[16][16] (per 16 columns, signed) and d[16]
// as in Q6_K, then 8 blocks of 32 columns, each its quants plus 4 (0..7, so unsigned) in two parts:
// the third bits as Q5_K's fifth (64 bytes: bit g of byte 4r + i for row r, column 4g + i), then
// the low two bits in the bit pairs of Q6_K's high bits (128 bytes: bits 2s..2s+1 of byte 4r + i of
// vector h hold row r, column 4(4h + s) + i). The third bits first streamed ~3% faster with
// AVX-512 and ~13% with AVX2. x = d * scale * (q - 4).
struct Q3_KBlock32 {
    uint8_t high[64];
    uint8_t low[128];
};
struct Q3_KSuperBlock {
    int8_t scales[16][16];
    uint16_t d[16];
    uint8_t padding[32];
    Q3_KBlock32 blocks[8];
};
static_assert(sizeof(Q3_KSuperBlock) == 1856 && offsetof(Q3_KSuperBlock, blocks) % 64 == 0);

namespace {  // a private copy per translation unit, as signed_max
// The stored quant (q + 4, 0..7) of row r, column c of a Q3_K block.
inline int q3_k_quant(const Q3_KBlock32& block, int r, int c) {
    return bit_pair(block.low, r, c) | ((block.high[4 * r + c % 4] >> (c / 4)) & 1) << 2;
}
}  // namespace

// IQ4_XS, per super-block of a tile, 2240 bytes: the sub-blocks' signed scales (scale - 32) and
// d[16] as fp16, 32 bytes of padding that keep the quants on cache lines, then 8 sub-blocks of 32
// columns, each its 4-bit indices into kIq4Values in the nibble layout (256 bytes).
// x = d * scale * kIq4Values[q].
struct IQ4_XSSuperBlock {
    int8_t scales[8][16];
    uint16_t d[16];
    uint8_t padding[32];
    uint8_t qs[8][256];
};
static_assert(sizeof(IQ4_XSSuperBlock) == 2240 && offsetof(IQ4_XSSuperBlock, qs) % 64 == 0);

// Q6_K, per super-block of a tile, 3392 bytes (the original's 3360 and 32 of padding that keeps
// every vector on a cache line): scales[16][16] (per 16 columns, sub-block major, signed) and
// d[16], then 8 blocks of 32 columns, each the low 4 bits of its 6-bit quants in the nibble layout
// (256 bytes) followed by their high 2 bits (128 bytes): vector h (of 2) holds, in bits 2s..2s+1
// of byte i of lane r, the high bits of group 4h + s, column i. x = d * scale * (q - 32).
struct Q6_KBlock32 {
    uint8_t low[256];
    uint8_t high[128];
};
struct Q6_KSuperBlock {
    int8_t scales[16][16];
    uint16_t d[16];
    uint8_t padding[32];
    Q6_KBlock32 blocks[8];
};
static_assert(sizeof(Q6_KSuperBlock) == 3392 && offsetof(Q6_KSuperBlock, blocks) % 64 == 0);

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
