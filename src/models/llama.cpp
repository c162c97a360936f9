// The llama family: Llama 2/3, Mistral, Codestral, TinyLlama, SmolLM, and Mixtral-style mixtures
// of experts (`llama` with ffn_gate_inp / *_exps tensors: softmax routing over the top-k experts).
#include "families.h"
#include "transformer.h"

namespace uma {
namespace {

class LlamaModel final : public PreNormDecoder {
public:
    LlamaModel(std::unique_ptr<GgufFile> file, ModelConfig config)
        : PreNormDecoder(std::move(file), std::move(config)) {
        config_.rope.style = RopeStyle::Normal;
        rope_freqs_ = loader_.optional_vector("rope_freqs.weight", config_.rope.n_rot / 2);
        config_.rope.freq_factors = rope_freqs_;  // llama3 rope scaling
        routing_.normalize = true;
        load_layers(false);
    }

private:
    const float* rope_freqs_ = nullptr;
};

}  // namespace

std::unique_ptr<Model> make_llama(std::unique_ptr<GgufFile> file, ModelConfig config) {
    return std::make_unique<LlamaModel>(std::move(file), std::move(config));
}

}  // namespace uma
