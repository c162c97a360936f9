#include "backends/cpu/elementwise_rows.h"

#include <cmath>

#include "uma/backends/cpu/quant.h"

namespace uma::cpu::detail {
namespace {

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
    for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void rms_norm(const float* x, const float* weight, int64_t dim, float eps, float* out) {
    double sum = 0;
    for (int64_t i = 0; i < dim; ++i) sum += double(x[i]) * x[i];
    const float inv = 1.0f / std::sqrt(float(sum / double(dim)) + eps);
    if (weight)
        for (int64_t i = 0; i < dim; ++i) out[i] = x[i] * inv * weight[i];
    else
        for (int64_t i = 0; i < dim; ++i) out[i] = x[i] * inv;
}

// The F16 rows of quantize_row.
void to_f16(const float* x, int64_t n, uint16_t* out) {
    quantize_row(GgmlType::F16, x, out, n);
}

constexpr ElementwiseKernels kReference{swiglu, rms_norm, to_f16};

}  // namespace

const ElementwiseKernels& elementwise_kernels_reference() {
    return kReference;
}

const ElementwiseKernels& elementwise_kernels(SimdLevel level) {
    if (runs_kernels_of(level, SimdLevel::neon))
        if (const ElementwiseKernels* k = elementwise_kernels_neon()) return *k;
    if (runs_kernels_of(level, SimdLevel::avx512))
        if (const ElementwiseKernels* k = elementwise_kernels_avx512()) return *k;
    if (runs_kernels_of(level, SimdLevel::avx2))
        if (const ElementwiseKernels* k = elementwise_kernels_avx2()) return *k;
    return kReference;
}

}  // namespace uma::cpu::detail
