#pragma once
// Shared helpers for the quantization tests.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "uma/backends/cpu/quant.h"
#include "uma/core/fp16.h"
#include "uma/core/ggml_type.h"

namespace uma::test {

inline std::vector<float> gaussian_values(int64_t n, uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, sigma);
    std::vector<float> values(static_cast<size_t>(n));
    for (auto& v : values) v = dist(rng);
    return values;
}

// values as the bytes of an F16 or F32 row (a KV cache's).
inline std::vector<uint8_t> cache_bytes(GgmlType type, const std::vector<float>& values) {
    const size_t size = type == GgmlType::F16 ? 2 : 4;
    std::vector<uint8_t> bytes(values.size() * size);
    for (size_t i = 0; i < values.size(); ++i) {
        if (type == GgmlType::F16) {
            const uint16_t h = fp32_to_fp16(values[i]);
            std::memcpy(bytes.data() + 2 * i, &h, 2);
        } else {
            std::memcpy(bytes.data() + 4 * i, &values[i], 4);
        }
    }
    return bytes;
}

inline std::vector<uint8_t> quantized(GgmlType type, const std::vector<float>& values) {
    std::vector<uint8_t> bytes(row_size(type, int64_t(values.size())));
    cpu::quantize_row(type, values.data(), bytes.data(), int64_t(values.size()));
    return bytes;
}

inline std::vector<float> dequantized(GgmlType type, const void* bytes, int64_t n) {
    std::vector<float> values(static_cast<size_t>(n));
    cpu::dequantize_row(type, bytes, values.data(), n);
    return values;
}

inline double rms(const std::vector<float>& v) {
    double sum = 0;
    for (float x : v) sum += double(x) * x;
    return std::sqrt(sum / double(v.size()));
}

inline double rms_difference(const float* a, const float* b, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    return std::sqrt(sum / double(n));
}

// The weight types the CPU backend computes with.
inline const std::vector<GgmlType>& weight_types() {
    static const std::vector<GgmlType> types = {
        GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,   GgmlType::Q4_1,
        GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K,   GgmlType::Q3_K,
        GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS,
    };
    return types;
}

}  // namespace uma::test
