#include "uma/runtime/bytes_per_token.h"

#include "uma/models/model.h"

namespace uma {

double weight_bytes_per_token(const Model& model) {
    const GgufFile& f = model.file();
    double bytes = static_cast<double>(model.active_weight_bytes());
    if (f.find_tensor("output.weight") != nullptr)
        if (const GgufTensorInfo* embd = f.find_tensor("token_embd.weight"))
            bytes -= double(embd->n_bytes) - double(embd->n_bytes) / double(embd->rows());
    return bytes;
}

double kv_bytes_per_token(const Model& model, double context, GgmlType kv_type) {
    const ModelConfig& c = model.config();
    const double row = double(row_size(kv_type, c.n_head_kv * c.head_dim)) +
                       double(row_size(kv_type, c.n_head_kv * c.head_dim_v));
    return double(c.n_layer) * row * context;
}

}  // namespace uma
