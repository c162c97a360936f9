// Gemma 2 and Gemma 3: embeddings scaled by sqrt(n_embd), GeGLU feed-forward, norms after
// attention and after the feed-forward as well as before, sliding-window layers interleaved with
// global ones, and tied output embeddings. Gemma 2 soft-caps attention scores and final logits;
// Gemma 3 normalises q and k per head and gives its sliding layers their own RoPE base.
#include <cmath>

#include "families.h"
#include "transformer.h"

namespace uma {
namespace {

class GemmaModel final : public TransformerModel {
public:
    GemmaModel(std::unique_ptr<GgufFile> file, ModelConfig config)
        : TransformerModel(std::move(file), std::move(config)) {
        ModelConfig& c = config_;
        const std::string a = c.architecture + ".";
        const bool gemma3 = c.architecture == "gemma3";
        c.rope.style = RopeStyle::NeoX;
        load_output_head();
        final_softcap_ = static_cast<float>(file_->get_float(a + "final_logit_softcapping", 0.0));
        const int64_t window = file_->get_int(a + "attention.sliding_window", 0);
        // The reference derives the query scale from the model size: the 27B models scale by
        // n_embd / n_head, the others by the head size.
        const bool is_27b = c.n_layer == (gemma3 ? 62 : 46);
        const float scale =
            1.0f / std::sqrt(float(is_27b ? c.n_embd / c.n_head : c.head_dim));
        local_rope_ = c.rope;
        if (gemma3) {
            local_rope_.freq_base = static_cast<float>(file_->get_float(a + "rope.freq_base_swa", 10000.0));
            local_rope_.freq_scale = 1.0f;
        }
        for (int64_t l = 0; l < c.n_layer; ++l) {
            Layer L;
            L.attention = load_attention(l);
            L.ffn = load_ffn(l);
            L.post_attention_norm = loader_.vector(WeightLoader::layer_tensor(l, "post_attention_norm.weight"), c.n_embd);
            L.post_ffn_norm = loader_.vector(WeightLoader::layer_tensor(l, "post_ffw_norm.weight"), c.n_embd);
            // Gemma 2 alternates sliding and global layers; Gemma 3 has one global layer in six.
            const bool sliding = gemma3 ? (l + 1) % 6 != 0 : l % 2 == 0;
            L.options.scale = scale;
            L.options.softcap = static_cast<float>(file_->get_float(a + "attn_logit_softcapping", 0.0));
            L.options.window = sliding ? window : 0;
            L.options.rope = sliding && gemma3 ? &local_rope_ : &config_.rope;
            layers_.push_back(L);
        }
    }

protected:
    std::vector<KvCache::LayerShape> cache_shape() const override {
        auto shape = TransformerModel::cache_shape();
        for (size_t l = 0; l < shape.size(); ++l) shape[l].window = layers_[l].options.window;
        return shape;
    }

    void embed(ForwardPass& pass) override {
        TransformerModel::embed(pass);
        const float scale = std::sqrt(static_cast<float>(config_.n_embd));
        for (float& v : pass.x) v *= scale;
    }

    void layer(int64_t index, ForwardPass& pass) override {
        const Layer& L = layers_[index];
        const int64_t size = pass.n * config_.n_embd;
        float* h = pass.scratch.get(Scratch::h, size);
        float* delta = pass.scratch.get(Scratch::delta, size);
        // x += post_norm(attention(norm(x)))
        norm(pass, pass.x.data(), L.attention.norm, h);
        attention(pass, index, L.attention, h, delta, L.options);
        norm(pass, delta, L.post_attention_norm, h);
        add_in_place(pass.x.data(), h, size);
        // x += post_norm(geglu_ffn(norm(x)))
        norm(pass, pass.x.data(), L.ffn.norm, h);
        feed_forward(pass, L.ffn, h, delta, true);
        norm(pass, delta, L.post_ffn_norm, h);
        add_in_place(pass.x.data(), h, size);
    }

private:
    struct Layer {
        AttentionWeights attention;
        FfnWeights ffn;
        const float* post_attention_norm = nullptr;
        const float* post_ffn_norm = nullptr;
        AttentionOptions options;
    };
    std::vector<Layer> layers_;
    RopeParams local_rope_;
};

}  // namespace

std::unique_ptr<Model> make_gemma(std::unique_ptr<GgufFile> file, ModelConfig config) {
    return std::make_unique<GemmaModel>(std::move(file), std::move(config));
}

}  // namespace uma
