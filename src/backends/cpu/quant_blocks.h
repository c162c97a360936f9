#pragma once
// Block layouts of the GGUF quantization formats, byte for byte as ggml writes them, plus the
// small bit-unpacking helpers that both the scalar and the SIMD code need.
//
// This header is included by files compiled with AVX2/AVX-512 flags as well as by baseline files.
// Its functions therefore live in an anonymous namespace: every translation unit gets its own
// copy, so the linker can never hand a baseline caller a copy that was compiled with AVX
// instructions (which an ordinary `inline` function would allow).
#include <cstdint>

namespace uma::cpu::blocks {

constexpr int kLegacyBlock = 32;  // elements per Q4_0 .. Q8_0 / IQ4_NL block
constexpr int kSuperBlock = 256;  // elements per K-quant / IQ4_XS / Q8_K super-block

// x = d * (q - 8), q a nibble; element j in the low nibble of qs[j], element j+16 in the high.
struct BlockQ4_0 {
    uint16_t d;  // fp16
    uint8_t qs[16];
};
// x = d * q + m
struct BlockQ4_1 {
    uint16_t d, m;  // fp16
    uint8_t qs[16];
};
// x = d * (q - 16), q = nibble | (bit j of qh) << 4
struct BlockQ5_0 {
    uint16_t d;     // fp16
    uint8_t qh[4];  // bit j = fifth bit of element j (little-endian uint32)
    uint8_t qs[16];
};
// x = d * q + m, q as in Q5_0
struct BlockQ5_1 {
    uint16_t d, m;  // fp16
    uint8_t qh[4];
    uint8_t qs[16];
};
// x = d * q
struct BlockQ8_0 {
    uint16_t d;  // fp16
    int8_t qs[32];
};
// 16 sub-blocks of 16: x = d * scale * q - dmin * min, q in 0..3, 4-bit scale and min.
struct BlockQ2_K {
    uint8_t scales[16];  // low nibble: scale, high nibble: min
    uint8_t qs[64];      // 2-bit quants, four planes per 32 bytes
    uint16_t d, dmin;    // fp16
};
// 16 sub-blocks of 16: x = d * (scale - 32) * (q - 4 * !hbit), 2 low bits + 1 high bit.
struct BlockQ3_K {
    uint8_t hmask[32];   // high bits: bit k of hmask[l] belongs to element 32k + l
    uint8_t qs[64];      // low 2 bits, laid out as in Q2_K
    uint8_t scales[12];  // sixteen 6-bit scales, see unpack_q3_k_scales
    uint16_t d;          // fp16
};
// 8 sub-blocks of 32: x = d * scale * q - dmin * min, q in 0..15, 6-bit scale and min.
struct BlockQ4_K {
    uint16_t d, dmin;    // fp16
    uint8_t scales[12];  // see unpack_k_scales
    uint8_t qs[128];     // per 64 elements: 32 bytes, low nibbles first 32, high nibbles next 32
};
// As Q4_K with a fifth bit per element.
struct BlockQ5_K {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[32];  // bit 2g of qh[l]: element 64g + l, bit 2g+1: element 64g + 32 + l
    uint8_t qs[128];
};
// 16 sub-blocks of 16: x = d * scale * (q - 32), q 6 bits, scale int8.
struct BlockQ6_K {
    uint8_t ql[128];    // low 4 bits
    uint8_t qh[64];     // high 2 bits
    int8_t scales[16];  // signed sub-block scales
    uint16_t d;         // fp16
};
// The K-quant activation format: x = d * q, with per-16 sums of q to fold in the minimums.
struct BlockQ8_K {
    float d;
    int8_t qs[256];
    int16_t bsums[16];
};
// x = d * kIq4Values[q], q laid out as in Q4_0.
struct BlockIQ4_NL {
    uint16_t d;  // fp16
    uint8_t qs[16];
};
// 8 sub-blocks of 32: x = d * (scale - 32) * kIq4Values[q], 6-bit scales.
struct BlockIQ4_XS {
    uint16_t d;           // fp16
    uint16_t scales_h;    // high 2 bits of scale ib at bit 2*ib
    uint8_t scales_l[4];  // low 4 bits of scale ib in nibble ib % 2 of byte ib / 2
    uint8_t qs[128];      // per sub-block 16 bytes laid out as in IQ4_NL
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIQ4_NL) == 18 && sizeof(BlockIQ4_XS) == 136);

// The non-linear 4-bit grid of IQ4_NL and IQ4_XS.
inline constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};

namespace {

// Q4_K / Q5_K: eight 6-bit scales and eight 6-bit mins packed into 12 bytes. Sub-blocks 0..3 keep
// their values in the low 6 bits of bytes 0..3 (scales) and 4..7 (mins); sub-blocks 4..7 keep
// their low 4 bits in the nibbles of bytes 8..11 and their top 2 bits in the spare top bits of
// bytes 0..7.
inline void unpack_k_scales(const uint8_t packed[12], uint8_t scales[8], uint8_t mins[8]) {
    for (int j = 0; j < 4; ++j) {
        scales[j] = packed[j] & 63;
        mins[j] = packed[j + 4] & 63;
    }
    for (int j = 4; j < 8; ++j) {
        scales[j] = uint8_t((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4));
        mins[j] = uint8_t((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
    }
}

// Q3_K: sixteen 6-bit scales (stored with a +32 bias) in 12 bytes. Low nibbles: scale j < 8 in the
// low nibble of byte j, scale j >= 8 in the high nibble of byte j - 8. High 2 bits: bits
// 2*(j/4) of byte 8 + j%4.
inline void unpack_q3_k_scales(const uint8_t packed[12], int8_t scales[16]) {
    for (int j = 0; j < 16; ++j) {
        const int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
        const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        scales[j] = int8_t((low | high << 4) - 32);
    }
}

// Q6_K: per 128 elements, ql holds 64 bytes (elements l and l+32 in the low nibbles of bytes l
// and l+32, elements l+64 and l+96 in their high nibbles) and qh 32 bytes (2 bits each for
// l, l+32, l+64, l+96).
inline void unpack_q6_k(const BlockQ6_K& block, int8_t q[kSuperBlock]) {
    for (int chunk = 0; chunk < 2; ++chunk) {
        const uint8_t* ql = block.ql + 64 * chunk;
        const uint8_t* qh = block.qh + 32 * chunk;
        int8_t* out = q + 128 * chunk;
        for (int l = 0; l < 32; ++l) {
            out[l] = int8_t(((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32);
            out[l + 32] = int8_t(((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32);
            out[l + 64] = int8_t(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
            out[l + 96] = int8_t(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
        }
    }
}

// The same unpacking done four bytes at a time, for the SIMD kernels (which move the result
// straight into a vector register; storing bytes and reloading them as a vector stalls on
// store forwarding). Words 0-1 receive the eight scales, words 2-3 the eight mins, a byte each.
inline void unpack_k_scales_words(const uint8_t packed[12], uint32_t words[4]) {
    constexpr uint32_t low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, low2 = 0x03030303;
    uint32_t in[3];
    __builtin_memcpy(in, packed, sizeof in);
    words[0] = in[0] & low6;
    words[1] = (in[2] & low4) | ((in[0] >> 6) & low2) << 4;
    words[2] = in[1] & low6;
    words[3] = ((in[2] >> 4) & low4) | ((in[1] >> 6) & low2) << 4;
}

// Q3_K scales four bytes at a time (see unpack_k_scales_words), still biased by +32.
inline void unpack_q3_k_scale_words(const uint8_t packed[12], uint32_t words[4]) {
    constexpr uint32_t low4 = 0x0f0f0f0f, low2 = 0x03030303;
    uint32_t in[3];
    __builtin_memcpy(in, packed, sizeof in);
    words[0] = (in[0] & low4) | (in[2] & low2) << 4;
    words[1] = (in[1] & low4) | ((in[2] >> 2) & low2) << 4;
    words[2] = ((in[0] >> 4) & low4) | ((in[2] >> 4) & low2) << 4;
    words[3] = ((in[1] >> 4) & low4) | ((in[2] >> 6) & low2) << 4;
}

// IQ4_XS: the signed scale of sub-block ib.
inline int iq4_xs_scale(const BlockIQ4_XS& block, int ib) {
    const int low = (block.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
    const int high = (block.scales_h >> (2 * ib)) & 3;
    return (low | high << 4) - 32;
}

}  // namespace
}  // namespace uma::cpu::blocks
