#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/elementwise_rows.h"
#include "cpu_backend.h"
#include "uma/backends/cpu/quant.h"
#include "uma/core/error.h"

namespace uma {
namespace {

// Elements per chunk of the elementwise operations: decode's vectors stay on one thread, a
// prompt's are shared among all.
constexpr int64_t kElementwiseChunk = int64_t(1) << 15;

// YaRN: blends interpolated and extrapolated frequencies per dimension pair.
double rope_yarn_theta(double theta_extrap, int64_t i, const RopeParams& p, float* mscale) {
    const double theta_interp = p.freq_scale * theta_extrap;
    if (p.ext_factor == 0.0f) {
        *mscale = p.attn_factor;
        return theta_interp;
    }
    const auto corr_dim = [&](float n_rot_beta) {
        return p.n_rot * std::log(double(p.n_ctx_orig) / (n_rot_beta * 2 * M_PI)) /
               (2 * std::log(double(p.freq_base)));
    };
    const double low = std::max(0.0, std::floor(corr_dim(p.beta_fast)));
    const double high = std::min(double(p.n_rot - 1), std::ceil(corr_dim(p.beta_slow)));
    const double y = (double(i) - low) / std::max(0.001, high - low);
    const double ramp_mix = (1.0 - std::min(1.0, std::max(0.0, y))) * p.ext_factor;
    const double theta = theta_interp * (1 - ramp_mix) + theta_extrap * ramp_mix;
    *mscale = p.attn_factor * float(1.0 + 0.1 * std::log(1.0 / p.freq_scale));
    return theta;
}

}  // namespace

void CpuBackend::rms_norm(const float* x, const float* weight, int64_t n_rows, int64_t dim,
                          float eps, float* y) {
    // Rows split among the threads only when there is enough work to pay for waking them.
    const int64_t rows_per_chunk =
        std::max<int64_t>(1, kElementwiseChunk / std::max<int64_t>(dim, 1));
    const auto& kernels = cpu::detail::elementwise_kernels(cpu::detail::active_simd_level());
    pool_.parallel_for(n_rows, rows_per_chunk, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r)
            kernels.rms_norm(x + r * dim, weight, dim, eps, y + r * dim);
    });
}

const CpuBackend::RopeTables& CpuBackend::rope_tables(const int32_t* positions, int64_t n_tokens,
                                                      const RopeParams& p) {
    RopeTables& t = rope_tables_;
    if (t.params == p &&
        std::equal(positions, positions + n_tokens, t.positions.begin(), t.positions.end()))
        return t;
    const int64_t half = p.n_rot / 2;
    t.params = p;
    t.positions.assign(positions, positions + n_tokens);
    t.cos.resize(static_cast<size_t>(n_tokens * half));
    t.sin.resize(static_cast<size_t>(n_tokens * half));
    for (int64_t token = 0; token < n_tokens; ++token) {
        for (int64_t i = 0; i < half; ++i) {
            double theta = double(positions[token]) *
                           std::pow(double(p.freq_base), -2.0 * double(i) / double(p.n_rot));
            if (p.freq_factors) theta /= double(p.freq_factors[i]);
            float mscale = 1.0f;
            theta = rope_yarn_theta(theta, i, p, &mscale);
            t.cos[size_t(token * half + i)] = float(std::cos(theta)) * mscale;
            t.sin[size_t(token * half + i)] = float(std::sin(theta)) * mscale;
        }
    }
    return t;
}

void CpuBackend::rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                      const int32_t* positions, const RopeParams& p) {
    const int64_t half = p.n_rot / 2;
    const RopeTables& tables = rope_tables(positions, n_tokens, p);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* cos_table = tables.cos.data() + t * half;
        const float* sin_table = tables.sin.data() + t * half;
        for (int64_t h = 0; h < n_heads; ++h) {
            float* v = x + (t * n_heads + h) * head_dim;
            for (int64_t i = 0; i < half; ++i) {
                const int64_t a = p.style == RopeStyle::Normal ? 2 * i : i;
                const int64_t b = p.style == RopeStyle::Normal ? 2 * i + 1 : i + half;
                const float x0 = v[a], x1 = v[b];
                v[a] = x0 * cos_table[i] - x1 * sin_table[i];
                v[b] = x0 * sin_table[i] + x1 * cos_table[i];
            }
        }
    }
}

void CpuBackend::swiglu(const float* gate, const float* up, int64_t n, float* out) {
    const auto& kernels = cpu::detail::elementwise_kernels(cpu::detail::active_simd_level());
    pool_.parallel_for(n, kElementwiseChunk, [&](int64_t begin, int64_t end) {
        kernels.swiglu(gate + begin, up + begin, end - begin, out + begin);
    });
}

void CpuBackend::geglu(const float* gate, const float* up, int64_t n, float* out) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    pool_.parallel_for(n, kElementwiseChunk, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float g = gate[i];
            const float gelu =
                0.5f * g * (1.0f + std::tanh(kSqrt2OverPi * (g + 0.044715f * g * g * g)));
            out[i] = gelu * up[i];
        }
    });
}

void CpuBackend::store_rows(const float* src, int64_t n_rows, int64_t row_elements,
                            const KvView& dst, int64_t first_row) {
    if (dst.n_heads <= 0 || row_elements % dst.n_heads != 0)
        throw Error("cannot store rows of " + std::to_string(row_elements) + " in " +
                    std::to_string(dst.n_heads) + " cache heads");
    const int64_t head_elements = row_elements / dst.n_heads;
    // Decode stores a row per layer on one thread while the others wait: F16, the usual cache
    // type, converts with the vector instructions.
    const auto& kernels = cpu::detail::elementwise_kernels(cpu::detail::active_simd_level());
    for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t h = 0; h < dst.n_heads; ++h) {
            const float* head = src + r * row_elements + h * head_elements;
            if (dst.type == GgmlType::F16)
                kernels.to_f16(head, head_elements,
                               reinterpret_cast<uint16_t*>(dst.row(first_row + r, h)));
            else
                cpu::quantize_row(dst.type, head, dst.row(first_row + r, h), head_elements);
        }
}

}  // namespace uma
