#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "uma/backends/backend.h"
#include "uma/models/model.h"
#include "uma/tokenizer/tokenizer.h"

namespace uma {

struct PerplexityResult {
    double perplexity = 0;
    double mean_nll = 0;
    int64_t chunks = 0;
    int64_t predictions = 0;
};

// The common convention: the text is tokenized once with BOS, cut into consecutive chunks of
// `chunk_size` tokens (a partial last chunk is dropped), the first token of each chunk replaced
// by BOS, and only the second half of each chunk scored (tokens j+1 for j in [n/2, n-2]).
// `on_chunk(index, running perplexity)` reports progress.
PerplexityResult compute_perplexity(Model& model, const Tokenizer& tokenizer, Backend& backend,
                                    const std::string& text, int64_t chunk_size,
                                    const std::function<void(int64_t, double)>& on_chunk = {});

// How far a model's next-token distributions are from a base model's (usually the F32 or F16
// original of a quantized model), over the same scored positions as compute_perplexity.
struct KlDivergenceResult {
    PerplexityResult model;
    PerplexityResult base;
    double mean_kl = 0;  // mean KL(base || model) in nats
    double kl_p99 = 0;   // 99th percentile of the per-token KL
    double max_kl = 0;
    double top1_agreement = 0;  // share of positions where both models' argmax agree
};

// Both models must share the tokenizer's vocabulary. `on_chunk(index, running mean KL)`.
KlDivergenceResult compute_kl_divergence(Model& model, Model& base, const Tokenizer& tokenizer,
                                         Backend& backend, const std::string& text,
                                         int64_t chunk_size,
                                         const std::function<void(int64_t, double)>& on_chunk = {});

}  // namespace uma
