// Packing, activation quantization and the plain scalar kernels of the packed formats (see
// packed_formats.h and packed_layouts.h). The scalar kernels follow the SIMD ones step by step
// (same integer sums, same order of the float operations per block) so that tests can hold the
// two together tightly; they also define what the layouts mean.
#include "backends/cpu/packed_formats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/packed_layouts.h"
#include "backends/cpu/quant_blocks.h"
#include "backends/cpu/quant_formats.h"
#include "uma/core/fp16.h"

namespace uma::cpu::detail {
namespace {

using namespace blocks;
using namespace packed;

// ---- activations ----

void quantize_block32(const float* x, ActBlock32& out, int zero_point) {
    float amax = 0;
    for (int i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float inverse = d > 0 ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int i = 0; i < kBlock; ++i) {
        out.qs[i] = int8_t(std::nearbyint(x[i] * inverse));  // ties to even, as the SIMD code
        sum += out.qs[i];
    }
    out.d = d;
    out.bias = -zero_point * sum;
}

size_t block32_activation_bytes(int64_t cols) {
    return size_t(cols / kBlock) * sizeof(ActBlock32);
}

template <int kZeroPoint>
void quantize_block32_activation(const float* x, int64_t cols, uint8_t* out) {
    auto* blocks = reinterpret_cast<ActBlock32*>(out);
    for (int64_t b = 0; b < cols / kBlock; ++b)
        quantize_block32(x + kBlock * b, blocks[b], kZeroPoint);
}

size_t k_activation_bytes(int64_t cols) {
    return size_t(cols / kSuperBlock) * sizeof(ActBlockK);
}

// As llama.cpp's Q8_K: the element of largest magnitude maps to -127.
void quantize_k_activation(const float* x, int64_t cols, uint8_t* out) {
    auto* blocks = reinterpret_cast<ActBlockK*>(out);
    for (int64_t b = 0; b < cols / kSuperBlock; ++b, x += kSuperBlock) {
        ActBlockK& block = blocks[b];
        float amax = 0, max = 0;
        for (int j = 0; j < kSuperBlock; ++j)
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        std::memset(&block, 0, sizeof block);
        if (amax == 0) continue;
        const float inverse = -127.0f / max;
        for (int j = 0; j < kSuperBlock; ++j)
            block.qs[j] = int8_t(std::min(127.0f, std::nearbyint(inverse * x[j])));
        for (int j = 0; j < 16; ++j)
            for (int i = 0; i < 16; ++i) block.sum16[j] += block.qs[16 * j + i];
        for (int j = 0; j < 8; ++j) block.sum32[j] = block.sum16[2 * j] + block.sum16[2 * j + 1];
        block.d = 1 / inverse;
    }
}

// ---- packing ----

// Packing moves four columns (one 32-bit word) at a time: loading takes every weight of a model
// through here, and byte by byte it was the larger part of the load time.
constexpr uint32_t kLowNibbles = 0x0F0F0F0F;
inline uint32_t load_word(const uint8_t* p) {
    uint32_t word;
    std::memcpy(&word, p, sizeof word);
    return word;
}
inline void store_word(uint8_t* p, uint32_t word) {
    std::memcpy(p, &word, sizeof word);
}

// Sixteen columns (half 0: 0..15, half 1: 16..31) of row r of a block into the nibble layout, from
// `source`, which holds column c's quant (0..15) in bits shift..shift+3 of its byte c % 16.
void put_nibbles(const uint8_t* source, int shift, int half, int r, uint8_t* quants) {
    for (int k = 2 * half; k < 2 * half + 2; ++k) {
        const uint8_t* columns = source + 8 * (k - 2 * half);
        const uint32_t low = load_word(columns) >> shift & kLowNibbles;
        const uint32_t high = load_word(columns + 4) >> shift & kLowNibbles;
        store_word(quants + 64 * k + 4 * r, low | high << 4);
    }
}
int get_nibble(const uint8_t* quants, int r, int c) {
    const uint8_t byte = quants[nibble_byte(r, c)];
    return nibble_is_high(c) ? byte >> 4 : byte & 0x0F;
}

// A block's 16 fp16 per row (its scales or its mins) at `offset` in the tile.
uint16_t* row_halves(uint8_t* tile, size_t offset) {
    return reinterpret_cast<uint16_t*>(tile + offset);
}
float row_half(const uint8_t* tile, size_t offset, int r) {
    uint16_t half;
    std::memcpy(&half, tile + offset + 2 * r, sizeof half);
    return fp16_to_fp32(half);
}

template <const Block32Layout& Layout>
size_t block32_tile_bytes(int64_t cols) {
    return Layout.tile_bytes(cols);
}

// Bits 4r .. 4r + 3 of a block of 32 columns packed a word at a time: byte i of the result holds,
// in bit g, bit `bit` of source[4g + i] (Q5_K's fifth bits, Q3_K's third: see packed_layouts.h).
uint32_t bits_word(const uint8_t source[32], int bit) {
    uint32_t word = 0;
    for (int g = 0; g < 8; ++g) word |= (load_word(source + 4 * g) >> bit & 0x01010101u) << g;
    return word;
}

// A row's word of fifth bits (see Q5_KBlock32) from bits 0..31 of `bits`, bit c for column c:
// byte i gathers bits i, i + 4, ..., i + 28 (columns 4g + i) into bits 0..7.
uint32_t fifth_bits_word(uint32_t bits) {
    uint32_t word = 0;
    for (int i = 0; i < 4; ++i) {
        uint32_t x = bits >> i & 0x11111111u;  // bit 4g
        x = (x | x >> 3) & 0x03030303u;        // bits 2k, 2k + 1 in byte k
        x = (x | x >> 6) & 0x000F000Fu;        // bits 4k .. 4k + 3 in half k
        x = (x | x >> 12) & 0xFFu;
        word |= x << 8 * i;
    }
    return word;
}

// The blocks of 32 with nibbles (Q4_0, IQ4_NL, Q4_1) and fifth bits (Q5_0, Q5_1): an fp16 scale
// (and min), the fifth bits, columns 0..15 in the low nibbles of qs, 16..31 in the high.
template <class Block, const Block32Layout& Layout>
void nibble_block32_pack_tile(const uint8_t* rows, size_t row_bytes, int64_t cols, uint8_t* tile) {
    constexpr bool kFifthBits = requires(const Block& b) {
        b.qh;
    };
    constexpr size_t kLow = kFifthBits ? 64 : 0;  // the nibbles' offset in a block's quants
    const int64_t nb = cols / kBlock;
    for (int r = 0; r < kRows; ++r) {
        const auto* in = reinterpret_cast<const Block*>(rows + r * row_bytes);
        for (int64_t b = 0; b < nb; ++b) {
            uint8_t* quants = tile + Layout.quants(b);
            put_nibbles(in[b].qs, 0, 0, r, quants + kLow);
            put_nibbles(in[b].qs, 4, 1, r, quants + kLow);
            if constexpr (kFifthBits)
                store_word(quants + 4 * r, fifth_bits_word(load_word(in[b].qh)));
            row_halves(tile, Layout.scales(b))[r] = in[b].d;
            if constexpr (Layout.mins) row_halves(tile, Layout.mins_of(b))[r] = in[b].m;
        }
    }
}

template <const Block32Layout& Layout>
void q8_0_pack_tile(const uint8_t* rows, size_t row_bytes, int64_t cols, uint8_t* tile) {
    const int64_t nb = cols / kBlock;
    constexpr uint32_t kSignBits = 0x80808080;  // q + 128 in every byte
    for (int r = 0; r < kRows; ++r) {
        const auto* in = reinterpret_cast<const BlockQ8_0*>(rows + r * row_bytes);
        for (int64_t b = 0; b < nb; ++b) {
            const auto* qs = reinterpret_cast<const uint8_t*>(in[b].qs);
            uint8_t* quants = tile + Layout.quants(b);
            for (int g = 0; g < 8; ++g)
                store_word(quants + 64 * g + 4 * r, load_word(qs + 4 * g) ^ kSignBits);
            row_halves(tile, Layout.scales(b))[r] = in[b].d;
        }
    }
}

template <class SuperBlock>
size_t superblock_tile_bytes(int64_t cols) {
    return size_t(cols / kSuperBlock) * sizeof(SuperBlock);
}

void q4_k_pack_tile(const uint8_t* rows, size_t row_bytes, int64_t cols, uint8_t* tile) {
    const int64_t ns = cols / kSuperBlock;
    auto* out = reinterpret_cast<Q4_KSuperBlock*>(tile);
    for (int r = 0; r < kRows; ++r) {
        const auto* in = reinterpret_cast<const BlockQ4_K*>(rows + r * row_bytes);
        for (int64_t s = 0; s < ns; ++s) {
            uint8_t scales[8], mins[8];
            unpack_k_scales(in[s].scales, scales, mins);
            for (int j = 0; j < 8; ++j) {
                // Sub-blocks 2i and 2i + 1 in the low and high nibbles of qs[32i .. 32i + 31].
                const uint8_t* source = in[s].qs + 32 * (j / 2);
                put_nibbles(source, 4 * (j % 2), 0, r, out[s].qs[j]);
                put_nibbles(source + 16, 4 * (j % 2), 1, r, out[s].qs[j]);
                out[s].scales[j][r] = scales[j];
                out[s].mins[j][r] = mins[j];
            }
            out[s].d[r] = in[s].d;
            out[s].dmin[r] = in[s].dmin;
        }
    }
}

// Vector h of a block of 32 columns of bit pairs (see bit_pair), a row's word: byte i holds, in
// bits 2s .. 2s + 1, bits shift .. shift + 1 of source[4 (4h + s) + i].
uint32_t pairs_word(const uint8_t source[32], int shift, int h) {
    uint32_t word = 0;
    for (int s = 0; s < 4; ++s)
        word |= (load_word(source + 4 * (4 * h + s)) >> shift & 0x03030303u) << 2 * s;
    return word;
}

// The 2-bit quants of block j (elements 32j .. 32j + 31) of a Q2_K / Q3_K super-block's planes
// into row r of a block of bit pairs: element e's are bits 2 ((e % 128) / 32) of
// qs[32 (e / 128) + e % 32].
void put_pairs(const uint8_t qs[64], int j, int r, uint8_t pairs[128]) {
    for (int h = 0; h < 2; ++h)
        store_word(pairs + 64 * h + 4 * r, pairs_word(qs + 32 * (j / 4), 2 * (j % 4), h));
}

void q5_k_pack_tile(const uint8_t* rows, size_t row_bytes, int64_t cols, uint8_t* tile) {
    const int64_t ns = cols / kSuperBlock;
    auto* out = reinterpret_cast<Q5_KSuperBlock*>(tile);
    for (int r = 0; r < kRows; ++r) {
        const auto* in = reinterpret_cast<const BlockQ5_K*>(rows + r * row_bytes);
        for (int64_t s = 0; s < ns; ++s) {
            uint8_t scales[8], mins[8];
            unpack_k_scales(in[s].scales, scales, mins);
            for (int j = 0; j < 8; ++j) {
                // As Q4_K; the fifth bit of column c of sub-block j is bit j of qh[c].
                const uint8_t* source = in[s].qs + 32 * (j / 2);
                Q5_KBlock32& block = out[s].blocks[j];
                put_nibbles(source, 4 * (j % 2), 0, r, block.low);
                put_nibbles(source + 16, 4 * (j % 2), 1, r, block.low);
                store_word(block.high + 4 * r, bits_word(in[s].qh, j));
                out[s].scales[j][r] = scales[j];
                out[s].mins[j][r] = mins[j];
            }
            out[s].d[r] = in[s].d;
            out[s].dmin[r] = in[s].dmin;
        }
    }
}

void q2_k_pack_tile(const uint8_t* rows, size_t row_bytes, int64_t cols, uint8_t* tile) {
    const int64_t ns = cols / kSuperBlock;
    auto* out = reinterpret_cast<Q2_KSuperBlock*>(tile);
    for (int r = 0; r < kRows; ++r) {
        const auto* in = reinterpret_cast<const BlockQ2_K*>(rows + r * row_bytes);
        for (int64_t s = 0; s < ns; ++s) {
            for (int j = 0; j < 8; ++j) put_pairs(in[s].qs, j, r, out[s].qs[j]);
            for (int k = 0; k < 16; ++k) out[s].scales[k][r] = in[s].scales[k];
            out[s].d[r] = in[s].d;
            out[s].dmin[r] = in[s].dmin;
        }
    }
}

void q3_k_pack_tile(const uint8_t* rows, size_t row_bytes, int64_t cols, uint8_t* tile) {
    const int64_t ns = cols / kSuperBlock;
    auto* out = reinterpret_cast<Q3_KSuperBlock*>(tile);
    for (int64_t s = 0; s < ns; ++s) std::memset(out[s].padding, 0, sizeof out[s].padding);
    for (int r = 0; r < kRows; ++r) {
        const auto* in = reinterpret_cast<const BlockQ3_K*>(rows + r * row_bytes);
        for (int64_t s = 0; s < ns; ++s) {
            for (int j = 0; j < 8; ++j) {
                // Element e's high bit (set: q + 4 >= 4) is bit e / 32 of hmask[e % 32].
                put_pairs(in[s].qs, j, r, out[s].blocks[j].low);
                store_word(out[s].blocks[j].high + 4 * r, bits_word(in[s].hmask, j));
            }
            int8_t scales[16];
            unpack_q3_k_scales(in[s].scales, scales);
            for (int k = 0; k < 16; ++k) out[s].scales[k][r] = scales[k];
            out[s].d[r] = in[s].d;
        }
    }
}

void iq4_xs_pack_tile(const uint8_t* rows, size_t row_bytes, int64_t cols, uint8_t* tile) {
    const int64_t ns = cols / kSuperBlock;
    auto* out = reinterpret_cast<IQ4_XSSuperBlock*>(tile);
    for (int r = 0; r < kRows; ++r) {
        const auto* in = reinterpret_cast<const BlockIQ4_XS*>(rows + r * row_bytes);
        for (int64_t s = 0; s < ns; ++s) {
            for (int j = 0; j < 8; ++j) {
                // As a Q4_0 block: columns 0..15 in the low nibbles, 16..31 in the high.
                put_nibbles(in[s].qs + 16 * j, 0, 0, r, out[s].qs[j]);
                put_nibbles(in[s].qs + 16 * j, 4, 1, r, out[s].qs[j]);
                out[s].scales[j][r] = int8_t(iq4_xs_scale(in[s], j));
            }
            out[s].d[r] = in[s].d;
        }
    }
    for (int64_t s = 0; s < ns; ++s) std::memset(out[s].padding, 0, sizeof out[s].padding);
}

void q6_k_pack_tile(const uint8_t* rows, size_t row_bytes, int64_t cols, uint8_t* tile) {
    const int64_t ns = cols / kSuperBlock;
    auto* out = reinterpret_cast<Q6_KSuperBlock*>(tile);
    constexpr uint32_t kTwoBits = 0x03030303;
    for (int r = 0; r < kRows; ++r) {
        const auto* in = reinterpret_cast<const BlockQ6_K*>(rows + r * row_bytes);
        for (int64_t s = 0; s < ns; ++s) {
            for (int j = 0; j < 8; ++j) {
                // The 6-bit value q + 32 of block j's column c (see unpack_q6_k): its low 4 bits
                // in nibble m / 2 of ql[32 (m % 2) + c] and its top 2 in bits 2m, 2m + 1 of
                // qh[c], of the half j / 4 of the super-block, m = j % 4.
                const int m = j % 4;
                const uint8_t* ql = in[s].ql + 64 * (j / 4) + 32 * (m % 2);
                const uint8_t* qh = in[s].qh + 32 * (j / 4);
                Q6_KBlock32& block = out[s].blocks[j];
                put_nibbles(ql, 4 * (m / 2), 0, r, block.low);
                put_nibbles(ql + 16, 4 * (m / 2), 1, r, block.low);
                for (int h = 0; h < 2; ++h) {
                    uint32_t high = 0;
                    for (int g = 0; g < 4; ++g)
                        high |= (load_word(qh + 16 * h + 4 * g) >> 2 * m & kTwoBits) << 2 * g;
                    store_word(block.high + 64 * h + 4 * r, high);
                }
            }
            for (int k = 0; k < 16; ++k) out[s].scales[k][r] = in[s].scales[k];
            out[s].d[r] = in[s].d;
        }
    }
    for (int64_t s = 0; s < ns; ++s) std::memset(out[s].padding, 0, sizeof out[s].padding);
}

// ---- scalar kernels ----

// Integer dot product of 32 columns of row r of a nibble-layout block with activation quants.
int32_t nibble_dot(const uint8_t* quants, int r, const int8_t* a) {
    int32_t sum = 0;
    for (int c = 0; c < kBlock; ++c) sum += get_nibble(quants, r, c) * a[c];
    return sum;
}

// The scalar kernel of the blocks of 32: per token, row and block, the integer sum of the stored
// quants (quant(quants, r, c)) times the activations plus the activations' bias, times both scales.
// In the formats with mins the bias is the activations' sum, which the min multiplies instead.
template <const Block32Layout& Layout, int (*quant)(const uint8_t*, int, int)>
void block32_gemm_reference(const uint8_t* tile, int64_t cols, const uint8_t* act,
                            size_t act_stride, int64_t n_tokens, float* y, int64_t y_stride) {
    const int64_t nb = cols / kBlock;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const auto* a = reinterpret_cast<const ActBlock32*>(act + t * act_stride);
        for (int r = 0; r < kRows; ++r) {
            float acc = 0;
            for (int64_t b = 0; b < nb; ++b) {
                const uint8_t* quants = tile + Layout.quants(b);
                int32_t sum = Layout.mins ? 0 : a[b].bias;
                for (int c = 0; c < kBlock; ++c) sum += quant(quants, r, c) * a[b].qs[c];
                acc += float(sum) * (row_half(tile, Layout.scales(b), r) * a[b].d);
                if constexpr (Layout.mins)
                    acc += row_half(tile, Layout.mins_of(b), r) * (float(a[b].bias) * a[b].d);
            }
            y[t * y_stride + r] = acc;
        }
    }
}

// Q4_0: the raw nibble (x = d * (q - 8); the activations' bias is -8 sum(a)).
int q4_0_quant(const uint8_t* quants, int r, int c) {
    return get_nibble(quants, r, c);
}
// Q8_0: q + 128 (the bias is -128 sum(a)).
int q8_0_quant(const uint8_t* quants, int r, int c) {
    return quants[64 * (c / 4) + 4 * r + c % 4];
}
// Q5_0 and Q5_1: the nibble and the fifth bit (x = d * (q - 16), the bias -16 sum(a); or
// x = d * q + m).
int five_bit_quant(const uint8_t* quants, int r, int c) {
    return get_nibble(quants + 64, r, c) | (quants[4 * r + c % 4] >> (c / 4) & 1) << 4;
}
// IQ4_NL: the table entry the nibble indexes, plus 128 as the AVX-512 kernels take it (the bias is
// -128 sum(a)).
int iq4_nl_quant(const uint8_t* quants, int r, int c) {
    return kIq4Values[get_nibble(quants, r, c)] + 128;
}

// A super-block's integer sums for one row: the scaled sums of the quants' products with the
// activations, and the mins times the activations' sums (for formats with mins).
struct SuperBlockSums {
    int32_t scaled = 0, mins = 0;
};

// The scalar kernel of a super-block format: per token, row and super-block, the sums of
// `sums_of` scaled as the SIMD kernels scale them (d, and dmin where the format has mins).
template <class SuperBlock, SuperBlockSums (*sums_of)(const SuperBlock&, int, const ActBlockK&)>
void superblock_gemm_reference(const uint8_t* tile, int64_t cols, const uint8_t* act,
                               size_t act_stride, int64_t n_tokens, float* y, int64_t y_stride) {
    const int64_t ns = cols / kSuperBlock;
    const auto* w = reinterpret_cast<const SuperBlock*>(tile);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const auto* a = reinterpret_cast<const ActBlockK*>(act + t * act_stride);
        for (int r = 0; r < kRows; ++r) {
            float acc = 0;
            for (int64_t s = 0; s < ns; ++s) {
                const SuperBlockSums sums = sums_of(w[s], r, a[s]);
                acc += float(sums.scaled) * (fp16_to_fp32(w[s].d[r]) * a[s].d);
                if constexpr (requires { w[s].dmin; })
                    acc -= float(sums.mins) * (fp16_to_fp32(w[s].dmin[r]) * a[s].d);
            }
            y[t * y_stride + r] = acc;
        }
    }
}

SuperBlockSums q4_k_sums(const Q4_KSuperBlock& w, int r, const ActBlockK& a) {
    SuperBlockSums sums;
    for (int j = 0; j < 8; ++j) {
        sums.scaled += nibble_dot(w.qs[j], r, a.qs + kBlock * j) * w.scales[j][r];
        sums.mins += w.mins[j][r] * a.sum32[j];
    }
    return sums;
}

SuperBlockSums q5_k_sums(const Q5_KSuperBlock& w, int r, const ActBlockK& a) {
    SuperBlockSums sums;
    for (int j = 0; j < 8; ++j) {
        const Q5_KBlock32& block = w.blocks[j];
        int32_t sum = 0;
        for (int c = 0; c < kBlock; ++c)
            sum += (get_nibble(block.low, r, c) | q5_k_high_bit(block, r, c) << 4) *
                   a.qs[kBlock * j + c];
        sums.scaled += sum * w.scales[j][r];
        sums.mins += w.mins[j][r] * a.sum32[j];
    }
    return sums;
}

// Sub-block k (16 columns) of a super-block: the sum of quant(j, c) times the activations over its
// columns, j = k / 2 the block of 32 that holds them.
template <class Quant>
int32_t sixteen_dot(int k, const ActBlockK& a, Quant quant) {
    const int j = k / 2;
    int32_t sum = 0;
    for (int c = 16 * (k % 2); c < 16 * (k % 2) + 16; ++c)
        sum += quant(j, c) * a.qs[kBlock * j + c];
    return sum;
}

SuperBlockSums q2_k_sums(const Q2_KSuperBlock& w, int r, const ActBlockK& a) {
    SuperBlockSums sums;
    for (int k = 0; k < 16; ++k) {
        const int32_t sum =
            sixteen_dot(k, a, [&](int j, int c) { return bit_pair(w.qs[j], r, c); });
        sums.scaled += sum * (w.scales[k][r] & 0xF);
        sums.mins += (w.scales[k][r] >> 4) * a.sum16[k];
    }
    return sums;
}

SuperBlockSums q3_k_sums(const Q3_KSuperBlock& w, int r, const ActBlockK& a) {
    SuperBlockSums sums;
    for (int k = 0; k < 16; ++k)
        sums.scaled +=
            sixteen_dot(k, a, [&](int j, int c) { return q3_k_quant(w.blocks[j], r, c) - 4; }) *
            w.scales[k][r];
    return sums;
}

SuperBlockSums q6_k_sums(const Q6_KSuperBlock& w, int r, const ActBlockK& a) {
    SuperBlockSums sums;
    for (int k = 0; k < 16; ++k) {
        const int32_t sum = sixteen_dot(k, a, [&](int j, int c) {
            const int high = (w.blocks[j].high[q6_k_high_byte(r, c)] >> q6_k_high_shift(c)) & 3;
            return get_nibble(w.blocks[j].low, r, c) | high << 4;
        });
        sums.scaled += (sum - 32 * a.sum16[k]) * w.scales[k][r];
    }
    return sums;
}

SuperBlockSums iq4_xs_sums(const IQ4_XSSuperBlock& w, int r, const ActBlockK& a) {
    SuperBlockSums sums;
    for (int j = 0; j < 8; ++j) {
        int32_t sum = 0;
        for (int c = 0; c < kBlock; ++c)
            sum += kIq4Values[get_nibble(w.qs[j], r, c)] * a.qs[kBlock * j + c];
        sums.scaled += sum * w.scales[j][r];
    }
    return sums;
}

// The blocks of 32: activations per 32 columns with the bias -(zero point) * sum(a).
template <GgmlType Type, const Block32Layout& Layout, auto pack_tile, auto quant>
constexpr PackedFormat kBlock32Format{Type,
                                      Layout.group* kBlock,
                                      block32_tile_bytes<Layout>,
                                      pack_tile,
                                      block32_activation_bytes,
                                      quantize_block32_activation<block32_zero_point(Type)>,
                                      block32_gemm_reference<Layout, quant>};
template <const Block32Layout& Layout>
constexpr const PackedFormat* kQ4_0Format =
    &kBlock32Format<GgmlType::Q4_0, Layout, nibble_block32_pack_tile<BlockQ4_0, Layout>,
                    q4_0_quant>;
template <const Block32Layout& Layout>
constexpr const PackedFormat* kQ8_0Format =
    &kBlock32Format<GgmlType::Q8_0, Layout, q8_0_pack_tile<Layout>, q8_0_quant>;
template <const Block32Layout& Layout>
constexpr const PackedFormat* kQ4_1Format =
    &kBlock32Format<GgmlType::Q4_1, Layout, nibble_block32_pack_tile<BlockQ4_1, Layout>,
                    q4_0_quant>;
template <const Block32Layout& Layout>
constexpr const PackedFormat* kQ5_0Format =
    &kBlock32Format<GgmlType::Q5_0, Layout, nibble_block32_pack_tile<BlockQ5_0, Layout>,
                    five_bit_quant>;
template <const Block32Layout& Layout>
constexpr const PackedFormat* kQ5_1Format =
    &kBlock32Format<GgmlType::Q5_1, Layout, nibble_block32_pack_tile<BlockQ5_1, Layout>,
                    five_bit_quant>;
template <const Block32Layout& Layout>
constexpr const PackedFormat* kIQ4_NLFormat =
    &kBlock32Format<GgmlType::IQ4_NL, Layout, nibble_block32_pack_tile<BlockIQ4_NL, Layout>,
                    iq4_nl_quant>;
// The super-block formats: K-quant activations, the layout's super-block per 256 columns.
template <GgmlType Type, class SuperBlock, auto pack_tile, auto sums_of>
constexpr PackedFormat kSuperBlockFormat{Type,
                                         kSuperBlock,
                                         superblock_tile_bytes<SuperBlock>,
                                         pack_tile,
                                         k_activation_bytes,
                                         quantize_k_activation,
                                         superblock_gemm_reference<SuperBlock, sums_of>};

PackedFormat with_kernels(const PackedFormat& format, PackedKernels kernels) {
    PackedFormat f = format;
    f.gemm = kernels.gemm;
    f.quantize_activation = kernels.quantize_activation;
    return f;
}

}  // namespace

const PackedFormat* packed_format_reference(GgmlType type, SimdLevel layout_of, Grouping grouping) {
    const bool scales_last = layout_of == SimdLevel::avx512;
    if (grouping == Grouping::wide) {
        if (!scales_last) return nullptr;
        switch (type) {
            case GgmlType::IQ4_NL:
                return kIQ4_NLFormat<kQ4_0WideLayout>;
            case GgmlType::Q4_1:
                return kQ4_1Format<kQ4_1WideLayout>;
            case GgmlType::Q5_1:
                return kQ5_1Format<kQ5_1WideLayout>;
            default:
                return nullptr;
        }
    }
    switch (type) {
        case GgmlType::Q4_0:
            return scales_last ? kQ4_0Format<kQ4_0ScalesLastLayout> : kQ4_0Format<kQ4_0Layout>;
        case GgmlType::Q8_0:
            return scales_last ? kQ8_0Format<kQ8_0ScalesLastLayout> : kQ8_0Format<kQ8_0Layout>;
        case GgmlType::IQ4_NL:
            return scales_last ? kIQ4_NLFormat<kQ4_0ScalesLastLayout> : kIQ4_NLFormat<kQ4_0Layout>;
        case GgmlType::Q4_1:
            return scales_last ? kQ4_1Format<kQ4_1ScalesLastLayout> : kQ4_1Format<kQ4_1Layout>;
        case GgmlType::Q5_0:
            return scales_last ? kQ5_0Format<kQ5_0ScalesLastLayout> : kQ5_0Format<kQ5_0Layout>;
        case GgmlType::Q5_1:
            return scales_last ? kQ5_1Format<kQ5_1ScalesLastLayout> : kQ5_1Format<kQ5_1Layout>;
        case GgmlType::Q2_K:
            return &kSuperBlockFormat<GgmlType::Q2_K, Q2_KSuperBlock, q2_k_pack_tile, q2_k_sums>;
        case GgmlType::Q3_K:
            return &kSuperBlockFormat<GgmlType::Q3_K, Q3_KSuperBlock, q3_k_pack_tile, q3_k_sums>;
        case GgmlType::Q4_K:
            return &kSuperBlockFormat<GgmlType::Q4_K, Q4_KSuperBlock, q4_k_pack_tile, q4_k_sums>;
        case GgmlType::Q5_K:
            return &kSuperBlockFormat<GgmlType::Q5_K, Q5_KSuperBlock, q5_k_pack_tile, q5_k_sums>;
        case GgmlType::Q6_K:
            return &kSuperBlockFormat<GgmlType::Q6_K, Q6_KSuperBlock, q6_k_pack_tile, q6_k_sums>;
        case GgmlType::IQ4_XS:
            return &kSuperBlockFormat<GgmlType::IQ4_XS, IQ4_XSSuperBlock, iq4_xs_pack_tile,
                                      iq4_xs_sums>;
        default:
            return nullptr;
    }
}

PackedKernels packed_kernels_reference(GgmlType type) {
    const PackedFormat* f = packed_format_reference(type, SimdLevel::scalar);
    return f ? PackedKernels{f->gemm, f->quantize_activation} : PackedKernels{};
}

const PackedFormat* packed_format(GgmlType type, int64_t cols) {
    // Packing only pays where a kernel reads the packed layout faster than the in-place one.
    // Each list holds a type's wide grouping before its standard one: the first whose groups
    // divide the row is taken.
    constexpr GgmlType kTypes[] = {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::IQ4_NL,
                                   GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                   GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                                   GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_XS};
    static const std::vector<PackedFormat> avx512 = [&] {
        std::vector<PackedFormat> formats;
        for (GgmlType t : kTypes)
            for (Grouping grouping : {Grouping::wide, Grouping::standard}) {
                const PackedFormat* format =
                    packed_format_reference(t, SimdLevel::avx512, grouping);
                const PackedKernels kernels = packed_kernels_avx512(t, grouping);
                if (format && kernels.gemm) formats.push_back(with_kernels(*format, kernels));
            }
        return formats;
    }();
    // AVX2 and NEON: standard groups, the scales before the quants.
    const auto standard_formats = [&](PackedKernels (*kernels_of)(GgmlType)) {
        std::vector<PackedFormat> formats;
        for (GgmlType t : kTypes) {
            const PackedKernels kernels = kernels_of(t);
            if (kernels.gemm)
                formats.push_back(
                    with_kernels(*packed_format_reference(t, SimdLevel::avx2), kernels));
        }
        return formats;
    };
    static const std::vector<PackedFormat> avx2 = standard_formats(packed_kernels_avx2);
    static const std::vector<PackedFormat> neon = standard_formats(packed_kernels_neon);
    const std::vector<PackedFormat>* formats = nullptr;
    switch (active_simd_level()) {
        case SimdLevel::avx512:
            formats = &avx512;
            break;
        case SimdLevel::avx2:
            formats = &avx2;
            break;
        case SimdLevel::neon:
            formats = &neon;
            break;
        case SimdLevel::scalar:
            return nullptr;
    }
    for (const PackedFormat& f : *formats)
        if (f.type == type && cols % f.column_group == 0) return &f;
    return nullptr;
}

}  // namespace uma::cpu::detail
