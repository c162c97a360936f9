#pragma once
// What a forward pass reads from memory, the figure tokens/s is multiplied by to get the
// achieved memory bandwidth (`uma bench`, the server's /metrics).
#include "uma/core/ggml_type.h"

namespace uma {

class Model;

// What one forward pass reads of the weights, apart from the KV cache: every matrix except the
// token embedding (of which one row per token is read), unless the embedding doubles as the
// output. MoE models count only the experts one token uses.
double weight_bytes_per_token(const Model& model);

// KV cache bytes read by attention for one token at `context` positions.
double kv_bytes_per_token(const Model& model, double context, GgmlType kv_type);

}  // namespace uma
