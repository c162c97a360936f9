#include "uma/runtime/perplexity.h"

#include <cmath>
#include <span>

#include "uma/core/error.h"
#include "uma/runtime/session.h"

namespace uma {

PerplexityResult compute_perplexity(Model& model, const Tokenizer& tokenizer, Backend& backend,
                                    const std::string& text, int64_t chunk_size,
                                    const std::function<void(int64_t, double)>& on_chunk) {
    if (chunk_size < 4) throw Error("perplexity chunk size must be at least 4 tokens");
    std::vector<TokenId> tokens = tokenizer.encode(text, false, false);
    if (tokenizer.bos() >= 0) tokens.insert(tokens.begin(), tokenizer.bos());
    const int64_t n_chunks = static_cast<int64_t>(tokens.size()) / chunk_size;
    if (n_chunks == 0)
        throw Error("the text has " + std::to_string(tokens.size()) +
                    " tokens, fewer than one chunk of " + std::to_string(chunk_size));
    const int64_t n_vocab = model.config().n_vocab;
    Session session(model, tokenizer, backend, chunk_size);
    PerplexityResult result;
    double nll_sum = 0;
    for (int64_t c = 0; c < n_chunks; ++c) {
        std::vector<TokenId> chunk(tokens.begin() + c * chunk_size,
                                   tokens.begin() + (c + 1) * chunk_size);
        if (tokenizer.bos() >= 0) chunk[0] = tokenizer.bos();
        session.reset();
        const std::vector<float> logits = session.feed_all_logits(chunk);
        for (int64_t j = chunk_size / 2; j < chunk_size - 1; ++j) {
            const float* row = logits.data() + j * n_vocab;
            double max_logit = row[0];
            for (int64_t v = 1; v < n_vocab; ++v) max_logit = std::max<double>(max_logit, row[v]);
            double sum = 0;
            for (int64_t v = 0; v < n_vocab; ++v) sum += std::exp(double(row[v]) - max_logit);
            const double log_prob = double(row[chunk[j + 1]]) - max_logit - std::log(sum);
            nll_sum -= log_prob;
            ++result.predictions;
        }
        ++result.chunks;
        if (on_chunk) on_chunk(c, std::exp(nll_sum / double(result.predictions)));
    }
    result.mean_nll = nll_sum / double(result.predictions);
    result.perplexity = std::exp(result.mean_nll);
    return result;
}

}  // namespace uma
