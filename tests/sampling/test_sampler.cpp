#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "uma/core/error.h"
#include "uma/sampling/sampler.h"

namespace uma {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.0f, -1.0f, 2.9f};

TEST(Sampler, GreedyPicksTheArgmax) {
    Sampler s(SamplerParams::greedy());
    EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, TopKOfOneIsGreedyAtAnyTemperature) {
    SamplerParams p;
    p.temperature = 5;
    p.top_k = 1;
    p.repeat_penalty = 1;
    p.seed = 7;
    Sampler s(p);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, SameSeedSameDraws) {
    SamplerParams p;
    p.temperature = 1.5f;
    p.top_k = 0;
    p.top_p = 1;
    p.seed = 1234;
    Sampler a(p), b(p);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(kLogits, {}), b.sample(kLogits, {}));
}

TEST(Sampler, DrawsFollowTheSoftmax) {
    SamplerParams p;
    p.temperature = 1;
    p.top_k = 0;
    p.top_p = 1;
    p.repeat_penalty = 1;
    p.seed = 42;
    Sampler s(p);
    std::map<int, int> counts;
    const int n = 20000;
    for (int i = 0; i < n; ++i) ++counts[s.sample(kLogits, {})];
    double z = 0;
    for (float l : kLogits) z += std::exp(l);
    for (int id = 0; id < 5; ++id)
        EXPECT_NEAR(double(counts[id]) / n, std::exp(kLogits[id]) / z, 0.015) << "token " << id;
}

TEST(Sampler, TopPKeepsTheNucleusOnly) {
    SamplerParams p;
    p.temperature = 1;
    p.top_k = 0;
    p.top_p = 0.5f;  // token 1 alone has p=0.41; with token 4 (0.37) the nucleus passes 0.5
    p.repeat_penalty = 1;
    p.seed = 3;
    Sampler s(p);
    for (int i = 0; i < 500; ++i) {
        const int id = s.sample(kLogits, {});
        EXPECT_TRUE(id == 1 || id == 4) << id;
    }
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
    SamplerParams p;
    p.temperature = 1;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0.5f;  // keeps tokens with p >= 0.5 * p(max): 1 and 4 (token 2: e^2/e^3 = 0.37)
    p.repeat_penalty = 1;
    p.seed = 5;
    Sampler s(p);
    for (int i = 0; i < 500; ++i) {
        const int id = s.sample(kLogits, {});
        EXPECT_TRUE(id == 1 || id == 4) << id;
    }
}

TEST(Sampler, RepeatPenaltyDividesPositiveAndMultipliesNegativeLogits) {
    std::vector<float> logits = kLogits;
    const std::vector<int32_t> history = {1, 3, 1};
    Sampler::apply_repeat_penalty(logits, history, 2.0f, 64);
    EXPECT_FLOAT_EQ(logits[1], 1.5f);
    EXPECT_FLOAT_EQ(logits[3], -2.0f);
    EXPECT_FLOAT_EQ(logits[4], 2.9f);
    // Greedy with the penalty now prefers token 4.
    SamplerParams p = SamplerParams::greedy();
    p.repeat_penalty = 2.0f;
    Sampler s(p);
    EXPECT_EQ(s.sample(kLogits, history), 4);
}

TEST(Sampler, RejectsInvalidParameters) {
    SamplerParams p;
    p.top_p = 2;
    EXPECT_THROW(Sampler{p}, Error);
    p = SamplerParams();
    p.temperature = -1;
    EXPECT_THROW(Sampler{p}, Error);
}

}  // namespace
}  // namespace uma
