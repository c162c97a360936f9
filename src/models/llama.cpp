// The llama family: Llama 2/3, Mistral, TinyLlama, SmolLM (`llama`) and Qwen2/2.5 (`qwen2`, with
// q/k/v biases and NeoX rotary embeddings). Pre-norm transformer with grouped-query attention and
// a SwiGLU feed-forward network.
#include <cmath>

#include "families.h"
#include "uma/core/error.h"
#include "weights.h"

namespace uma {
namespace {

struct LlamaLayer {
    const float* attn_norm;
    Weight wq, wk, wv, wo;
    const float *bq, *bk, *bv;  // qwen2 only
    const float* ffn_norm;
    Weight w_gate, w_up, w_down;
};

void add_in_place(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void add_bias(float* x, const float* bias, int64_t n_rows, int64_t n) {
    if (!bias) return;
    for (int64_t r = 0; r < n_rows; ++r) add_in_place(x + r * n, bias, n);
}

class LlamaModel final : public Model {
public:
    LlamaModel(std::unique_ptr<GgufFile> file, ModelConfig config)
        : Model(std::move(file), std::move(config)), loader_(*file_) {
        ModelConfig& c = config_;
        if (c.architecture == "qwen2") c.rope.style = RopeStyle::NeoX;
        if (c.n_expert > 0)
            throw Error(file_->path() + ": mixture-of-experts " + c.architecture +
                        " models are not supported yet");
        const int64_t q_dim = c.n_head * c.head_dim;
        const int64_t kv_dim = c.n_head_kv * c.head_dim;
        const int64_t v_dim = c.n_head_kv * c.head_dim_v;
        const GgufTensorInfo& embd = file_->require_tensor("token_embd.weight");
        if (c.n_vocab == 0) c.n_vocab = embd.dim(1);
        token_embd_ = loader_.matrix("token_embd.weight", c.n_embd, c.n_vocab);
        output_norm_ = loader_.vector("output_norm.weight", c.n_embd);
        output_ = loader_.optional_matrix("output.weight", c.n_embd, c.n_vocab);
        if (!output_.present()) output_ = token_embd_;  // tied embeddings
        rope_freqs_ = loader_.optional_vector("rope_freqs.weight", c.rope.n_rot / 2);
        c.rope.freq_factors = rope_freqs_;
        if (c.n_ff == 0) c.n_ff = file_->require_tensor("blk.0.ffn_gate.weight").dim(1);

        for (int64_t l = 0; l < c.n_layer; ++l) {
            const auto name = [l](const char* suffix) { return WeightLoader::layer_tensor(l, suffix); };
            LlamaLayer layer{};
            layer.attn_norm = loader_.vector(name("attn_norm.weight"), c.n_embd);
            layer.wq = loader_.matrix(name("attn_q.weight"), c.n_embd, q_dim);
            layer.wk = loader_.matrix(name("attn_k.weight"), c.n_embd, kv_dim);
            layer.wv = loader_.matrix(name("attn_v.weight"), c.n_embd, v_dim);
            layer.wo = loader_.matrix(name("attn_output.weight"), c.n_head * c.head_dim_v, c.n_embd);
            layer.bq = loader_.optional_vector(name("attn_q.bias"), q_dim);
            layer.bk = loader_.optional_vector(name("attn_k.bias"), kv_dim);
            layer.bv = loader_.optional_vector(name("attn_v.bias"), v_dim);
            layer.ffn_norm = loader_.vector(name("ffn_norm.weight"), c.n_embd);
            layer.w_gate = loader_.matrix(name("ffn_gate.weight"), c.n_embd, c.n_ff);
            layer.w_up = loader_.matrix(name("ffn_up.weight"), c.n_embd, c.n_ff);
            layer.w_down = loader_.matrix(name("ffn_down.weight"), c.n_ff, c.n_embd);
            layers_.push_back(layer);
        }
    }

    void forward(std::span<const TokenId> tokens, KvCache& cache, Backend& be,
                 std::vector<float>& logits, bool all_logits) override {
        const ModelConfig& c = config_;
        const int64_t n = static_cast<int64_t>(tokens.size());
        const int64_t pos0 = cache.size();
        if (n == 0) throw Error("forward pass over zero tokens");
        if (pos0 + n > cache.n_ctx())
            throw Error("context is full: " + std::to_string(pos0 + n) +
                        " tokens do not fit in a context of " + std::to_string(cache.n_ctx()));
        const int64_t d = c.n_embd, q_dim = c.n_head * c.head_dim;
        const int64_t kv_dim = c.n_head_kv * c.head_dim, v_dim = c.n_head_kv * c.head_dim_v;
        const int64_t attn_dim = c.n_head * c.head_dim_v;

        std::vector<int32_t> positions(n);
        std::vector<float> x(n * d), h(n * d), q(n * q_dim), k(n * kv_dim), v(n * v_dim),
            attn(n * attn_dim), gate(n * c.n_ff), up(n * c.n_ff);
        for (int64_t t = 0; t < n; ++t) {
            positions[t] = static_cast<int32_t>(pos0 + t);
            if (tokens[t] < 0 || tokens[t] >= c.n_vocab)
                throw Error("token id " + std::to_string(tokens[t]) + " is outside the vocabulary");
            be.get_row(token_embd_, tokens[t], x.data() + t * d);
        }

        for (int64_t l = 0; l < c.n_layer; ++l) {
            const LlamaLayer& L = layers_[l];
            // Attention: x += Wo · attention(rope(Wq·h), rope(Wk·h), Wv·h), h = norm(x)
            be.rms_norm(x.data(), L.attn_norm, n, d, c.norm_eps, h.data());
            be.matmul(L.wq, h.data(), n, q.data());
            be.matmul(L.wk, h.data(), n, k.data());
            be.matmul(L.wv, h.data(), n, v.data());
            add_bias(q.data(), L.bq, n, q_dim);
            add_bias(k.data(), L.bk, n, kv_dim);
            add_bias(v.data(), L.bv, n, v_dim);
            be.rope(q.data(), n, c.n_head, c.head_dim, positions.data(), c.rope);
            be.rope(k.data(), n, c.n_head_kv, c.head_dim, positions.data(), c.rope);
            be.store_rows(k.data(), n, kv_dim, cache.keys(l), pos0);
            be.store_rows(v.data(), n, v_dim, cache.values(l), pos0);
            AttentionArgs args;
            args.q = q.data();
            args.k = cache.keys(l);
            args.v = cache.values(l);
            args.out = attn.data();
            args.n_tokens = n;
            args.n_heads = c.n_head;
            args.n_kv_heads = c.n_head_kv;
            args.head_dim = c.head_dim;
            args.head_dim_v = c.head_dim_v;
            args.positions = positions.data();
            args.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
            be.attention(args);
            be.matmul(L.wo, attn.data(), n, h.data());
            add_in_place(x.data(), h.data(), n * d);

            // Feed-forward: x += W_down · (silu(W_gate·h) ⊙ W_up·h), h = norm(x)
            be.rms_norm(x.data(), L.ffn_norm, n, d, c.norm_eps, h.data());
            be.matmul(L.w_gate, h.data(), n, gate.data());
            be.matmul(L.w_up, h.data(), n, up.data());
            be.swiglu(gate.data(), up.data(), n * c.n_ff, gate.data());
            be.matmul(L.w_down, gate.data(), n, h.data());
            add_in_place(x.data(), h.data(), n * d);
        }
        cache.set_size(pos0 + n);

        const int64_t first = all_logits ? 0 : n - 1;
        const int64_t rows = n - first;
        be.rms_norm(x.data() + first * d, output_norm_, rows, d, c.norm_eps, h.data());
        logits.resize(static_cast<size_t>(rows * c.n_vocab));
        be.matmul(output_, h.data(), rows, logits.data());
    }

private:
    WeightLoader loader_;
    Weight token_embd_, output_;
    const float* output_norm_ = nullptr;
    const float* rope_freqs_ = nullptr;
    std::vector<LlamaLayer> layers_;
};

}  // namespace

std::unique_ptr<Model> make_llama_family(std::unique_ptr<GgufFile> file, ModelConfig config) {
    return std::make_unique<LlamaModel>(std::move(file), std::move(config));
}

}  // namespace uma
