#include "uma/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "uma/core/error.h"

namespace uma {

SamplerParams SamplerParams::greedy() {
    SamplerParams p;
    p.temperature = 0;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    p.repeat_penalty = 1;
    return p;
}

Sampler::Sampler(SamplerParams params) : params_(params) {
    if (params_.temperature < 0 || !std::isfinite(params_.temperature))
        throw Error("temperature must be a finite number >= 0");
    if (params_.top_p < 0 || params_.top_p > 1) throw Error("top_p must be between 0 and 1");
    if (params_.min_p < 0 || params_.min_p > 1) throw Error("min_p must be between 0 and 1");
    if (params_.repeat_penalty <= 0) throw Error("repeat_penalty must be positive");
    const uint64_t seed =
        params_.seed == 0xFFFFFFFFFFFFFFFFull ? std::random_device{}() : params_.seed;
    rng_.seed(seed);
}

int32_t argmax(std::span<const float> values) {
    return static_cast<int32_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

void Sampler::apply_repeat_penalty(std::vector<float>& logits, std::span<const int32_t> history,
                                   float penalty, int32_t last_n) {
    if (penalty == 1.0f || last_n == 0) return;
    const size_t window = last_n < 0 ? history.size()
                                     : std::min(history.size(), static_cast<size_t>(last_n));
    std::unordered_set<int32_t> seen(history.end() - static_cast<ptrdiff_t>(window), history.end());
    for (int32_t id : seen) {
        if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
        float& l = logits[static_cast<size_t>(id)];
        l = l > 0 ? l / penalty : l * penalty;
    }
}

int32_t Sampler::sample(std::span<const float> logits_in, std::span<const int32_t> history,
                        TokenConstraint* constraint) {
    if (logits_in.empty()) throw Error("cannot sample from an empty vocabulary");
    std::vector<float> logits(logits_in.begin(), logits_in.end());
    apply_repeat_penalty(logits, history, params_.repeat_penalty, params_.repeat_last_n);
    if (!constraint) return pick(logits);
    // Greedy: when the argmax is allowed anyway, the mask (a walk over the vocabulary) is moot.
    if (params_.temperature <= 0) {
        const int32_t best = argmax(logits);
        if (constraint->allows(best)) {
            constraint->accept(best);
            return best;
        }
    }
    constraint->apply(logits);
    if (!std::any_of(logits.begin(), logits.end(), [](float l) { return l > -INFINITY; }))
        throw Error("the output constraint allows no token here");
    const int32_t token = pick(logits);
    constraint->accept(token);
    return token;
}

int32_t Sampler::pick(std::vector<float>& logits) {
    if (params_.temperature <= 0) return argmax(logits);

    std::vector<int32_t> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    size_t keep = ids.size();
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) keep = params_.top_k;
    std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(keep), ids.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    ids.resize(keep);

    // Softmax over the survivors at the chosen temperature.
    std::vector<double> probs(keep);
    const double max_logit = logits[ids[0]];
    double sum = 0;
    for (size_t i = 0; i < keep; ++i) {
        probs[i] = std::exp((logits[ids[i]] - max_logit) / params_.temperature);
        sum += probs[i];
    }
    for (auto& p : probs) p /= sum;

    if (params_.top_p < 1.0f) {
        double cumulative = 0;
        size_t cut = keep;
        for (size_t i = 0; i < keep; ++i) {
            cumulative += probs[i];
            if (cumulative >= params_.top_p) {
                cut = i + 1;
                break;
            }
        }
        keep = cut;
    }
    if (params_.min_p > 0) {
        const double threshold = probs[0] * params_.min_p;
        size_t cut = 1;
        while (cut < keep && probs[cut] >= threshold) ++cut;
        keep = cut;
    }
    std::discrete_distribution<size_t> pick(probs.begin(), probs.begin() + static_cast<ptrdiff_t>(keep));
    return ids[pick(rng_)];
}

}  // namespace uma
