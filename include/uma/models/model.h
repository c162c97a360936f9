#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "uma/backends/backend.h"
#include "uma/core/gguf.h"
#include "uma/models/kv_cache.h"

namespace uma {

using TokenId = int32_t;

// Hyperparameters of a transformer, read from `<arch>.*` metadata keys.
struct ModelConfig {
    std::string architecture;
    std::string name;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;    // key/query head size
    int64_t head_dim_v = 0;  // value head size
    int64_t n_ff = 0;
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;
    float norm_eps = 1e-5f;
    RopeParams rope;
    // Mixture of experts (0 when dense).
    int64_t n_expert = 0;
    int64_t n_expert_used = 0;
};

// New tokens of one sequence in a batch: they take positions cache->size() onwards.
struct SequenceBatch {
    std::span<const TokenId> tokens;
    KvCache* cache = nullptr;
    bool all_logits = false;  // logits for every token, else for the last one only
};

// A loaded model: weights in place in the file mapping, and a forward pass over a batch of tokens.
class Model {
public:
    virtual ~Model() = default;

    const ModelConfig& config() const { return config_; }
    const GgufFile& file() const { return *file_; }

    // Runs the tokens of several sequences in one pass (the weights are read once for all of
    // them), storing their keys and values in each sequence's cache. `logits` receives, for each
    // sequence in order, one row of n_vocab per token (all_logits) or for its last token.
    virtual void forward_batch(std::span<const SequenceBatch> batch, Backend& backend,
                               std::vector<float>& logits) = 0;

    // One sequence: see forward_batch.
    void forward(std::span<const TokenId> tokens, KvCache& cache, Backend& backend,
                 std::vector<float>& logits, bool all_logits) {
        const SequenceBatch one{tokens, &cache, all_logits};
        forward_batch({&one, 1}, backend, logits);
    }

    // The matrices forward passes multiply with (each stack of experts as one Weight), for a
    // backend to prepare ahead of the first pass.
    virtual std::vector<Weight> matrices() const = 0;

    KvCache make_cache(int64_t n_ctx, GgmlType type) const;
    size_t cache_bytes(int64_t n_ctx, GgmlType type) const;
    // Parameters and bytes of all weights; "active" counts only what one token reads (MoE).
    int64_t parameter_count() const;
    int64_t active_parameter_count() const;
    size_t weight_bytes() const;
    size_t active_weight_bytes() const;

protected:
    Model(std::unique_ptr<GgufFile> file, ModelConfig config)
        : file_(std::move(file)), config_(std::move(config)) {}
    virtual std::vector<KvCache::LayerShape> cache_shape() const;
    // Fraction of expert tensors one token reads (n_expert_used / n_expert); 1 for dense models.
    virtual double expert_fraction() const;

    std::unique_ptr<GgufFile> file_;
    ModelConfig config_;
};

// Opens a GGUF file and builds the model for its architecture; fails with a clear error for an
// architecture uma does not know (listing those it does).
std::unique_ptr<Model> load_model(const std::string& path);
std::vector<std::string> supported_architectures();

}  // namespace uma
