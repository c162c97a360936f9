#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "uma/core/gguf.h"

namespace uma {

// A target of `uma quantize`: the type of most weight matrices plus the per-tensor mix rules of
// its _S/_M/_L variant (llama.cpp's, so that files and their sizes compare one to one).
struct QuantScheme {
    std::string_view name;  // "Q4_K_M"
    int64_t file_type;      // general.file_type, llama.cpp's LLAMA_FTYPE numbering
    GgmlType base;
};

std::span<const QuantScheme> quant_schemes();
// Case-insensitive; the error lists every scheme.
const QuantScheme& find_quant_scheme(std::string_view name);

struct TensorDesc {
    std::string name;
    std::vector<int64_t> dims;  // dims[0] is the row length
};

// What the mix rules need to know about the model.
struct ModelHints {
    std::string architecture;
    int64_t n_head = 1;
    int64_t n_head_kv = 1;
    int64_t n_expert = 0;

    static ModelHints from_gguf(const GgufFile& file);
};

// Weight matrices are quantized; norms, biases and other vectors keep their type.
bool is_quantizable_tensor(const TensorDesc& tensor);

// The type each tensor is written in (for a tensor that is not quantizable: `keep[i]`, its
// current type). Tensors must be given in file order: some rules count layers as they go.
std::vector<GgmlType> plan_tensor_types(const QuantScheme& scheme,
                                        const std::vector<TensorDesc>& tensors,
                                        const std::vector<GgmlType>& keep, const ModelHints& hints);

struct QuantizeReport {
    size_t bytes_in = 0;                     // tensor bytes of the input
    size_t bytes_out = 0;                    // tensor bytes of the output
    std::map<std::string, int> type_counts;  // tensors per output type name
    double seconds = 0;
};

// Reads a GGUF model (F32, F16, BF16, or already quantized: re-quantized from its decoded values)
// and writes it in `scheme`, copying all metadata. `progress(tensor name, type)` is called once per
// tensor before it is written.
QuantizeReport quantize_model(
    const std::string& input_path, const std::string& output_path, const QuantScheme& scheme,
    int n_threads, const std::function<void(const std::string&, GgmlType)>& progress = {});

}  // namespace uma
