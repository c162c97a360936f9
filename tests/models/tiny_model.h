#pragma once
// Builds small random-weight GGUF models with real tensor names, and a naive float64 forward pass
// to check uma against: an independent implementation written straight from the math.
#include <cmath>
#include <cstdint>
#include <algorithm>
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
    // qwen3 / gemma3: per-head RMS norms of q and k.
    bool qk_norm = false;
    // Mixture of experts (0: dense).
    int64_t n_expert = 0, n_expert_used = 0, n_ff_expert = 32, n_ff_shared = 0;
    bool shared_gate = false;
    bool normalize_expert_weights = true;
    // Gemma: scaled embeddings, post norms, GeGLU, soft-capping, sliding windows.
    float attn_softcap = 0, final_softcap = 0;
    int64_t window = 0;

    // DeepSeek2 multi-head latent attention and routing.
    int64_t kv_lora_rank = 16, q_lora_rank = 0, rope_dim = 8, nope_dim = 16, v_dim = 16;
    int64_t n_dense_lead = 0, n_expert_shared = 0;
    bool sigmoid_gating = false, selection_bias = false;
    float expert_scale = 1.0f;

    bool deepseek() const { return arch == "deepseek2"; }
    bool neox() const { return arch != "llama" && arch != "deepseek2"; }
    bool gemma() const { return arch == "gemma2" || arch == "gemma3"; }
    // Which layers use the sliding window (the reference implementation's patterns).
    bool sliding(int64_t layer) const {
        if (window <= 0) return false;
        return arch == "gemma3" ? (layer + 1) % 6 != 0 : layer % 2 == 0;
    }
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
            if (spec.deepseek()) {
                add_latent_attention(p);
                add_ffn(p, l);
                continue;
            }
            add(p + "attn_q.weight", {d, spec.n_head * hd}, 0.3f);
            add(p + "attn_k.weight", {d, spec.n_head_kv * hd}, 0.3f);
            add(p + "attn_v.weight", {d, spec.n_head_kv * hd}, 0.3f);
            if (spec.qkv_bias) {
                add(p + "attn_q.bias", {spec.n_head * hd}, 0.2f);
                add(p + "attn_k.bias", {spec.n_head_kv * hd}, 0.2f);
                add(p + "attn_v.bias", {spec.n_head_kv * hd}, 0.2f);
            }
            if (spec.qk_norm) {
                add(p + "attn_q_norm.weight", {hd}, 0.2f, 1.0f);
                add(p + "attn_k_norm.weight", {hd}, 0.2f, 1.0f);
            }
            add(p + "attn_output.weight", {spec.n_head * hd, d}, 0.3f);
            if (spec.gemma()) {
                add(p + "post_attention_norm.weight", {d}, 0.2f, 1.0f);
                add(p + "post_ffw_norm.weight", {d}, 0.2f, 1.0f);
            }
            add_ffn(p, l);
        }
    }

    void add_latent_attention(const std::string& p) {
        const TinySpec& s = spec_;
        const int64_t d = s.n_embd, qk = s.nope_dim + s.rope_dim;
        if (s.q_lora_rank > 0) {
            add(p + "attn_q_a.weight", {d, s.q_lora_rank}, 0.3f);
            add(p + "attn_q_a_norm.weight", {s.q_lora_rank}, 0.2f, 1.0f);
            add(p + "attn_q_b.weight", {s.q_lora_rank, s.n_head * qk}, 0.3f);
        } else {
            add(p + "attn_q.weight", {d, s.n_head * qk}, 0.3f);
        }
        add(p + "attn_kv_a_mqa.weight", {d, s.kv_lora_rank + s.rope_dim}, 0.3f);
        add(p + "attn_kv_a_norm.weight", {s.kv_lora_rank}, 0.2f, 1.0f);
        add(p + "attn_kv_b.weight", {s.kv_lora_rank, s.n_head * (s.nope_dim + s.v_dim)}, 0.3f);
        add(p + "attn_output.weight", {s.n_head * s.v_dim, d}, 0.3f);
    }

    void add_ffn(const std::string& p, int64_t l) {
        const TinySpec& spec = spec_;
        const int64_t d = spec.n_embd;
        {
            add(p + "ffn_norm.weight", {d}, 0.2f, 1.0f);
            const int64_t n_ff_shared =
                spec.deepseek() ? spec.n_ff_expert * spec.n_expert_shared : spec.n_ff_shared;
            if (spec.n_expert > 0 && l >= spec.n_dense_lead) {
                const int64_t e = spec.n_expert, f = spec.n_ff_expert;
                add(p + "ffn_gate_inp.weight", {d, e}, 1.0f);
                add(p + "ffn_gate_exps.weight", {d, f, e}, 0.3f);
                add(p + "ffn_up_exps.weight", {d, f, e}, 0.3f);
                add(p + "ffn_down_exps.weight", {f, d, e}, 0.3f);
                if (n_ff_shared > 0) {
                    add(p + "ffn_gate_shexp.weight", {d, n_ff_shared}, 0.3f);
                    add(p + "ffn_up_shexp.weight", {d, n_ff_shared}, 0.3f);
                    add(p + "ffn_down_shexp.weight", {n_ff_shared, d}, 0.3f);
                    if (spec.shared_gate) add(p + "ffn_gate_inp_shexp.weight", {d}, 0.3f);
                }
                if (spec.selection_bias) add(p + "exp_probs_b.bias", {e}, 0.3f);
            } else {
                add(p + "ffn_gate.weight", {d, spec.n_ff}, 0.3f);
                add(p + "ffn_up.weight", {d, spec.n_ff}, 0.3f);
                add(p + "ffn_down.weight", {spec.n_ff, d}, 0.3f);
            }
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
        if (spec_.n_expert > 0) {
            w.set_u32(a + "expert_count", static_cast<uint32_t>(spec_.n_expert));
            w.set_u32(a + "expert_used_count", static_cast<uint32_t>(spec_.n_expert_used));
            w.set_u32(a + "expert_feed_forward_length", static_cast<uint32_t>(spec_.n_ff_expert));
            if (spec_.n_ff_shared > 0)
                w.set_u32(a + "expert_shared_feed_forward_length",
                          static_cast<uint32_t>(spec_.n_ff_shared));
            w.set_bool(a + "expert_weights_norm", spec_.normalize_expert_weights);
        }
        if (spec_.deepseek()) {
            w.set_u32(a + "attention.key_length", static_cast<uint32_t>(spec_.nope_dim + spec_.rope_dim));
            w.set_u32(a + "attention.value_length", static_cast<uint32_t>(spec_.v_dim));
            w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(spec_.rope_dim));
            w.set_u32(a + "attention.kv_lora_rank", static_cast<uint32_t>(spec_.kv_lora_rank));
            if (spec_.q_lora_rank > 0)
                w.set_u32(a + "attention.q_lora_rank", static_cast<uint32_t>(spec_.q_lora_rank));
            w.set_u32(a + "leading_dense_block_count", static_cast<uint32_t>(spec_.n_dense_lead));
            w.set_u32(a + "expert_shared_count", static_cast<uint32_t>(spec_.n_expert_shared));
            w.set_u32(a + "expert_gating_func", spec_.sigmoid_gating ? 2 : 1);
            w.set_f32(a + "expert_weights_scale", spec_.expert_scale);
        }
        if (spec_.window > 0) w.set_u32(a + "attention.sliding_window", static_cast<uint32_t>(spec_.window));
        if (spec_.attn_softcap > 0) w.set_f32(a + "attn_logit_softcapping", spec_.attn_softcap);
        if (spec_.final_softcap > 0) w.set_f32(a + "final_logit_softcapping", spec_.final_softcap);
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
        using Vec = std::vector<double>;
        auto W = [&](const std::string& name) { return stored(name); };
        auto has = [&](const std::string& name) { return tensors_.count(name) > 0; };
        // y = W x for W stored as `rows` rows of x.size() columns, starting at `offset`.
        auto matvec = [](const Vec& w, const Vec& x, int64_t rows, size_t offset = 0) {
            const int64_t cols = static_cast<int64_t>(x.size());
            Vec y(rows, 0.0);
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) y[r] += w[offset + r * cols + c] * x[c];
            return y;
        };
        auto rmsnorm = [&](const Vec& x, const Vec& w, size_t begin = 0, size_t len = 0) {
            if (len == 0) len = x.size();
            Vec y = x;
            double ss = 0;
            for (size_t i = begin; i < begin + len; ++i) ss += x[i] * x[i];
            const double inv = 1.0 / std::sqrt(ss / double(len) + s.eps);
            for (size_t i = begin; i < begin + len; ++i) y[i] = x[i] * inv * w[i - begin];
            return y;
        };
        auto rope = [&](Vec& v, int64_t heads, int64_t pos, double base) {
            for (int64_t h = 0; h < heads; ++h)
                for (int64_t i = 0; i < hd / 2; ++i) {
                    const double theta = pos * std::pow(base, -2.0 * i / hd);
                    const int64_t a = h * hd + (s.neox() ? i : 2 * i);
                    const int64_t b = h * hd + (s.neox() ? i + hd / 2 : 2 * i + 1);
                    const double x0 = v[a], x1 = v[b];
                    v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
                    v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
                }
        };
        auto add = [](Vec& x, const Vec& y, double scale = 1.0) {
            for (size_t i = 0; i < x.size(); ++i) x[i] += scale * y[i];
        };
        auto gated = [&](const Vec& h, const Vec& gate, const Vec& up, const Vec& down, int64_t f,
                         size_t gate_off, size_t down_off) {
            Vec g = matvec(gate, h, f, gate_off);
            const Vec u = matvec(up, h, f, gate_off);
            for (int64_t i = 0; i < f; ++i) {
                const double act = s.gemma()
                    ? 0.5 * g[i] * (1 + std::tanh(std::sqrt(2 / M_PI) * (g[i] + 0.044715 * g[i] * g[i] * g[i])))
                    : g[i] / (1 + std::exp(-g[i]));
                g[i] = act * u[i];
            }
            Vec out(d, 0.0);
            for (int64_t r = 0; r < d; ++r)
                for (int64_t c = 0; c < f; ++c) out[r] += down[down_off + r * f + c] * g[c];
            return out;
        };

        const auto embd = W("token_embd.weight");
        std::vector<Vec> x(n);
        for (int64_t t = 0; t < n; ++t) {
            x[t].assign(embd.begin() + tokens[t] * d, embd.begin() + (tokens[t] + 1) * d);
            if (s.gemma())
                for (auto& v : x[t]) v *= std::sqrt(double(d));
        }
        for (int64_t l = 0; l < s.n_layer; ++l) {
            const std::string p = "blk." + std::to_string(l) + ".";
            const bool sliding = s.sliding(l);
            const double base = (s.arch == "gemma3" && sliding) ? 10000.0 : double(s.rope_base);
            if (s.deepseek()) {
                latent_attention_reference(p, x);
            } else {
            const auto wq = W(p + "attn_q.weight"), wk = W(p + "attn_k.weight"),
                       wv = W(p + "attn_v.weight"), wo = W(p + "attn_output.weight");
            std::vector<Vec> q(n), k(n), v(n);
            for (int64_t t = 0; t < n; ++t) {
                const auto h = rmsnorm(x[t], W(p + "attn_norm.weight"));
                q[t] = matvec(wq, h, s.n_head * hd);
                k[t] = matvec(wk, h, s.n_head_kv * hd);
                v[t] = matvec(wv, h, s.n_head_kv * hd);
                if (s.qkv_bias) {
                    add(q[t], W(p + "attn_q.bias"));
                    add(k[t], W(p + "attn_k.bias"));
                    add(v[t], W(p + "attn_v.bias"));
                }
                if (s.qk_norm) {
                    for (int64_t h2 = 0; h2 < s.n_head; ++h2) q[t] = rmsnorm(q[t], W(p + "attn_q_norm.weight"), h2 * hd, hd);
                    for (int64_t h2 = 0; h2 < s.n_head_kv; ++h2) k[t] = rmsnorm(k[t], W(p + "attn_k_norm.weight"), h2 * hd, hd);
                }
                rope(q[t], s.n_head, t, base);
                rope(k[t], s.n_head_kv, t, base);
            }
            for (int64_t t = 0; t < n; ++t) {
                Vec attn(s.n_head * hd, 0.0);
                const int64_t first = sliding ? std::max<int64_t>(0, t - s.window + 1) : 0;
                for (int64_t h = 0; h < s.n_head; ++h) {
                    const int64_t kvh = h / (s.n_head / s.n_head_kv);
                    Vec score(t + 1, -1e300);
                    double mx = -1e300, sum = 0;
                    for (int64_t j = first; j <= t; ++j) {
                        double dot = 0;
                        for (int64_t i = 0; i < hd; ++i) dot += q[t][h * hd + i] * k[j][kvh * hd + i];
                        score[j] = dot / std::sqrt(double(hd));
                        if (s.attn_softcap > 0) score[j] = s.attn_softcap * std::tanh(score[j] / s.attn_softcap);
                        mx = std::max(mx, score[j]);
                    }
                    for (int64_t j = first; j <= t; ++j) sum += (score[j] = std::exp(score[j] - mx));
                    for (int64_t j = first; j <= t; ++j)
                        for (int64_t i = 0; i < hd; ++i)
                            attn[h * hd + i] += score[j] / sum * v[j][kvh * hd + i];
                }
                auto o = matvec(wo, attn, d);
                if (s.gemma()) o = rmsnorm(o, W(p + "post_attention_norm.weight"));
                add(x[t], o);
            }
            }
            for (int64_t t = 0; t < n; ++t) {
                const auto h = rmsnorm(x[t], W(p + "ffn_norm.weight"));
                Vec o(d, 0.0);
                if (s.n_expert > 0 && l >= s.n_dense_lead) {
                    const auto router = matvec(W(p + "ffn_gate_inp.weight"), h, s.n_expert);
                    Vec prob(s.n_expert), choice(s.n_expert);
                    if (s.sigmoid_gating) {
                        for (int64_t e = 0; e < s.n_expert; ++e) prob[e] = 1 / (1 + std::exp(-router[e]));
                    } else {
                        double mx = *std::max_element(router.begin(), router.end()), z = 0;
                        for (int64_t e = 0; e < s.n_expert; ++e) z += (prob[e] = std::exp(router[e] - mx));
                        for (auto& pr : prob) pr /= z;
                    }
                    const Vec bias = s.selection_bias ? W(p + "exp_probs_b.bias") : Vec(s.n_expert, 0.0);
                    for (int64_t e = 0; e < s.n_expert; ++e) choice[e] = prob[e] + bias[e];
                    std::vector<int64_t> order(s.n_expert);
                    for (int64_t e = 0; e < s.n_expert; ++e) order[e] = e;
                    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return choice[a] > choice[b]; });
                    double chosen = 0;
                    for (int64_t i = 0; i < s.n_expert_used; ++i) chosen += prob[order[i]];
                    const auto ge = W(p + "ffn_gate_exps.weight"), ue = W(p + "ffn_up_exps.weight"),
                               de = W(p + "ffn_down_exps.weight");
                    for (int64_t i = 0; i < s.n_expert_used; ++i) {
                        const int64_t e = order[i];
                        const double weight =
                            s.expert_scale * (s.normalize_expert_weights ? prob[e] / chosen : prob[e]);
                        const auto out = gated(h, ge, ue, de, s.n_ff_expert, e * s.n_ff_expert * d,
                                               e * d * s.n_ff_expert);
                        add(o, out, weight);
                    }
                    const int64_t n_ff_shared =
                        s.deepseek() ? s.n_ff_expert * s.n_expert_shared : s.n_ff_shared;
                    if (n_ff_shared > 0) {
                        const auto out = gated(h, W(p + "ffn_gate_shexp.weight"), W(p + "ffn_up_shexp.weight"),
                                               W(p + "ffn_down_shexp.weight"), n_ff_shared, 0, 0);
                        double gate = 1.0;
                        if (s.shared_gate) {
                            const auto g = W(p + "ffn_gate_inp_shexp.weight");
                            double dot = 0;
                            for (int64_t i = 0; i < d; ++i) dot += g[i] * h[i];
                            gate = 1.0 / (1.0 + std::exp(-dot));
                        }
                        add(o, out, gate);
                    }
                } else {
                    o = gated(h, W(p + "ffn_gate.weight"), W(p + "ffn_up.weight"),
                              W(p + "ffn_down.weight"), s.n_ff, 0, 0);
                }
                if (s.gemma()) o = rmsnorm(o, W(p + "post_ffw_norm.weight"));
                add(x[t], o);
            }
        }
        const auto out_w = W(has("output.weight") ? "output.weight" : "token_embd.weight");
        std::vector<double> logits;
        for (int64_t t = 0; t < n; ++t) {
            const auto h = rmsnorm(x[t], W("output_norm.weight"));
            auto row = matvec(out_w, h, s.n_vocab);
            if (s.final_softcap > 0)
                for (auto& v2 : row) v2 = s.final_softcap * std::tanh(v2 / s.final_softcap);
            logits.insert(logits.end(), row.begin(), row.end());
        }
        return logits;
    }

    // DeepSeek2's attention written the plain way: per-head keys and values expanded from the
    // latent vector (no absorption), which is what uma's latent-space attention must equal.
    void latent_attention_reference(const std::string& p, std::vector<std::vector<double>>& x) const {
        const TinySpec& s = spec_;
        const int64_t n = static_cast<int64_t>(x.size()), d = s.n_embd, H = s.n_head;
        const int64_t qk = s.nope_dim + s.rope_dim, r = s.kv_lora_rank;
        using Vec = std::vector<double>;
        auto matvec = [](const Vec& w, const Vec& v, int64_t rows) {
            Vec y(rows, 0.0);
            for (int64_t i = 0; i < rows; ++i)
                for (size_t c = 0; c < v.size(); ++c) y[i] += w[i * v.size() + c] * v[c];
            return y;
        };
        auto rmsnorm = [&](const Vec& v, const Vec& w) {
            double ss = 0;
            for (double a : v) ss += a * a;
            const double inv = 1 / std::sqrt(ss / double(v.size()) + s.eps);
            Vec y(v.size());
            for (size_t i = 0; i < v.size(); ++i) y[i] = v[i] * inv * w[i];
            return y;
        };
        auto rope = [&](double* v, int64_t pos) {  // normal (interleaved) style
            for (int64_t i = 0; i < s.rope_dim / 2; ++i) {
                const double theta = pos * std::pow(double(s.rope_base), -2.0 * i / s.rope_dim);
                const double a = v[2 * i], b = v[2 * i + 1];
                v[2 * i] = a * std::cos(theta) - b * std::sin(theta);
                v[2 * i + 1] = a * std::sin(theta) + b * std::cos(theta);
            }
        };
        std::vector<Vec> q(n), k(n), v(n);
        for (int64_t t = 0; t < n; ++t) {
            const Vec h = rmsnorm(x[t], stored(p + "attn_norm.weight"));
            q[t] = s.q_lora_rank > 0
                       ? matvec(stored(p + "attn_q_b.weight"),
                                rmsnorm(matvec(stored(p + "attn_q_a.weight"), h, s.q_lora_rank),
                                        stored(p + "attn_q_a_norm.weight")),
                                H * qk)
                       : matvec(stored(p + "attn_q.weight"), h, H * qk);
            const Vec kva = matvec(stored(p + "attn_kv_a_mqa.weight"), h, r + s.rope_dim);
            const Vec c = rmsnorm(Vec(kva.begin(), kva.begin() + r), stored(p + "attn_kv_a_norm.weight"));
            Vec k_pe(kva.begin() + r, kva.end());
            rope(k_pe.data(), t);
            const Vec kvb = matvec(stored(p + "attn_kv_b.weight"), c, H * (s.nope_dim + s.v_dim));
            k[t].assign(H * qk, 0.0);
            v[t].assign(H * s.v_dim, 0.0);
            for (int64_t h2 = 0; h2 < H; ++h2) {
                const double* src = kvb.data() + h2 * (s.nope_dim + s.v_dim);
                std::copy(src, src + s.nope_dim, k[t].begin() + h2 * qk);
                std::copy(k_pe.begin(), k_pe.end(), k[t].begin() + h2 * qk + s.nope_dim);
                std::copy(src + s.nope_dim, src + s.nope_dim + s.v_dim, v[t].begin() + h2 * s.v_dim);
                rope(q[t].data() + h2 * qk + s.nope_dim, t);
            }
        }
        const Vec wo = stored(p + "attn_output.weight");
        for (int64_t t = 0; t < n; ++t) {
            Vec attn(H * s.v_dim, 0.0);
            for (int64_t h2 = 0; h2 < H; ++h2) {
                Vec score(t + 1);
                double mx = -1e300, sum = 0;
                for (int64_t j = 0; j <= t; ++j) {
                    double dot = 0;
                    for (int64_t i = 0; i < qk; ++i) dot += q[t][h2 * qk + i] * k[j][h2 * qk + i];
                    score[j] = dot / std::sqrt(double(qk));
                    mx = std::max(mx, score[j]);
                }
                for (auto& sc : score) sum += (sc = std::exp(sc - mx));
                for (int64_t j = 0; j <= t; ++j)
                    for (int64_t i = 0; i < s.v_dim; ++i)
                        attn[h2 * s.v_dim + i] += score[j] / sum * v[j][h2 * s.v_dim + i];
            }
            const Vec o = matvec(wo, attn, d);
            for (int64_t i = 0; i < d; ++i) x[t][i] += o[i];
        }
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
