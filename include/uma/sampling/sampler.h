#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "uma/sampling/token_constraint.h"

namespace uma {

struct SamplerParams {
    float temperature = 0.8f;  // <= 0: greedy
    int32_t top_k = 40;        // <= 0: off
    float top_p = 0.9f;        // >= 1: off
    float min_p = 0.0f;        // <= 0: off
    float repeat_penalty = 1.1f;  // 1: off
    int32_t repeat_last_n = 64;
    uint64_t seed = 0xFFFFFFFFFFFFFFFFull;  // this value: a random seed

    static SamplerParams greedy();
};

// Picks the next token from a row of logits: repetition penalty, then top-k, temperature,
// top-p and min-p, then a draw (or argmax when greedy).
class Sampler {
public:
    explicit Sampler(SamplerParams params);
    const SamplerParams& params() const { return params_; }

    // With a constraint (structured output), tokens it forbids are never drawn and the chosen
    // token is passed to constraint->accept(). Throws uma::Error when it allows no token.
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history,
                   TokenConstraint* constraint = nullptr);

    // Applies the repetition penalty the way llama.cpp does (divide positive, multiply negative).
    static void apply_repeat_penalty(std::vector<float>& logits, std::span<const int32_t> history,
                                     float penalty, int32_t last_n);

private:
    int32_t pick(std::vector<float>& logits);  // after the penalty: truncation and the draw
    SamplerParams params_;
    std::mt19937_64 rng_;
};

int32_t argmax(std::span<const float> values);

}  // namespace uma
