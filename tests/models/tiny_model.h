#pragma once
// Builds small random-weight GGUF models with real tensor names, and a naive float64 forward pass
// to check uma against: an independent implementation written straight from the math.
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "uma/backends/cpu/quant.h"
#include "uma/core/gguf.h"

namespace uma::test {

struct TinySpec {
    std::string arch = "llama";
    int64_t n_embd = 64, n_layer = 2, n_head = 4, n_head_kv = 2, n_ff = 96, n_vocab = 64;
    float rope_base = 10000.0f;
    float eps = 1e-5f;
    bool qkv_bias = false;
    bool tied_output = false;
    GgmlType matrix_type = GgmlType::F32;
    uint32_t seed = 1;
};

// Named float tensors with GGUF dims (dims[0] innermost).
struct TinyTensor {
    std::vector<int64_t> dims;
    std::vector<float> values;
};

class TinyModel {
public:
    explicit TinyModel(const TinySpec& spec) : spec_(spec), rng_(spec.seed) {
        const int64_t d = spec.n_embd, hd = d / spec.n_head;
        add("token_embd.weight", {d, spec.n_vocab}, 1.0f);
        add("output_norm.weight", {d}, 0.2f, 1.0f);
        if (!spec.tied_output) add("output.weight", {d, spec.n_vocab}, 0.3f);
        for (int64_t l = 0; l < spec.n_layer; ++l) {
            const std::string p = "blk." + std::to_string(l) + ".";
            add(p + "attn_norm.weight", {d}, 0.2f, 1.0f);
            add(p + "attn_q.weight", {d, spec.n_head * hd}, 0.3f);
            add(p + "attn_k.weight", {d, spec.n_head_kv * hd}, 0.3f);
            add(p + "attn_v.weight", {d, spec.n_head_kv * hd}, 0.3f);
            if (spec.qkv_bias) {
                add(p + "attn_q.bias", {spec.n_head * hd}, 0.2f);
                add(p + "attn_k.bias", {spec.n_head_kv * hd}, 0.2f);
                add(p + "attn_v.bias", {spec.n_head_kv * hd}, 0.2f);
            }
            add(p + "attn_output.weight", {spec.n_head * hd, d}, 0.3f);
            add(p + "ffn_norm.weight", {d}, 0.2f, 1.0f);
            add(p + "ffn_gate.weight", {d, spec.n_ff}, 0.3f);
            add(p + "ffn_up.weight", {d, spec.n_ff}, 0.3f);
            add(p + "ffn_down.weight", {spec.n_ff, d}, 0.3f);
        }
    }

    std::map<std::string, TinyTensor>& tensors() { return tensors_; }

    GgufWriter writer() const {
        GgufWriter w;
        const std::string a = spec_.arch + ".";
        w.set_string("general.architecture", spec_.arch);
        w.set_string("general.name", "tiny-" + spec_.arch);
        w.set_u32(a + "context_length", 256);
        w.set_u32(a + "embedding_length", static_cast<uint32_t>(spec_.n_embd));
        w.set_u32(a + "block_count", static_cast<uint32_t>(spec_.n_layer));
        w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(spec_.n_ff));
        w.set_u32(a + "attention.head_count", static_cast<uint32_t>(spec_.n_head));
        w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(spec_.n_head_kv));
        w.set_f32(a + "attention.layer_norm_rms_epsilon", spec_.eps);
        w.set_f32(a + "rope.freq_base", spec_.rope_base);
        // A SentencePiece vocabulary: specials, bytes, then a few pieces.
        std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
        std::vector<float> scores = {0, 0, 0};
        std::vector<int32_t> types = {2, 3, 3};
        for (int i = 0; static_cast<int64_t>(tokens.size()) < spec_.n_vocab; ++i) {
            tokens.push_back(std::string("\xe2\x96\x81w") + std::to_string(i));
            scores.push_back(-float(i));
            types.push_back(1);
        }
        w.set_string("tokenizer.ggml.model", "llama");
        w.set_string_array("tokenizer.ggml.tokens", tokens);
        w.set_f32_array("tokenizer.ggml.scores", scores);
        w.set_i32_array("tokenizer.ggml.token_type", types);
        w.set_u32("tokenizer.ggml.bos_token_id", 1);
        w.set_u32("tokenizer.ggml.eos_token_id", 2);
        for (const auto& [name, t] : tensors_) {
            const bool is_matrix = t.dims.size() >= 2;
            const GgmlType type = is_matrix ? spec_.matrix_type : GgmlType::F32;
            std::vector<uint8_t> bytes(row_size(type, t.dims[0]) * (t.values.size() / t.dims[0]));
            const size_t row_bytes = row_size(type, t.dims[0]);
            for (size_t r = 0; r < t.values.size() / t.dims[0]; ++r)
                cpu::quantize_row(type, t.values.data() + r * t.dims[0], bytes.data() + r * row_bytes,
                                  t.dims[0]);
            w.add_tensor(name, type, t.dims, bytes.data());
        }
        return w;
    }

    // The weights exactly as the file stores them (after quantization), as doubles.
    std::vector<double> stored(const std::string& name) const {
        const TinyTensor& t = tensors_.at(name);
        const GgmlType type = t.dims.size() >= 2 ? spec_.matrix_type : GgmlType::F32;
        std::vector<float> row(t.dims[0]);
        std::vector<uint8_t> q(row_size(type, t.dims[0]));
        std::vector<double> out;
        for (size_t r = 0; r < t.values.size() / t.dims[0]; ++r) {
            cpu::quantize_row(type, t.values.data() + r * t.dims[0], q.data(), t.dims[0]);
            cpu::dequantize_row(type, q.data(), row.data(), t.dims[0]);
            out.insert(out.end(), row.begin(), row.end());
        }
        return out;
    }

    // Logits for every position of `tokens`, computed in float64 from the stored weights.
    std::vector<double> reference_logits(const std::vector<int32_t>& tokens) const {
        const TinySpec& s = spec_;
        const int64_t d = s.n_embd, hd = d / s.n_head, n = static_cast<int64_t>(tokens.size());
        const bool neox = s.arch == "qwen2";
        auto W = [&](const std::string& name) { return stored(name); };
        // y = W x for W stored as rows of `cols`
        auto matvec = [](const std::vector<double>& w, const std::vector<double>& x, int64_t rows) {
            const int64_t cols = static_cast<int64_t>(x.size());
            std::vector<double> y(rows, 0.0);
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) y[r] += w[r * cols + c] * x[c];
            return y;
        };
        auto rmsnorm = [&](const std::vector<double>& x, const std::vector<double>& w) {
            double ss = 0;
            for (double v : x) ss += v * v;
            const double inv = 1.0 / std::sqrt(ss / double(x.size()) + s.eps);
            std::vector<double> y(x.size());
            for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
            return y;
        };
        auto rope = [&](std::vector<double>& v, int64_t heads, int64_t pos) {
            for (int64_t h = 0; h < heads; ++h)
                for (int64_t i = 0; i < hd / 2; ++i) {
                    const double theta = pos * std::pow(double(s.rope_base), -2.0 * i / hd);
                    const int64_t a = h * hd + (neox ? i : 2 * i);
                    const int64_t b = h * hd + (neox ? i + hd / 2 : 2 * i + 1);
                    const double x0 = v[a], x1 = v[b];
                    v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
                    v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
                }
        };
        const auto embd = W("token_embd.weight");
        std::vector<std::vector<double>> x(n);
        for (int64_t t = 0; t < n; ++t)
            x[t].assign(embd.begin() + tokens[t] * d, embd.begin() + (tokens[t] + 1) * d);
        for (int64_t l = 0; l < s.n_layer; ++l) {
            const std::string p = "blk." + std::to_string(l) + ".";
            const auto wq = W(p + "attn_q.weight"), wk = W(p + "attn_k.weight"),
                       wv = W(p + "attn_v.weight"), wo = W(p + "attn_output.weight");
            std::vector<std::vector<double>> q(n), k(n), v(n);
            for (int64_t t = 0; t < n; ++t) {
                const auto h = rmsnorm(x[t], W(p + "attn_norm.weight"));
                q[t] = matvec(wq, h, s.n_head * hd);
                k[t] = matvec(wk, h, s.n_head_kv * hd);
                v[t] = matvec(wv, h, s.n_head_kv * hd);
                if (s.qkv_bias) {
                    const auto bq = W(p + "attn_q.bias"), bk = W(p + "attn_k.bias"),
                               bv = W(p + "attn_v.bias");
                    for (size_t i = 0; i < q[t].size(); ++i) q[t][i] += bq[i];
                    for (size_t i = 0; i < k[t].size(); ++i) k[t][i] += bk[i];
                    for (size_t i = 0; i < v[t].size(); ++i) v[t][i] += bv[i];
                }
                rope(q[t], s.n_head, t);
                rope(k[t], s.n_head_kv, t);
            }
            for (int64_t t = 0; t < n; ++t) {
                std::vector<double> attn(s.n_head * hd, 0.0);
                for (int64_t h = 0; h < s.n_head; ++h) {
                    const int64_t kvh = h / (s.n_head / s.n_head_kv);
                    std::vector<double> score(t + 1);
                    double mx = -1e300, sum = 0;
                    for (int64_t j = 0; j <= t; ++j) {
                        double dot = 0;
                        for (int64_t i = 0; i < hd; ++i) dot += q[t][h * hd + i] * k[j][kvh * hd + i];
                        score[j] = dot / std::sqrt(double(hd));
                        mx = std::max(mx, score[j]);
                    }
                    for (auto& sc : score) sum += (sc = std::exp(sc - mx));
                    for (int64_t j = 0; j <= t; ++j)
                        for (int64_t i = 0; i < hd; ++i)
                            attn[h * hd + i] += score[j] / sum * v[j][kvh * hd + i];
                }
                const auto o = matvec(wo, attn, d);
                for (int64_t i = 0; i < d; ++i) x[t][i] += o[i];
            }
            const auto wg = W(p + "ffn_gate.weight"), wu = W(p + "ffn_up.weight"),
                       wd = W(p + "ffn_down.weight");
            for (int64_t t = 0; t < n; ++t) {
                const auto h = rmsnorm(x[t], W(p + "ffn_norm.weight"));
                auto g = matvec(wg, h, s.n_ff);
                const auto u = matvec(wu, h, s.n_ff);
                for (int64_t i = 0; i < s.n_ff; ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
                const auto o = matvec(wd, g, d);
                for (int64_t i = 0; i < d; ++i) x[t][i] += o[i];
            }
        }
        const auto out_w = W(s.tied_output ? "token_embd.weight" : "output.weight");
        std::vector<double> logits;
        for (int64_t t = 0; t < n; ++t) {
            const auto h = rmsnorm(x[t], W("output_norm.weight"));
            const auto row = matvec(out_w, h, s.n_vocab);
            logits.insert(logits.end(), row.begin(), row.end());
        }
        return logits;
    }

private:
    void add(const std::string& name, std::vector<int64_t> dims, float scale, float offset = 0) {
        int64_t n = 1;
        for (int64_t d : dims) n *= d;
        std::normal_distribution<float> dist(0.0f, 1.0f);
        TinyTensor t{dims, std::vector<float>(n)};
        const float fan_in = dims.size() >= 2 ? std::sqrt(float(dims[0])) : 1.0f;
        for (auto& v : t.values) v = offset + scale * dist(rng_) / (dims.size() >= 2 ? fan_in / 4 : 1);
        tensors_[name] = std::move(t);
    }

    TinySpec spec_;
    std::mt19937 rng_;
    std::map<std::string, TinyTensor> tensors_;
};

}  // namespace uma::test
