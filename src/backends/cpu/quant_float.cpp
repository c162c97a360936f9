// F32, F16 and BF16 rows: conversions and the scalar float dot products.
#include <cstring>

#include "backends/cpu/quant_formats.h"
#include "uma/core/fp16.h"

namespace uma::cpu::detail {
namespace {

void dequantize_f32(const void* src, float* dst, int64_t n) {
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}
void quantize_f32(const float* src, void* dst, int64_t n) {
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void dequantize_f16(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
}
void quantize_f16(const float* src, void* dst, int64_t n) {
    auto* h = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}

void dequantize_bf16(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
}
void quantize_bf16(const float* src, void* dst, int64_t n) {
    auto* h = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
}

void vec_dot_f32(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const float*>(weight);
    const auto* a = static_cast<const float*>(activation);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += w[i] * a[i];
    *out = sum;
}

void vec_dot_f16(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const uint16_t*>(weight);
    const auto* a = static_cast<const float*>(activation);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += fp16_to_fp32(w[i]) * a[i];
    *out = sum;
}

void vec_dot_bf16(int64_t n, float* out, const void* weight, const void* activation) {
    const auto* w = static_cast<const uint16_t*>(weight);
    const auto* a = static_cast<const float*>(activation);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += bf16_to_fp32(w[i]) * a[i];
    *out = sum;
}

constexpr FormatOps kF32{dequantize_f32, quantize_f32, vec_dot_f32, GgmlType::F32};
constexpr FormatOps kF16{dequantize_f16, quantize_f16, vec_dot_f16, GgmlType::F32};
constexpr FormatOps kBF16{dequantize_bf16, quantize_bf16, vec_dot_bf16, GgmlType::F32};

}  // namespace

const FormatOps* float_format_ops(GgmlType type) {
    switch (type) {
        case GgmlType::F32:
            return &kF32;
        case GgmlType::F16:
            return &kF16;
        case GgmlType::BF16:
            return &kBF16;
        default:
            return nullptr;
    }
}

}  // namespace uma::cpu::detail
