// The Qwen family: Qwen2/2.5 (q/k/v biases), Qwen3 (per-head q/k RMS norms, no biases), and their
// mixtures of experts Qwen2-MoE (shared expert behind a sigmoid gate, un-normalised top-k weights)
// and Qwen3-MoE (normalised top-k weights). All use NeoX-style rotary embeddings.
#include "families.h"
#include "transformer.h"

namespace uma {
namespace {

class QwenModel final : public PreNormDecoder {
public:
    QwenModel(std::unique_ptr<GgufFile> file, ModelConfig config)
        : PreNormDecoder(std::move(file), std::move(config)) {
        config_.rope.style = RopeStyle::NeoX;
        const std::string a = config_.architecture + ".";
        routing_.normalize =
            file_->get_bool(a + "expert_weights_norm", config_.architecture == "qwen3moe");
        load_layers(false);
    }
};

}  // namespace

std::unique_ptr<Model> make_qwen(std::unique_ptr<GgufFile> file, ModelConfig config) {
    return std::make_unique<QwenModel>(std::move(file), std::move(config));
}

}  // namespace uma
