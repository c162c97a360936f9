#pragma once
// `uma fit`: how much memory a model needs at a given context, whether a machine has it, and how
// fast it will run there (the roofline: the slower of memory bandwidth and compute).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uma/core/ggml_type.h"
#include "uma/runtime/machine_info.h"

namespace uma {

class Model;

// The numbers memory and speed depend on, from a GGUF file or from the built-in catalogue.
struct ModelShape {
    std::string name;
    std::string architecture;
    int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, head_dim_v = 0;
    int64_t n_ff = 0, n_vocab = 0, n_ctx_train = 0, n_expert = 0, n_expert_used = 0;
    double parameters = 0;             // all weights
    double active_parameters = 0;      // weights one token uses (MoE: the chosen experts only)
    uint64_t file_bytes = 0;           // the mapped file: resident once every weight has been read
    uint64_t active_weight_bytes = 0;  // read per generated token
    GgmlType weight_type = GgmlType::Q4_K;  // the type most weight bytes are in
    std::string quant;                      // "Q4_K_M", ...
};

ModelShape shape_of(const Model& model, const std::string& name);

// Popular models by architecture hyperparameters (no download), sized for a quantization.
struct CatalogueModel {
    std::string_view name;
    std::string_view architecture;
    int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx_train;
    bool tied_embeddings;
    int64_t n_expert = 0, n_expert_used = 0;
};
const std::vector<CatalogueModel>& model_catalogue();
// Average bits per weight of a quantization as llama.cpp writes it ("Q4_K_M" 4.85, "Q8_0" 8.5).
double bits_per_weight(std::string_view quant);
std::vector<std::string> catalogue_quants();
ModelShape catalogue_shape(const CatalogueModel& model, std::string_view quant);

struct FitOptions {
    int64_t n_ctx = 4096;
    int64_t parallel = 1;  // sequences served at once, each with its own KV cache
    GgmlType kv_type = GgmlType::F16;
    int threads = 1;
    int64_t batch = 512;  // tokens per forward pass during prompt processing
};

// Memory that is not the model's: uma's code, libraries and heap (measured in this process after
// running a toy model through the real forward pass), plus each worker thread's stack and arena.
struct RuntimeOverhead {
    uint64_t base = 0;
    uint64_t per_thread = 0;
    static RuntimeOverhead measure_this_process(int threads);
    static RuntimeOverhead typical();  // for other machines: a typical build's figures
};

struct MemoryEstimate {
    uint64_t weights = 0;
    uint64_t kv_cache = 0;
    uint64_t compute = 0;  // activations and scratch of one forward pass, logits, tokenizer
    uint64_t runtime = 0;
    uint64_t total() const { return weights + kv_cache + compute + runtime; }
};

uint64_t kv_cache_bytes(const ModelShape& shape, int64_t n_ctx, GgmlType kv_type);
MemoryEstimate estimate_memory(const ModelShape& shape, const FitOptions& options,
                               const RuntimeOverhead& overhead);

struct FitVerdict {
    enum class Kind { Fits, FitsWithLessContext, DoesNotFit } kind = Kind::DoesNotFit;
    int64_t max_ctx = 0;  // the largest context that fits (up to the one asked for)
    MemoryEstimate memory;
};
// Against `budget` bytes: the asked context, else the largest that fits (at least 256 tokens).
FitVerdict check_fit(const ModelShape& shape, const FitOptions& options,
                     const RuntimeOverhead& overhead, uint64_t budget);

struct SpeedEstimate {
    double generate_tokens_per_second = 0;
    double prompt_tokens_per_second = 0;
    bool generate_memory_bound = true;  // bandwidth, not compute, is the limit
};
// Generation at `n_ctx_filled` tokens already in the context.
SpeedEstimate estimate_speed(const ModelShape& shape, const MachineInfo& machine,
                             int64_t n_ctx_filled, GgmlType kv_type);

}  // namespace uma
