#include "uma/runtime/synth.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numbers>
#include <vector>

#include "uma/backends/cpu/quant.h"
#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/error.h"
#include "uma/runtime/quantize_writer.h"

namespace uma {
namespace {

constexpr std::string_view kSpmVocab = "ggml-vocab-llama-spm.gguf";  // Llama 2 / Mistral, 32000
// A 100k byte-level BPE vocabulary. (ggml-vocab-dbrx.gguf, closer to Llama 3, stores a metadata
// key twice, which the GGUF reader rightly rejects.)
constexpr std::string_view kBpeVocab = "ggml-vocab-deepseek-llm.gguf";

// Sizes from the models' published configurations. Vocabularies without a GGUF in the shared data
// (Llama 3, Qwen2) use a BPE vocabulary of similar kind, with the embedding padded to the real
// size.
constexpr SynthShape kShapes[] = {
    {"tinyllama-1.1b", "llama", 2048, 22, 32, 4, 5632, 32000, 2048, 10000.0, 1e-5, false, 0,
     kSpmVocab},
    {"llama-3.2-1b", "llama", 2048, 16, 32, 8, 8192, 128256, 131072, 500000.0, 1e-5, true, 32,
     kBpeVocab},
    {"qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936, 32768, 1000000.0, 1e-6, true, 0,
     kBpeVocab},
    {"llama-3.1-8b", "llama", 4096, 32, 32, 8, 14336, 128256, 131072, 500000.0, 1e-5, false, 8,
     kBpeVocab},
    {"mistral-7b", "llama", 4096, 32, 32, 8, 14336, 32000, 32768, 1000000.0, 1e-5, false, 0,
     kSpmVocab},
    {"qwen2.5-coder-32b", "qwen2", 5120, 64, 40, 8, 27648, 152064, 32768, 1000000.0, 1e-6, false, 0,
     kBpeVocab},
    // Small shapes for tests: the whole file is a few megabytes.
    {"test-tiny", "llama", 256, 2, 4, 2, 768, 0, 512, 10000.0, 1e-5, false, 0, kSpmVocab},
    {"test-tiny-qwen2", "qwen2", 256, 2, 4, 2, 768, 0, 512, 1000000.0, 1e-6, true, 0, kSpmVocab},
};

// Distinct random rows generated per tensor; the rest of the tensor repeats them.
constexpr int64_t kPoolRows = 64;
constexpr float kWeightStd = 0.02f;

// splitmix64: fast, and good enough for weights nobody will train.
class Random {
  public:
    explicit Random(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    float uniform() { return float(next() >> 40) * (1.0f / float(1 << 24)) * 2.0f - 1.0f; }

  private:
    uint64_t state_;
};

uint64_t hash_name(const std::string& s, uint64_t seed) {
    uint64_t h = seed ^ 0xcbf29ce484222325ull;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

// Llama 3.1's frequency factors (convert_hf_to_gguf: low 1, high 4, original context 8192).
std::vector<float> llama3_rope_factors(int64_t n_rot, double base, double factor) {
    const double low_freq_factor = 1, high_freq_factor = 4, original_ctx = 8192;
    const double low_wavelen = original_ctx / low_freq_factor;
    const double high_wavelen = original_ctx / high_freq_factor;
    std::vector<float> factors;
    for (int64_t i = 0; i < n_rot; i += 2) {
        const double freq = 1.0 / std::pow(base, double(i) / double(n_rot));
        const double wavelen = 2 * std::numbers::pi / freq;
        double f = 1;
        if (wavelen > low_wavelen) {
            f = factor;
        } else if (wavelen >= high_wavelen) {
            const double smooth =
                (original_ctx / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
            f = 1 / ((1 - smooth) / factor + smooth);
        }
        factors.push_back(static_cast<float>(f));
    }
    return factors;
}

struct PlannedTensor {
    GgufStreamWriter::Tensor tensor;
    enum class Fill { Random, Ones, Given } fill = Fill::Random;
    float scale = kWeightStd;
    std::vector<float> values;  // Fill::Given
};

// Tensors in the order llama.cpp's converter writes them, typed by the scheme's mix.
std::vector<PlannedTensor> plan_tensors(const SynthShape& shape, const QuantScheme& scheme,
                                        int64_t n_vocab) {
    const std::string arch(shape.architecture);
    const int64_t head_dim = shape.n_embd / shape.n_head;
    std::vector<PlannedTensor> planned;
    const auto add = [&](std::string name, std::vector<int64_t> dims,
                         PlannedTensor::Fill fill = PlannedTensor::Fill::Random) {
        PlannedTensor t;
        t.tensor = {std::move(name), GgmlType::F32, std::move(dims)};
        t.fill = fill;
        planned.push_back(std::move(t));
    };
    const int64_t d = shape.n_embd, q_dim = shape.n_head * head_dim,
                  kv_dim = shape.n_head_kv * head_dim;
    add("token_embd.weight", {d, n_vocab});
    if (shape.llama3_rope_factor > 0) {
        add("rope_freqs.weight", {head_dim / 2}, PlannedTensor::Fill::Given);
        planned.back().values =
            llama3_rope_factors(head_dim, shape.rope_base, shape.llama3_rope_factor);
    }
    for (int64_t l = 0; l < shape.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        add(p + "attn_norm.weight", {d}, PlannedTensor::Fill::Ones);
        add(p + "attn_q.weight", {d, q_dim});
        add(p + "attn_k.weight", {d, kv_dim});
        add(p + "attn_v.weight", {d, kv_dim});
        if (arch == "qwen2") {
            add(p + "attn_q.bias", {q_dim});
            add(p + "attn_k.bias", {kv_dim});
            add(p + "attn_v.bias", {kv_dim});
        }
        add(p + "attn_output.weight", {q_dim, d});
        add(p + "ffn_norm.weight", {d}, PlannedTensor::Fill::Ones);
        add(p + "ffn_gate.weight", {d, shape.n_ff});
        add(p + "ffn_up.weight", {d, shape.n_ff});
        add(p + "ffn_down.weight", {shape.n_ff, d});
    }
    add("output_norm.weight", {d}, PlannedTensor::Fill::Ones);
    if (!shape.tied_output) add("output.weight", {d, n_vocab});

    std::vector<TensorDesc> descs;
    for (const auto& t : planned) descs.push_back({t.tensor.name, t.tensor.dims});
    const ModelHints hints{arch, shape.n_head, shape.n_head_kv, 0};
    const std::vector<GgmlType> types =
        plan_tensor_types(scheme, descs, std::vector<GgmlType>(descs.size(), GgmlType::F32), hints);
    for (size_t i = 0; i < planned.size(); ++i) planned[i].tensor.type = types[i];
    return planned;
}

}  // namespace

std::vector<GgufStreamWriter::Tensor> synth_tensors(const SynthShape& shape,
                                                    const QuantScheme& scheme, int64_t n_vocab) {
    std::vector<GgufStreamWriter::Tensor> tensors;
    for (auto& t : plan_tensors(shape, scheme, n_vocab)) tensors.push_back(std::move(t.tensor));
    return tensors;
}

std::span<const SynthShape> synth_shapes() {
    return kShapes;
}

const SynthShape& find_synth_shape(std::string_view name) {
    for (const auto& shape : kShapes)
        if (shape.name == name) return shape;
    std::string known;
    for (const auto& shape : kShapes)
        known += (known.empty() ? "" : ", ") + std::string(shape.name);
    throw Error("unknown model shape '" + std::string(name) + "' (known: " + known + ")");
}

std::string find_vocab_file(std::string_view file_name) {
    namespace fs = std::filesystem;
    std::vector<fs::path> dirs;
    if (const char* dir = std::getenv("UMA_VOCAB_DIR"); dir && *dir) dirs.emplace_back(dir);
    if (const char* dir = std::getenv("UMA_TEST_DATA"); dir && *dir)
        dirs.push_back(fs::path(dir) / "vocab");
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec)
        for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
            dirs.push_back(p / "shared" / "vocab");
    for (fs::path p = fs::current_path(ec); !ec && !p.empty() && p != p.root_path();
         p = p.parent_path())
        dirs.push_back(p / "shared" / "vocab");
    for (const auto& dir : dirs)
        if (fs::exists(dir / file_name, ec)) return (dir / file_name).string();
    throw Error("vocabulary file '" + std::string(file_name) +
                "' not found (looked in $UMA_VOCAB_DIR, $UMA_TEST_DATA/vocab and shared/vocab "
                "above the executable and the working directory; pass --vocab FILE)");
}

SynthReport synth_model(const SynthShape& shape, const QuantScheme& scheme,
                        const SynthOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    SynthReport report;
    report.vocab_path =
        options.vocab_path.empty() ? find_vocab_file(shape.vocab_file) : options.vocab_path;
    const auto vocab = GgufFile::open(report.vocab_path);
    const GgufValue* tokens = vocab->find("tokenizer.ggml.tokens");
    if (tokens == nullptr || tokens->type != GgufValueType::ARRAY)
        throw Error(report.vocab_path + " has no tokenizer (tokenizer.ggml.tokens is missing)");
    const auto n_tokens = static_cast<int64_t>(tokens->array.size());
    report.n_vocab = shape.n_vocab > 0 ? std::max(shape.n_vocab, n_tokens) : n_tokens;

    const std::string arch(shape.architecture);
    const int64_t head_dim = shape.n_embd / shape.n_head;
    GgufStreamWriter writer;
    writer.set("general.architecture", GgufValue::make_string(arch));
    writer.set("general.name", GgufValue::make_string("synthetic " + std::string(shape.name)));
    writer.set("general.file_type", GgufValue::make_uint(GgufValueType::UINT32,
                                                         static_cast<uint64_t>(scheme.file_type)));
    writer.set("general.quantization_version", GgufValue::make_uint(GgufValueType::UINT32, 2));
    const auto set_u32 = [&](const std::string& key, int64_t v) {
        writer.set(arch + "." + key,
                   GgufValue::make_uint(GgufValueType::UINT32, static_cast<uint64_t>(v)));
    };
    const auto set_f32 = [&](const std::string& key, double v) {
        writer.set(arch + "." + key, GgufValue::make_float(GgufValueType::FLOAT32, v));
    };
    set_u32("context_length", shape.n_ctx);
    set_u32("embedding_length", shape.n_embd);
    set_u32("block_count", shape.n_layer);
    set_u32("feed_forward_length", shape.n_ff);
    set_u32("attention.head_count", shape.n_head);
    set_u32("attention.head_count_kv", shape.n_head_kv);
    set_f32("attention.layer_norm_rms_epsilon", shape.norm_eps);
    set_f32("rope.freq_base", shape.rope_base);
    set_u32("rope.dimension_count", head_dim);
    set_u32("vocab_size", report.n_vocab);
    for (const auto& key : vocab->keys())
        if (key.rfind("tokenizer.", 0) == 0) writer.set(key, *vocab->find(key));

    std::vector<PlannedTensor> planned = plan_tensors(shape, scheme, report.n_vocab);
    for (const auto& t : planned) {
        writer.add_tensor(t.tensor);
        int64_t n = 1;
        for (int64_t dim : t.tensor.dims) n *= dim;
        report.parameters += n;
    }
    report.tensor_bytes = writer.tensor_bytes();

    cpu::ThreadPool pool(options.n_threads > 0 ? options.n_threads
                                               : cpu::ThreadPool::default_thread_count());
    std::vector<uint8_t> row_pool;
    size_t pool_tensor = SIZE_MAX;
    int64_t pool_rows = 0;
    writer.write(options.output_path, [&](size_t index, int64_t begin, int64_t end, uint8_t* out) {
        const PlannedTensor& t = planned[index];
        const int64_t cols = t.tensor.dims[0];
        const size_t row_bytes = t.tensor.row_bytes();
        if (pool_tensor != index) {
            pool_tensor = index;
            pool_rows = std::min(kPoolRows, t.tensor.rows());
            row_pool.resize(row_bytes * static_cast<size_t>(pool_rows));
            const uint64_t salt = hash_name(t.tensor.name, options.seed);
            pool.parallel_for(pool_rows, 1, [&](int64_t first, int64_t last) {
                std::vector<float> row(static_cast<size_t>(cols));
                for (int64_t r = first; r < last; ++r) {
                    Random rng(salt + static_cast<uint64_t>(r) * 0x9E3779B97F4A7C15ull);
                    if (t.fill == PlannedTensor::Fill::Given)
                        std::copy(t.values.begin(), t.values.end(), row.begin());
                    else if (t.fill == PlannedTensor::Fill::Ones)
                        std::fill(row.begin(), row.end(), 1.0f);
                    else
                        for (auto& x : row)
                            x = rng.uniform() * t.scale * std::numbers::sqrt3_v<float>;
                    cpu::quantize_row(t.tensor.type, row.data(),
                                      row_pool.data() + row_bytes * static_cast<size_t>(r), cols);
                }
            });
        }
        for (int64_t r = begin; r < end; ++r)
            std::memcpy(out + row_bytes * static_cast<size_t>(r - begin),
                        row_pool.data() + row_bytes * static_cast<size_t>(r % pool_rows),
                        row_bytes);
    });
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace uma
