#include "uma/runtime/fit.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "uma/core/error.h"
#include "uma/core/gguf.h"
#include "uma/models/model.h"

namespace uma {
namespace {

// Bytes of `n` elements of `type`, also when n is not a whole number of blocks (estimates).
double element_bytes(GgmlType type, double n) {
    const TypeTraits& t = traits(type);
    return n * double(t.type_size) / double(t.block_size);
}

struct QuantBits {
    std::string_view name;
    double bits;
    GgmlType main_type;
};

// llama.cpp's files average these bits per weight (embeddings and output kept at higher
// precision included), measured on Llama-family files.
constexpr QuantBits kQuantBits[] = {
    {"Q2_K", 3.35, GgmlType::Q2_K},   {"Q3_K_M", 3.91, GgmlType::Q3_K},
    {"Q4_0", 4.55, GgmlType::Q4_0},   {"IQ4_XS", 4.46, GgmlType::IQ4_XS},
    {"Q4_K_M", 4.85, GgmlType::Q4_K}, {"Q5_K_M", 5.69, GgmlType::Q5_K},
    {"Q6_K", 6.59, GgmlType::Q6_K},   {"Q8_0", 8.5, GgmlType::Q8_0},
    {"F16", 16.0, GgmlType::F16},
};

const QuantBits& find_quant(std::string_view quant) {
    std::string upper(quant);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const auto& q : kQuantBits)
        if (q.name == upper) return q;
    std::string names;
    for (const auto& q : kQuantBits) names += (names.empty() ? "" : ", ") + std::string(q.name);
    throw Error("unknown quantization '" + std::string(quant) + "' (known: " + names + ")");
}

}  // namespace

ModelShape shape_of(const Model& model, const std::string& name) {
    const ModelConfig& c = model.config();
    ModelShape s;
    s.name = name;
    s.architecture = c.architecture;
    s.n_embd = c.n_embd;
    s.n_layer = c.n_layer;
    s.n_head = c.n_head;
    s.n_head_kv = c.n_head_kv;
    s.head_dim = c.head_dim;
    s.head_dim_v = c.head_dim_v;
    s.n_ff = c.n_ff;
    s.n_vocab = c.n_vocab;
    s.n_ctx_train = c.n_ctx_train;
    s.n_expert = c.n_expert;
    s.n_expert_used = c.n_expert_used;
    s.parameters = double(model.parameter_count());
    s.active_parameters = double(model.active_parameter_count());
    s.file_bytes = model.file().file_size();
    s.active_weight_bytes = model.active_weight_bytes();
    std::map<GgmlType, size_t> bytes_by_type;
    for (const auto& t : model.file().tensors())
        if (t.dims.size() >= 2) bytes_by_type[t.type] += t.n_bytes;
    size_t most = 0;
    for (const auto& [type, bytes] : bytes_by_type)
        if (bytes > most) most = bytes, s.weight_type = type;
    s.quant = std::string(type_name(s.weight_type));
    return s;
}

const std::vector<CatalogueModel>& model_catalogue() {
    // name, architecture, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab,
    // n_ctx_train, tied embeddings, experts, experts used: from each model's config.json.
    static const std::vector<CatalogueModel> models = {
        {"qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 64, 4864, 151936, 32768, true},
        {"llama-3.2-1b", "llama", 2048, 16, 32, 8, 64, 8192, 128256, 131072, true},
        {"tinyllama-1.1b", "llama", 2048, 22, 32, 4, 64, 5632, 32000, 2048, false},
        {"qwen2.5-1.5b", "qwen2", 1536, 28, 12, 2, 128, 8960, 151936, 32768, true},
        {"llama-3.2-3b", "llama", 3072, 28, 24, 8, 128, 8192, 128256, 131072, true},
        {"phi-3.5-mini", "phi3", 3072, 32, 32, 32, 96, 8192, 32064, 131072, false},
        {"mistral-7b", "llama", 4096, 32, 32, 8, 128, 14336, 32768, 32768, false},
        {"qwen2.5-7b", "qwen2", 3584, 28, 28, 4, 128, 18944, 152064, 32768, false},
        {"llama-3.1-8b", "llama", 4096, 32, 32, 8, 128, 14336, 128256, 131072, false},
        {"gemma-2-9b", "gemma2", 3584, 42, 16, 8, 256, 14336, 256000, 8192, true},
        {"mistral-nemo-12b", "llama", 5120, 40, 32, 8, 128, 14336, 131072, 131072, false},
        {"qwen2.5-14b", "qwen2", 5120, 48, 40, 8, 128, 13824, 152064, 32768, false},
        {"gemma-2-27b", "gemma2", 4608, 46, 32, 16, 128, 36864, 256000, 8192, true},
        {"qwen2.5-coder-32b", "qwen2", 5120, 64, 40, 8, 128, 27648, 152064, 32768, false},
        {"mixtral-8x7b", "llama", 4096, 32, 32, 8, 128, 14336, 32000, 32768, false, 8, 2},
        {"llama-3.3-70b", "llama", 8192, 80, 64, 8, 128, 28672, 128256, 131072, false},
        {"qwen2.5-72b", "qwen2", 8192, 80, 64, 8, 128, 29568, 152064, 32768, false},
    };
    return models;
}

double bits_per_weight(std::string_view quant) {
    return find_quant(quant).bits;
}

std::vector<std::string> catalogue_quants() {
    std::vector<std::string> out;
    for (const auto& q : kQuantBits) out.emplace_back(q.name);
    return out;
}

ModelShape catalogue_shape(const CatalogueModel& m, std::string_view quant) {
    const QuantBits& q = find_quant(quant);
    ModelShape s;
    s.name = std::string(m.name);
    s.architecture = std::string(m.architecture);
    s.n_embd = m.n_embd;
    s.n_layer = m.n_layer;
    s.n_head = m.n_head;
    s.n_head_kv = m.n_head_kv;
    s.head_dim = s.head_dim_v = m.head_dim;
    s.n_ff = m.n_ff;
    s.n_vocab = m.n_vocab;
    s.n_ctx_train = m.n_ctx_train;
    s.n_expert = m.n_expert;
    s.n_expert_used = m.n_expert_used;
    const double d = double(m.n_embd), q_dim = double(m.n_head * m.head_dim),
                 kv_dim = double(m.n_head_kv * m.head_dim);
    const double attention = d * q_dim * 2 + d * kv_dim * 2;
    const double experts = std::max<int64_t>(1, m.n_expert);
    const double used = m.n_expert > 0 ? double(m.n_expert_used) : 1;
    const double ffn_one = 3 * d * double(m.n_ff);
    const double embeddings = double(m.n_vocab) * d * (m.tied_embeddings ? 1 : 2);
    const double per_layer_fixed = attention + 2 * d + (m.n_expert > 0 ? d * experts : 0);
    s.parameters = embeddings + double(m.n_layer) * (per_layer_fixed + ffn_one * experts);
    // A token reads one embedding row, but the whole output matrix.
    s.active_parameters =
        double(m.n_vocab) * d + double(m.n_layer) * (per_layer_fixed + ffn_one * used);
    s.file_bytes = static_cast<uint64_t>(s.parameters * q.bits / 8);
    s.active_weight_bytes = static_cast<uint64_t>(s.active_parameters * q.bits / 8);
    s.weight_type = q.main_type;
    s.quant = std::string(q.name);
    return s;
}

RuntimeOverhead RuntimeOverhead::measure_this_process(int threads) {
    // Runs a toy model (one small layer) through the real forward pass with the real backend and
    // thread count, so that the code, libraries and allocator state a run needs are resident;
    // what this process holds afterwards, the toy model gone, is uma's own cost.
    {
        const int64_t d = 64, ff = 128, vocab = 32;
        GgufWriter w;
        w.set_string("general.architecture", "llama");
        w.set_u32("llama.context_length", 64);
        w.set_u32("llama.embedding_length", d);
        w.set_u32("llama.block_count", 1);
        w.set_u32("llama.feed_forward_length", ff);
        w.set_u32("llama.attention.head_count", 4);
        w.set_u32("llama.attention.head_count_kv", 4);
        w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        const std::vector<float> values(static_cast<size_t>(d * std::max(ff, vocab)), 0.01f);
        w.add_tensor("token_embd.weight", GgmlType::F32, {d, vocab}, values.data());
        w.add_tensor("output_norm.weight", GgmlType::F32, {d}, values.data());
        const std::string p = "blk.0.";
        w.add_tensor(p + "attn_norm.weight", GgmlType::F32, {d}, values.data());
        for (const char* m :
             {"attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight"})
            w.add_tensor(p + m, GgmlType::F32, {d, d}, values.data());
        w.add_tensor(p + "ffn_norm.weight", GgmlType::F32, {d}, values.data());
        w.add_tensor(p + "ffn_gate.weight", GgmlType::F32, {d, ff}, values.data());
        w.add_tensor(p + "ffn_up.weight", GgmlType::F32, {d, ff}, values.data());
        w.add_tensor(p + "ffn_down.weight", GgmlType::F32, {ff, d}, values.data());
        const auto path = std::filesystem::temp_directory_path() /
                          ("uma-fit-probe-" + std::to_string(::getpid()) + ".gguf");
        struct Remove {
            std::filesystem::path path;
            ~Remove() {
                std::error_code ec;
                std::filesystem::remove(path, ec);
            }
        } remove{path};
        w.write(path.string());
        auto model = load_model(path.string());
        auto backend = make_cpu_backend(std::max(1, threads));
        KvCache cache = model->make_cache(16, GgmlType::F16);
        std::vector<float> logits;
        const std::vector<TokenId> tokens = {1, 2, 3};
        model->forward(tokens, cache, *backend, logits, false);
    }
    RuntimeOverhead o;
    o.base = current_rss_bytes();
    // Each worker thread: its stack's touched pages and its malloc arena (about 190 KiB measured
    // with uma run; the toy run's threads are gone by now).
    o.per_thread = 256 * 1024;
    return o;
}

RuntimeOverhead RuntimeOverhead::typical() {
    return {16u << 20, 256 * 1024};
}

uint64_t kv_cache_bytes(const ModelShape& s, int64_t n_ctx, GgmlType kv_type) {
    const double k_row = element_bytes(kv_type, double(s.n_head_kv * s.head_dim));
    const double v_row = element_bytes(kv_type, double(s.n_head_kv * s.head_dim_v));
    return static_cast<uint64_t>(double(s.n_layer) * double(n_ctx) * (k_row + v_row));
}

MemoryEstimate estimate_memory(const ModelShape& s, const FitOptions& o,
                               const RuntimeOverhead& overhead) {
    MemoryEstimate m;
    // Weights are used in place from the mapped file; every page is read, so all are resident.
    m.weights = s.file_bytes;
    m.kv_cache = kv_cache_bytes(s, o.n_ctx, o.kv_type) *
                 static_cast<uint64_t>(std::max<int64_t>(1, o.parallel));
    // One forward pass over a batch: the residual stream, its norm, q/k/v, the attention output
    // and the two feed-forward halves, all floats; activations converted for quantized weights;
    // one row of logits per sequence; each thread's attention scores.
    const double b = double(std::min(o.batch, o.n_ctx));
    const double q_dim = double(s.n_head * s.head_dim), kv_dim = double(s.n_head_kv * s.head_dim);
    const double v_dim = double(s.n_head_kv * s.head_dim_v),
                 attn_dim = double(s.n_head * s.head_dim_v);
    const double floats =
        b * (2 * double(s.n_embd) + q_dim + kv_dim + v_dim + attn_dim + 2 * double(s.n_ff)) +
        double(s.n_vocab) * double(std::max<int64_t>(1, o.parallel)) +
        double(o.threads) * double(o.n_ctx + s.head_dim_v);
    const double converted = b * double(std::max(s.n_embd, s.n_ff)) * 1.125;
    // The vocabulary: the GGUF's token arrays as parsed metadata, and the tokenizer's tables.
    const double vocabulary = double(s.n_vocab) * 512;
    m.compute = static_cast<uint64_t>(floats * 4 + converted + vocabulary);
    m.runtime = overhead.base + overhead.per_thread * static_cast<uint64_t>(std::max(1, o.threads));
    return m;
}

FitVerdict check_fit(const ModelShape& s, const FitOptions& options,
                     const RuntimeOverhead& overhead, uint64_t budget) {
    FitVerdict v;
    v.memory = estimate_memory(s, options, overhead);
    if (v.memory.total() <= budget) {
        v.kind = FitVerdict::Kind::Fits;
        v.max_ctx = options.n_ctx;
        return v;
    }
    // The largest context (a multiple of 256) that fits, by bisection: memory grows with it.
    FitOptions o = options;
    int64_t lo = 0, hi = options.n_ctx / 256;
    while (lo < hi) {
        const int64_t mid = (lo + hi + 1) / 2;
        o.n_ctx = mid * 256;
        if (estimate_memory(s, o, overhead).total() <= budget)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (lo == 0) return v;
    v.kind = FitVerdict::Kind::FitsWithLessContext;
    v.max_ctx = lo * 256;
    o.n_ctx = v.max_ctx;
    v.memory = estimate_memory(s, o, overhead);
    return v;
}

SpeedEstimate estimate_speed(const ModelShape& s, const MachineInfo& machine, int64_t n_filled,
                             GgmlType kv_type) {
    SpeedEstimate e;
    // Attention reads every stored key and value and does 4 FLOPs per head dimension with each.
    const double attention_flops =
        4.0 * double(s.n_layer * s.n_head * s.head_dim) * double(n_filled);
    const double bytes =
        double(s.active_weight_bytes) + double(kv_cache_bytes(s, n_filled, kv_type));
    const double flops = 2 * s.active_parameters + attention_flops;
    const double memory_seconds = machine.bandwidth > 0 ? bytes / machine.bandwidth : 0;
    const double compute_seconds = machine.generate_flops > 0 ? flops / machine.generate_flops : 0;
    e.generate_memory_bound = memory_seconds >= compute_seconds;
    const double seconds = std::max(memory_seconds, compute_seconds);
    e.generate_tokens_per_second = seconds > 0 ? 1 / seconds : 0;
    // A prompt is processed in batches: the weights are read once per batch, so it is compute
    // that limits it.
    const double prompt_flops = 2 * s.active_parameters + attention_flops / 2;
    e.prompt_tokens_per_second = machine.prompt_flops > 0 ? machine.prompt_flops / prompt_flops : 0;
    return e;
}

}  // namespace uma
