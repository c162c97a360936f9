// Model quantization: the per-tensor type rules of llama.cpp's mixes (llama_tensor_get_type) and
// the streaming conversion of a whole GGUF file.
#include "uma/runtime/quantize.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>

#include "uma/backends/cpu/quant.h"
#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/error.h"
#include "uma/runtime/quantize_writer.h"

namespace uma {
namespace {

constexpr QuantScheme kSchemes[] = {
    {"F32", 0, GgmlType::F32},        {"F16", 1, GgmlType::F16},
    {"BF16", 32, GgmlType::BF16},     {"Q4_0", 2, GgmlType::Q4_0},
    {"Q4_1", 3, GgmlType::Q4_1},      {"Q5_0", 8, GgmlType::Q5_0},
    {"Q5_1", 9, GgmlType::Q5_1},      {"Q8_0", 7, GgmlType::Q8_0},
    {"Q2_K", 10, GgmlType::Q2_K},     {"Q2_K_S", 21, GgmlType::Q2_K},
    {"Q3_K_S", 11, GgmlType::Q3_K},   {"Q3_K_M", 12, GgmlType::Q3_K},
    {"Q3_K_L", 13, GgmlType::Q3_K},   {"Q4_K_S", 14, GgmlType::Q4_K},
    {"Q4_K_M", 15, GgmlType::Q4_K},   {"Q5_K_S", 16, GgmlType::Q5_K},
    {"Q5_K_M", 17, GgmlType::Q5_K},   {"Q6_K", 18, GgmlType::Q6_K},
    {"IQ4_NL", 25, GgmlType::IQ4_NL}, {"IQ4_XS", 30, GgmlType::IQ4_XS},
};

bool contains(const std::string& s, std::string_view part) {
    return s.find(part) != std::string::npos;
}

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// llama.cpp's choice of layers that get more bits: the first and last eighth, and every third
// layer in between.
bool use_more_bits(int64_t layer, int64_t n_layers) {
    return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

// "blk.12.ffn_down.weight" -> 12; -1 for tensors outside the blocks.
int64_t layer_of(const std::string& name) {
    if (name.rfind("blk.", 0) != 0) return -1;
    return std::strtoll(name.c_str() + 4, nullptr, 10);
}

// A K-quant or IQ4_XS needs rows of whole 256-element super-blocks; the fallbacks are llama.cpp's.
GgmlType fit_row_length(GgmlType type, int64_t row_length) {
    if (row_length % traits(type).block_size == 0) return type;
    GgmlType fallback;
    switch (type) {
        case GgmlType::Q2_K:
        case GgmlType::Q3_K:
        case GgmlType::IQ4_XS:
            fallback = GgmlType::IQ4_NL;
            break;
        case GgmlType::Q4_K:
            fallback = GgmlType::Q5_0;
            break;
        case GgmlType::Q5_K:
            fallback = GgmlType::Q5_1;
            break;
        case GgmlType::Q6_K:
            fallback = GgmlType::Q8_0;
            break;
        default:
            fallback = GgmlType::F16;
            break;
    }
    return row_length % traits(fallback).block_size == 0 ? fallback : GgmlType::F16;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

std::span<const QuantScheme> quant_schemes() {
    return kSchemes;
}

const QuantScheme& find_quant_scheme(std::string_view name) {
    const std::string wanted = upper(name);
    for (const auto& scheme : kSchemes)
        if (scheme.name == wanted) return scheme;
    std::string known;
    for (const auto& scheme : kSchemes)
        known += (known.empty() ? "" : ", ") + std::string(scheme.name);
    throw Error("unknown quantization type '" + std::string(name) + "' (known: " + known + ")");
}

ModelHints ModelHints::from_gguf(const GgufFile& file) {
    ModelHints hints;
    hints.architecture = file.get_string("general.architecture");
    const std::string a = hints.architecture + ".";
    hints.n_head = std::max<int64_t>(1, file.get_int(a + "attention.head_count", 1));
    hints.n_head_kv =
        std::max<int64_t>(1, file.get_int(a + "attention.head_count_kv", hints.n_head));
    hints.n_expert = file.get_int(a + "expert_count", 0);
    return hints;
}

bool is_quantizable_tensor(const TensorDesc& t) {
    int64_t n_dims = static_cast<int64_t>(t.dims.size());
    while (n_dims > 1 && t.dims[static_cast<size_t>(n_dims - 1)] == 1) --n_dims;
    if (n_dims < 2 || !ends_with(t.name, "weight")) return false;
    // Small matrices that must stay exact: the MoE router and positional tables.
    return !contains(t.name, "_norm.weight") && !contains(t.name, "ffn_gate_inp.weight") &&
           !contains(t.name, "pos_embd") && !contains(t.name, "token_types");
}

std::vector<GgmlType> plan_tensor_types(const QuantScheme& scheme,
                                        const std::vector<TensorDesc>& tensors,
                                        const std::vector<GgmlType>& keep,
                                        const ModelHints& hints) {
    const std::string_view s = scheme.name;
    const bool is_float = scheme.base == GgmlType::F32 || scheme.base == GgmlType::F16 ||
                          scheme.base == GgmlType::BF16;
    const int64_t n_gqa = hints.n_head / hints.n_head_kv;
    const bool eight_experts = hints.n_expert == 8;
    bool has_output = false;
    int64_t n_attention_v = 0, n_ffn_down = 0;
    for (const auto& t : tensors) {
        has_output |= t.name == "output.weight";
        n_attention_v += contains(t.name, "attn_v.weight") || contains(t.name, "attn_qkv.weight");
        n_ffn_down += contains(t.name, "ffn_down");
    }
    int64_t i_attention_v = 0, i_ffn_down = 0;
    std::vector<GgmlType> types;
    types.reserve(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        const TensorDesc& t = tensors[i];
        if (!is_quantizable_tensor(t)) {
            types.push_back(keep.at(i));
            continue;
        }
        GgmlType type = scheme.base;
        if (is_float) {
            types.push_back(type);
            continue;
        }
        const std::string& name = t.name;
        const int64_t row_length = t.dims[0];
        if (name == "output.weight" || (!has_output && name == "token_embd.weight")) {
            // The output projection decides every logit: at least 6 bits unless already Q8_0.
            if (row_length % 256 != 0)
                type = GgmlType::Q8_0;
            else if (type != GgmlType::Q8_0)
                type = GgmlType::Q6_K;
        } else if (name == "token_embd.weight") {
            // One row is read per token, so the embedding keeps the base type.
        } else if (contains(name, "attn_v.weight")) {
            if (s == "Q2_K")
                type = n_gqa >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
            else if (s == "Q2_K_S" && n_gqa >= 4)
                type = GgmlType::Q4_K;
            else if (s == "Q3_K_M")
                type = i_attention_v < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
            else if (s == "Q3_K_L")
                type = GgmlType::Q5_K;
            else if ((s == "IQ4_NL" || s == "IQ4_XS") && n_gqa >= 4)
                type = GgmlType::Q5_K;
            else if ((s == "Q4_K_M" || s == "Q5_K_M") &&
                     use_more_bits(i_attention_v, n_attention_v))
                type = GgmlType::Q6_K;
            else if (s == "Q4_K_S" && i_attention_v < 4)
                type = GgmlType::Q5_K;
            if (eight_experts) type = GgmlType::Q8_0;
            ++i_attention_v;
        } else if (contains(name, "attn_k.weight")) {
            if (eight_experts) type = GgmlType::Q8_0;
        } else if (contains(name, "ffn_down")) {
            const int64_t layer = layer_of(name) >= 0 ? layer_of(name) : i_ffn_down;
            const int64_t n_layer = n_ffn_down;
            if (s == "Q2_K")
                type = GgmlType::Q3_K;
            else if (s == "Q2_K_S") {
                if (layer < n_layer / 8) type = GgmlType::Q4_K;
            } else if (s == "Q3_K_M")
                type = layer < n_layer / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
            else if (s == "Q3_K_L")
                type = GgmlType::Q5_K;
            else if (s == "Q4_K_M") {
                if (use_more_bits(layer, n_layer)) type = GgmlType::Q6_K;
            } else if ((s == "IQ4_NL" || s == "IQ4_XS") && layer < n_layer / 8)
                type = GgmlType::Q5_K;
            else if (s == "Q5_K_M" && use_more_bits(layer, n_layer))
                type = GgmlType::Q6_K;
            else if (s == "Q4_K_S" && layer < n_layer / 8)
                type = GgmlType::Q5_K;
            ++i_ffn_down;
        } else if (contains(name, "attn_output.weight")) {
            if (eight_experts) {
                if (s == "Q2_K" || s == "Q3_K_S" || s == "Q3_K_M" || s == "IQ4_NL" ||
                    s == "Q4_K_S" || s == "Q4_K_M" || s == "IQ4_XS")
                    type = GgmlType::Q5_K;
            } else if (s == "Q2_K")
                type = GgmlType::Q3_K;
            else if (s == "Q3_K_M")
                type = GgmlType::Q4_K;
            else if (s == "Q3_K_L")
                type = GgmlType::Q5_K;
        }
        types.push_back(fit_row_length(type, row_length));
    }
    return types;
}

QuantizeReport quantize_model(const std::string& input_path, const std::string& output_path,
                              const QuantScheme& scheme, int n_threads,
                              const std::function<void(const std::string&, GgmlType)>& progress) {
    const auto start = std::chrono::steady_clock::now();
    const auto input = GgufFile::open(input_path);
    std::vector<TensorDesc> descs;
    std::vector<GgmlType> keep;
    for (const auto& t : input->tensors()) {
        if (!traits(t.type).supported)
            throw Error(input_path + ": tensor '" + t.name + "' has type " +
                        std::string(type_name(t.type)) + ", which uma cannot decode");
        descs.push_back({t.name, t.dims});
        keep.push_back(t.type);
    }
    const std::vector<GgmlType> types =
        plan_tensor_types(scheme, descs, keep, ModelHints::from_gguf(*input));

    GgufStreamWriter writer;
    for (const auto& key : input->keys()) writer.set(key, *input->find(key));
    writer.set("general.file_type", GgufValue::make_uint(GgufValueType::UINT32,
                                                         static_cast<uint64_t>(scheme.file_type)));
    writer.set("general.quantization_version", GgufValue::make_uint(GgufValueType::UINT32, 2));
    QuantizeReport report;
    for (size_t i = 0; i < descs.size(); ++i) {
        writer.add_tensor({descs[i].name, types[i], descs[i].dims});
        report.bytes_in += input->tensors()[i].n_bytes;
        ++report.type_counts[std::string(type_name(types[i]))];
    }
    report.bytes_out = writer.tensor_bytes();

    cpu::ThreadPool pool(n_threads > 0 ? n_threads : cpu::ThreadPool::default_thread_count());
    size_t announced = SIZE_MAX;
    writer.write(output_path, [&](size_t index, int64_t begin, int64_t end, uint8_t* out) {
        const GgufTensorInfo& src = input->tensors()[index];
        const GgmlType target = types[index];
        if (progress && announced != index) {
            progress(src.name, target);
            announced = index;
        }
        const int64_t cols = src.dims[0];
        const size_t src_row = row_size(src.type, cols), dst_row = row_size(target, cols);
        if (src.type == target) {
            std::memcpy(out, src.data + src_row * static_cast<size_t>(begin),
                        src_row * static_cast<size_t>(end - begin));
            return;
        }
        pool.parallel_for(end - begin, 16, [&](int64_t first, int64_t last) {
            std::vector<float> row(static_cast<size_t>(cols));
            for (int64_t r = first; r < last; ++r) {
                cpu::dequantize_row(src.type, src.data + src_row * static_cast<size_t>(begin + r),
                                    row.data(), cols);
                cpu::quantize_row(target, row.data(), out + dst_row * static_cast<size_t>(r), cols);
            }
        });
    });
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace uma
