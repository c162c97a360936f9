#include "uma/models/model.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "families.h"
#include "uma/core/error.h"

namespace uma {
namespace {

using Factory = std::function<std::unique_ptr<Model>(std::unique_ptr<GgufFile>, ModelConfig)>;

const std::map<std::string, Factory>& registry() {
    static const std::map<std::string, Factory> factories = {
        {"llama", make_llama},  {"qwen2", make_qwen},    {"qwen2moe", make_qwen},
        {"qwen3", make_qwen},   {"qwen3moe", make_qwen}, {"phi3", make_phi3},
        {"gemma2", make_gemma}, {"gemma3", make_gemma},  {"deepseek2", make_deepseek2},
    };
    return factories;
}

}  // namespace

std::vector<std::string> supported_architectures() {
    std::vector<std::string> names;
    for (const auto& [name, factory] : registry()) names.push_back(name);
    return names;
}

ModelConfig read_config(const GgufFile& f) {
    ModelConfig c;
    c.architecture = f.get_string("general.architecture");
    if (c.architecture.empty())
        throw Error(f.path() + ": missing required metadata key 'general.architecture'");
    c.name = f.get_string("general.name");
    const std::string a = c.architecture + ".";
    c.n_embd = f.require_int(a + "embedding_length");
    c.n_layer = f.require_int(a + "block_count");
    c.n_head = f.require_int(a + "attention.head_count");
    c.n_head_kv = f.get_int(a + "attention.head_count_kv", c.n_head);
    c.n_ff = f.get_int(a + "feed_forward_length", 0);
    c.n_ctx_train = f.get_int(a + "context_length", 2048);
    if (c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 ||
        c.n_embd > (1 << 20) || c.n_layer > 4096 || c.n_head > 4096)
        throw Error(f.path() + ": implausible hyperparameters (embedding_length " +
                    std::to_string(c.n_embd) + ", block_count " + std::to_string(c.n_layer) +
                    ", head_count " + std::to_string(c.n_head) + ", head_count_kv " +
                    std::to_string(c.n_head_kv) + ")");
    if (c.n_head % c.n_head_kv != 0)
        throw Error(f.path() + ": head_count " + std::to_string(c.n_head) +
                    " is not a multiple of head_count_kv " + std::to_string(c.n_head_kv));
    c.head_dim = f.get_int(a + "attention.key_length", c.n_embd / c.n_head);
    c.head_dim_v = f.get_int(a + "attention.value_length", c.head_dim);
    c.norm_eps = static_cast<float>(f.get_float(a + "attention.layer_norm_rms_epsilon", 1e-5));
    c.n_expert = f.get_int(a + "expert_count", 0);
    c.n_expert_used = f.get_int(a + "expert_used_count", 0);

    // The embedding may have more rows than the tokenizer has tokens (padded vocabularies).
    if (const GgufTensorInfo* embd = f.find_tensor("token_embd.weight")) c.n_vocab = embd->dim(1);

    RopeParams& r = c.rope;
    r.n_rot = f.get_int(a + "rope.dimension_count", c.head_dim);
    if (r.n_rot <= 0 || r.n_rot > c.head_dim || r.n_rot % 2 != 0)
        throw Error(f.path() + ": rope.dimension_count " + std::to_string(r.n_rot) +
                    " does not fit the head size " + std::to_string(c.head_dim));
    r.freq_base = static_cast<float>(f.get_float(a + "rope.freq_base", 10000.0));
    const std::string scaling = f.get_string(a + "rope.scaling.type", "none");
    const double factor = f.get_float(a + "rope.scaling.factor", 0.0);
    if (const auto* scale = f.find(a + "rope.scale_linear"))
        r.freq_scale = static_cast<float>(1.0 / scale->as_float("rope.scale_linear"));
    if ((scaling == "linear" || scaling == "yarn") && factor > 0)
        r.freq_scale = static_cast<float>(1.0 / factor);
    if (scaling == "yarn") {
        r.ext_factor = 1.0f;
        r.n_ctx_orig = f.get_int(a + "rope.scaling.original_context_length", c.n_ctx_train);
        r.attn_factor = static_cast<float>(f.get_float(a + "rope.scaling.attn_factor", 1.0));
        r.beta_fast = static_cast<float>(f.get_float(a + "rope.scaling.yarn_beta_fast", 32.0));
        r.beta_slow = static_cast<float>(f.get_float(a + "rope.scaling.yarn_beta_slow", 1.0));
    } else if (scaling != "none" && scaling != "linear") {
        throw Error(f.path() + ": unsupported rope scaling type '" + scaling + "'");
    }
    return c;
}

std::unique_ptr<Model> load_model(const std::string& path) {
    auto file = GgufFile::open(path);
    const std::string architecture = file->get_string("general.architecture");
    if (architecture.empty())
        throw Error(path + ": missing required metadata key 'general.architecture'");
    const auto& factories = registry();
    const auto it = factories.find(architecture);
    if (it == factories.end()) {
        std::string known;
        for (const auto& name : supported_architectures())
            known += (known.empty() ? "" : ", ") + name;
        throw Error(path + ": unknown model architecture '" + architecture +
                    "' (uma supports: " + known + ")");
    }
    ModelConfig config = read_config(*file);
    return it->second(std::move(file), std::move(config));
}

std::vector<KvCache::LayerShape> Model::cache_shape() const {
    return std::vector<KvCache::LayerShape>(
        static_cast<size_t>(config_.n_layer),
        {config_.n_head_kv * config_.head_dim, config_.n_head_kv * config_.head_dim_v, 0,
         config_.n_head_kv});
}

KvCache Model::make_cache(int64_t n_ctx, GgmlType type) const {
    return KvCache(cache_shape(), n_ctx, type);
}

size_t Model::cache_bytes(int64_t n_ctx, GgmlType type) const {
    return KvCache::bytes_needed(cache_shape(), n_ctx, type);
}

double Model::expert_fraction() const {
    if (config_.n_expert <= 0 || config_.n_expert_used <= 0) return 1.0;
    return double(config_.n_expert_used) / double(config_.n_expert);
}

namespace {
bool is_expert_tensor(const std::string& name) {
    return name.find("_exps") != std::string::npos;
}
}  // namespace

int64_t Model::parameter_count() const {
    int64_t n = 0;
    for (const auto& t : file_->tensors()) n += t.n_elements();
    return n;
}

int64_t Model::active_parameter_count() const {
    double n = 0;
    for (const auto& t : file_->tensors())
        n += is_expert_tensor(t.name) ? double(t.n_elements()) * expert_fraction()
                                      : double(t.n_elements());
    return static_cast<int64_t>(std::llround(n));
}

size_t Model::weight_bytes() const {
    size_t n = 0;
    for (const auto& t : file_->tensors()) n += t.n_bytes;
    return n;
}

size_t Model::active_weight_bytes() const {
    double n = 0;
    for (const auto& t : file_->tensors())
        n += is_expert_tensor(t.name) ? double(t.n_bytes) * expert_fraction() : double(t.n_bytes);
    return static_cast<size_t>(std::llround(n));
}

}  // namespace uma
