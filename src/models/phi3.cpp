// Phi-3 / Phi-3.5: fused q/k/v projection, fused gate+up feed-forward, NeoX rotary embeddings
// with long-rope factors (short factors within the original context, long ones beyond it).
#include <cmath>

#include "families.h"
#include "transformer.h"

namespace uma {
namespace {

class Phi3Model final : public PreNormDecoder {
public:
    Phi3Model(std::unique_ptr<GgufFile> file, ModelConfig config)
        : PreNormDecoder(std::move(file), std::move(config)) {
        ModelConfig& c = config_;
        c.rope.style = RopeStyle::NeoX;
        const int64_t n_ctx_orig =
            file_->get_int("phi3.rope.scaling.original_context_length", c.n_ctx_train);
        short_factors_ = loader_.optional_vector("rope_factors_short.weight", c.rope.n_rot / 2);
        long_factors_ = loader_.optional_vector("rope_factors_long.weight", c.rope.n_rot / 2);
        // The factors for the context the model was trained to: long ones past the original.
        c.rope.freq_factors = c.n_ctx_train > n_ctx_orig && long_factors_ ? long_factors_
                                                                            : short_factors_;
        if (c.n_ctx_train > n_ctx_orig && n_ctx_orig > 0) {
            const double scale = double(c.n_ctx_train) / double(n_ctx_orig);
            c.rope.attn_factor = static_cast<float>(
                file_->get_float("phi3.rope.scaling.attn_factor",
                                 std::sqrt(1.0 + std::log(scale) / std::log(double(n_ctx_orig)))));
        }
        load_layers(true);
        attention_options_.window = file_->get_int("phi3.attention.sliding_window", 0);
    }

private:
    const float* short_factors_ = nullptr;
    const float* long_factors_ = nullptr;
};

}  // namespace

std::unique_ptr<Model> make_phi3(std::unique_ptr<GgufFile> file, ModelConfig config) {
    return std::make_unique<Phi3Model>(std::move(file), std::move(config));
}

}  // namespace uma
