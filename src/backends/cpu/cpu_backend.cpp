#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "uma/backends/backend.h"
#include "uma/backends/cpu/quant.h"
#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/error.h"

namespace uma {

Weight Weight::matrix(int64_t index) const {
    Weight m = *this;
    m.count = 1;
    m.data = data + static_cast<size_t>(index) * matrix_bytes();
    return m;
}

namespace {

// Rows of weights handed to one thread at a time. Small enough to balance work across threads,
// large enough that each chunk streams a useful amount of memory.
constexpr int64_t kRowChunk = 16;

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(int n_threads) : pool_(n_threads) {}

    std::string describe() const override {
        return std::string("cpu (") + cpu::simd_level_name() + ", " +
               std::to_string(pool_.size()) + " threads)";
    }
    int threads() const override { return pool_.size(); }

    void matmul(const Weight& w, const float* x, int64_t n_tokens, float* y) override {
        const GgmlType act_type = cpu::activation_type(w.type);
        const size_t act_row_bytes = row_size(act_type, w.cols);
        const float* act = x;
        if (act_type != GgmlType::F32) {
            activations_.resize(act_row_bytes * static_cast<size_t>(n_tokens));
            pool_.parallel_for(n_tokens, 1, [&](int64_t begin, int64_t end) {
                for (int64_t t = begin; t < end; ++t)
                    cpu::quantize_row(act_type, x + t * w.cols, activations_.data() + t * act_row_bytes,
                                      w.cols);
            });
            act = nullptr;
        }
        const auto* act_bytes = act ? reinterpret_cast<const uint8_t*>(act) : activations_.data();
        const cpu::VecDotFn dot = cpu::vec_dot_kernel(w.type);
        // Each chunk of weight rows is read once and applied to every token while it is in cache.
        pool_.parallel_for(w.rows, kRowChunk, [&](int64_t begin, int64_t end) {
            for (int64_t t = 0; t < n_tokens; ++t) {
                const uint8_t* a = act_bytes + static_cast<size_t>(t) * act_row_bytes;
                float* out = y + t * w.rows;
                for (int64_t r = begin; r < end; ++r)
                    dot(w.cols, out + r, w.data + static_cast<size_t>(r) * w.row_bytes, a);
            }
        });
    }

    void get_row(const Weight& w, int64_t row, float* out) override {
        if (row < 0 || row >= w.rows)
            throw Error("row " + std::to_string(row) + " is outside " + w.name + " (" +
                        std::to_string(w.rows) + " rows)");
        cpu::dequantize_row(w.type, w.data + static_cast<size_t>(row) * w.row_bytes, out, w.cols);
    }

    void rms_norm(const float* x, const float* weight, int64_t n_rows, int64_t dim, float eps,
                  float* y) override {
        for (int64_t r = 0; r < n_rows; ++r) {
            const float* in = x + r * dim;
            float* out = y + r * dim;
            double sum = 0;
            for (int64_t i = 0; i < dim; ++i) sum += double(in[i]) * in[i];
            const float inv = 1.0f / std::sqrt(float(sum / double(dim)) + eps);
            if (weight)
                for (int64_t i = 0; i < dim; ++i) out[i] = in[i] * inv * weight[i];
            else
                for (int64_t i = 0; i < dim; ++i) out[i] = in[i] * inv;
        }
    }

    void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
              const int32_t* positions, const RopeParams& p) override {
        const int64_t half = p.n_rot / 2;
        std::vector<float> cos_table(half), sin_table(half);
        for (int64_t t = 0; t < n_tokens; ++t) {
            for (int64_t i = 0; i < half; ++i) {
                double theta = double(positions[t]) *
                               std::pow(double(p.freq_base), -2.0 * double(i) / double(p.n_rot));
                if (p.freq_factors) theta /= double(p.freq_factors[i]);
                float mscale = 1.0f;
                theta = rope_yarn_theta(theta, i, p, &mscale);
                cos_table[i] = float(std::cos(theta)) * mscale;
                sin_table[i] = float(std::sin(theta)) * mscale;
            }
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

    void swiglu(const float* gate, const float* up, int64_t n, float* out) override {
        for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
    }

    void store_rows(const float* src, int64_t n_rows, int64_t row_elements, const KvView& dst,
                    int64_t first_row) override {
        for (int64_t r = 0; r < n_rows; ++r)
            cpu::quantize_row(dst.type, src + r * row_elements,
                              dst.data + static_cast<size_t>(first_row + r) * dst.row_bytes,
                              row_elements);
    }

    void attention(const AttentionArgs& a) override {
        const int64_t group = a.n_heads / a.n_kv_heads;
        const cpu::VecDotFn key_dot = cpu::vec_dot_kernel(a.k.type);
        pool_.parallel_for(a.n_tokens * a.n_heads, 1, [&](int64_t begin, int64_t end) {
            std::vector<float> scores;
            std::vector<float> value(a.head_dim_v);
            for (int64_t job = begin; job < end; ++job) {
                const int64_t t = job / a.n_heads;
                const int64_t h = job % a.n_heads;
                const int64_t kv_head = h / group;
                const int64_t pos = a.positions[t];
                const int64_t first = a.window > 0 ? std::max<int64_t>(0, pos - a.window + 1) : 0;
                const float* q = a.q + (t * a.n_heads + h) * a.head_dim;
                scores.resize(static_cast<size_t>(pos - first + 1));
                float max_score = -INFINITY;
                for (int64_t j = first; j <= pos; ++j) {
                    const uint8_t* k_row = a.k.data + static_cast<size_t>(j) * a.k.row_bytes +
                                           row_size(a.k.type, kv_head * a.head_dim);
                    float s;
                    key_dot(a.head_dim, &s, k_row, q);
                    s *= a.scale;
                    if (a.softcap > 0) s = a.softcap * std::tanh(s / a.softcap);
                    scores[j - first] = s;
                    max_score = std::max(max_score, s);
                }
                double sum = 0;
                for (auto& s : scores) {
                    s = std::exp(s - max_score);
                    sum += s;
                }
                float* out = a.out + (t * a.n_heads + h) * a.head_dim_v;
                std::fill(out, out + a.head_dim_v, 0.0f);
                const float inv = float(1.0 / sum);
                for (int64_t j = first; j <= pos; ++j) {
                    const uint8_t* v_row = a.v.data + static_cast<size_t>(j) * a.v.row_bytes +
                                           row_size(a.v.type, kv_head * a.head_dim_v);
                    cpu::dequantize_row(a.v.type, v_row, value.data(), a.head_dim_v);
                    const float p = scores[j - first] * inv;
                    for (int64_t d = 0; d < a.head_dim_v; ++d) out[d] += p * value[d];
                }
            }
        });
    }

private:
    // YaRN: blends interpolated and extrapolated frequencies per dimension pair.
    static double rope_yarn_theta(double theta_extrap, int64_t i, const RopeParams& p,
                                  float* mscale) {
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

    cpu::ThreadPool pool_;
    std::vector<uint8_t> activations_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int n_threads) {
    return std::make_unique<CpuBackend>(n_threads);
}

}  // namespace uma
