#pragma once
#include <cstdint>
#include <cstring>

namespace uma {

// IEEE half and bfloat16 conversions (portable; SIMD code uses F16C where present). AArch64
// converts half to single with one instruction, the same value for every half but a signaling
// NaN, which it quiets.
#if defined(__aarch64__)
inline float fp16_to_fp32(uint16_t h) {
    __fp16 half;
    std::memcpy(&half, &h, sizeof half);
    return float(half);
}
#else
inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exponent = (h >> 10) & 0x1f;
    const uint32_t mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int e = -1;
            uint32_t m = mantissa;
            do {
                m <<= 1;
                ++e;
            } while ((m & 0x400) == 0);
            bits = sign | uint32_t(127 - 15 - e) << 23 | (m & 0x3ff) << 13;
        }
    } else if (exponent == 31) {
        bits = sign | 0x7f800000u | mantissa << 13;
    } else {
        bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}
#endif

inline uint16_t fp32_to_fp16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000;
    const uint32_t abs = x & 0x7fffffff;
    if (abs > 0x7f800000) return uint16_t(sign | 0x7e00);   // NaN
    if (abs >= 0x477ff000) return uint16_t(sign | 0x7c00);  // overflow to inf (round-to-nearest)
    if (abs < 0x38800000) {                                 // subnormal half or zero
        if (abs < 0x33000000) return uint16_t(sign);
        const uint32_t e = abs >> 23;
        const uint32_t m = (abs & 0x7fffff) | 0x800000;
        const uint32_t shift = 126 - e;  // 14..24 -> places to shift to get 10-bit subnormal
        uint32_t half_m = m >> (shift);
        const uint32_t rem = m & ((1u << shift) - 1);
        const uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (half_m & 1))) ++half_m;
        return uint16_t(sign | half_m);
    }
    // normal: round mantissa to 10 bits, nearest even
    uint32_t rounded = abs + 0xfff + ((abs >> 13) & 1);
    return uint16_t(sign | ((rounded - (112u << 23)) >> 13));
}

inline float bf16_to_fp32(uint16_t h) {
    uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t fp32_to_bf16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return uint16_t((x >> 16) | 64);  // quiet NaN
    return uint16_t((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

}  // namespace uma
