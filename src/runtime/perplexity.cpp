#include "uma/runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "uma/core/error.h"
#include "uma/runtime/session.h"

namespace uma {
namespace {

// The chunks of the perplexity convention (see perplexity.h): BOS-led windows of chunk_size.
std::vector<std::vector<TokenId>> make_chunks(const Tokenizer& tokenizer, const std::string& text,
                                              int64_t chunk_size) {
    if (chunk_size < 4) throw Error("perplexity chunk size must be at least 4 tokens");
    std::vector<TokenId> tokens = tokenizer.encode(text, false, false);
    if (tokenizer.bos() >= 0) tokens.insert(tokens.begin(), tokenizer.bos());
    const int64_t n_chunks = static_cast<int64_t>(tokens.size()) / chunk_size;
    if (n_chunks == 0)
        throw Error("the text has " + std::to_string(tokens.size()) +
                    " tokens, fewer than one chunk of " + std::to_string(chunk_size));
    std::vector<std::vector<TokenId>> chunks;
    for (int64_t c = 0; c < n_chunks; ++c) {
        chunks.emplace_back(tokens.begin() + c * chunk_size, tokens.begin() + (c + 1) * chunk_size);
        if (tokenizer.bos() >= 0) chunks.back()[0] = tokenizer.bos();
    }
    return chunks;
}

// log-softmax of one row of logits, in double precision.
void log_softmax(const float* row, int64_t n, std::vector<double>& out) {
    out.resize(static_cast<size_t>(n));
    double max_logit = row[0];
    for (int64_t v = 1; v < n; ++v) max_logit = std::max<double>(max_logit, row[v]);
    double sum = 0;
    for (int64_t v = 0; v < n; ++v) sum += std::exp(double(row[v]) - max_logit);
    const double log_sum = std::log(sum) + max_logit;
    for (int64_t v = 0; v < n; ++v) out[static_cast<size_t>(v)] = double(row[v]) - log_sum;
}

void finish(PerplexityResult& r, double nll_sum) {
    r.mean_nll = nll_sum / double(r.predictions);
    r.perplexity = std::exp(r.mean_nll);
}

}  // namespace

PerplexityResult compute_perplexity(Model& model, const Tokenizer& tokenizer, Backend& backend,
                                    const std::string& text, int64_t chunk_size,
                                    const std::function<void(int64_t, double)>& on_chunk) {
    const auto chunks = make_chunks(tokenizer, text, chunk_size);
    const int64_t n_vocab = model.config().n_vocab;
    Session session(model, tokenizer, backend, chunk_size);
    PerplexityResult result;
    double nll_sum = 0;
    std::vector<double> log_probs;
    for (const auto& chunk : chunks) {
        session.reset();
        const std::vector<float> logits = session.feed_all_logits(chunk);
        for (int64_t j = chunk_size / 2; j < chunk_size - 1; ++j) {
            log_softmax(logits.data() + j * n_vocab, n_vocab, log_probs);
            nll_sum -= log_probs[static_cast<size_t>(chunk[j + 1])];
            ++result.predictions;
        }
        ++result.chunks;
        if (on_chunk) on_chunk(result.chunks - 1, std::exp(nll_sum / double(result.predictions)));
    }
    finish(result, nll_sum);
    return result;
}

KlDivergenceResult compute_kl_divergence(Model& model, Model& base, const Tokenizer& tokenizer,
                                         Backend& backend, const std::string& text,
                                         int64_t chunk_size,
                                         const std::function<void(int64_t, double)>& on_chunk) {
    const int64_t n_vocab = model.config().n_vocab;
    if (base.config().n_vocab != n_vocab)
        throw Error("the base model has " + std::to_string(base.config().n_vocab) +
                    " vocabulary entries and the model " + std::to_string(n_vocab) +
                    ": KL divergence needs the same vocabulary");
    const auto chunks = make_chunks(tokenizer, text, chunk_size);
    Session session(model, tokenizer, backend, chunk_size);
    Session base_session(base, tokenizer, backend, chunk_size);
    KlDivergenceResult result;
    double nll = 0, base_nll = 0, kl_sum = 0;
    int64_t agree = 0;
    std::vector<double> kls, p, q;
    for (const auto& chunk : chunks) {
        session.reset();
        base_session.reset();
        const std::vector<float> logits = session.feed_all_logits(chunk);
        const std::vector<float> base_logits = base_session.feed_all_logits(chunk);
        for (int64_t j = chunk_size / 2; j < chunk_size - 1; ++j) {
            log_softmax(logits.data() + j * n_vocab, n_vocab, q);
            log_softmax(base_logits.data() + j * n_vocab, n_vocab, p);
            const auto next = static_cast<size_t>(chunk[j + 1]);
            nll -= q[next];
            base_nll -= p[next];
            double kl = 0;
            for (size_t v = 0; v < p.size(); ++v) kl += std::exp(p[v]) * (p[v] - q[v]);
            kl = std::max(0.0, kl);  // rounding can leave tiny negative values
            kls.push_back(kl);
            kl_sum += kl;
            agree += std::max_element(p.begin(), p.end()) - p.begin() ==
                     std::max_element(q.begin(), q.end()) - q.begin();
        }
        ++result.model.chunks;
        if (on_chunk) on_chunk(result.model.chunks - 1, kl_sum / double(kls.size()));
    }
    result.model.predictions = static_cast<int64_t>(kls.size());
    result.base.chunks = result.model.chunks;
    result.base.predictions = result.model.predictions;
    finish(result.model, nll);
    finish(result.base, base_nll);
    result.mean_kl = kl_sum / double(kls.size());
    std::sort(kls.begin(), kls.end());
    result.max_kl = kls.back();
    result.kl_p99 = kls[std::min(kls.size() - 1, static_cast<size_t>(0.99 * double(kls.size())))];
    result.top1_agreement = double(agree) / double(kls.size());
    return result;
}

}  // namespace uma
