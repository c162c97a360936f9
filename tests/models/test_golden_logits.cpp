// Logits of every tiny model in ../shared/golden/logits against both oracles (a reference
// implementation and an exact float64 computation), within the tolerances its README states.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "models/golden_logits.h"
#include "test_data.h"
#include "uma/models/model.h"
#include "uma/runtime/loaded_model.h"
#include "uma/runtime/session.h"
#include "uma/sampling/sampler.h"

namespace uma {
namespace {

using test::compare;
using test::Comparison;
using test::manifest;
using test::read_f32;
using test::Tolerance;
using test::tolerance_for;

// The manifest describes MoE cases as e.g. "llama (mixture of experts)".
bool supported(const std::string& description) {
    const std::string architecture = description.substr(0, description.find(' '));
    const auto archs = supported_architectures();
    return std::find(archs.begin(), archs.end(), architecture) != archs.end();
}

TEST(GoldenLogits, EveryCaseOfASupportedArchitectureMatchesBothOracles) {
    const auto dir = test::data_dir() / "golden/logits";
    int checked = 0;
    const nlohmann::json cases = manifest()["cases"];
    for (const auto& c : cases) {
        if (!supported(c["architecture"].get<std::string>())) {
            ADD_FAILURE() << "unsupported architecture in " << c["model"];
            continue;
        }
        const std::string model_path = (dir / c["model"].get<std::string>()).lexically_normal();
        auto m = LoadedModel::load(model_path, 2);
        SCOPED_TRACE(c["model"].get<std::string>());
        const auto ids = c["prompt_ids"].get<std::vector<TokenId>>();
        const int64_t vocab = c["n_vocab"].get<int64_t>();
        // The tokenizer must produce the reference's prompt ids.
        const auto encoded = m.tokenizer->encode(c["prompt"].get<std::string>(), true, false);
        EXPECT_EQ(encoded, ids);

        Session session(*m.model, *m.tokenizer, *m.backend, 128);
        const std::vector<float> logits = session.feed_all_logits(ids);
        ASSERT_EQ(logits.size(), ids.size() * static_cast<size_t>(vocab));
        const Tolerance tol = tolerance_for(c["tensor_types"]);

        const auto ref = read_f32(dir / c["logits_ref"].get<std::string>());
        ASSERT_EQ(ref.size(), logits.size());
        const Comparison vs_ref = compare(logits, ref, vocab);
        EXPECT_LE(vs_ref.rel_max_err, tol.ref) << "vs reference";
        EXPECT_GE(vs_ref.argmax_agree, 0.9) << "vs reference";
        if (!c["logits_exact"].is_null()) {
            const auto exact = read_f32(dir / c["logits_exact"].get<std::string>());
            const Comparison vs_exact = compare(logits, exact, vocab);
            EXPECT_LE(vs_exact.rel_max_err, tol.exact) << "vs exact";
            EXPECT_GE(vs_exact.argmax_agree, 0.9) << "vs exact";
        }
        ++checked;
    }
    // Every case in the manifest: a case whose architecture uma does not know is a failure.
    EXPECT_EQ(checked, static_cast<int>(cases.size()));
}

TEST(GoldenLogits, StoriesGreedyContinuationIsIdenticalToTheReferences) {
    auto m = LoadedModel::load(test::data_path("models/stories260K.gguf").string(), 2);
    const std::vector<TokenId>& expected = test::kStoriesContinuation;
    auto prompt = m.tokenizer->encode("Once upon a time", true, false);
    ASSERT_EQ(prompt, test::kStoriesPrompt);
    Session session(*m.model, *m.tokenizer, *m.backend, 256);
    std::vector<TokenId> out(prompt.begin() + 1, prompt.end());
    std::span<const float> logits = session.feed(prompt);
    while (out.size() < expected.size()) {
        const TokenId next = argmax(logits);
        out.push_back(next);
        logits = session.feed(std::span<const TokenId>(&next, 1));
    }
    EXPECT_EQ(out, expected);

    std::string text;
    for (size_t i = 0; i < out.size(); ++i) text += m.tokenizer->token_to_piece(out[i]);
    EXPECT_EQ(text,
              " Once upon a time, there was a little girl named Lily. She loved to play outside in "
              "the park. One day, she saw a big, red ball. She wanted to play with it, but it was "
              "too high.\nLily's mom said, \"Lily, let's go to");
}

TEST(GoldenLogits, GreedyContinuationsOfF32ModelsMatchTheReference) {
    const auto dir = test::data_dir() / "golden/logits";
    const nlohmann::json cases = manifest()["cases"];
    int checked = 0;
    for (const auto& c : cases) {
        const auto types = c["tensor_types"];
        if (types.size() != 1 || !types.contains("F32")) continue;
        auto m = LoadedModel::load((dir / c["model"].get<std::string>()).lexically_normal(), 2);
        SCOPED_TRACE(c["model"].get<std::string>());
        const auto ids = c["prompt_ids"].get<std::vector<TokenId>>();
        const auto expected = c["greedy_ref_ids"].get<std::vector<TokenId>>();
        Session session(*m.model, *m.tokenizer, *m.backend, 128);
        std::span<const float> logits = session.feed(ids);
        std::vector<TokenId> out;
        while (out.size() < expected.size()) {
            out.push_back(argmax(logits));
            logits = session.feed(std::span<const TokenId>(&out.back(), 1));
        }
        EXPECT_EQ(out, expected);
        ++checked;
    }
    EXPECT_GE(checked, 5);  // llama, qwen2, stories260K, mixtral and qwen2moe in F32
}

}  // namespace
}  // namespace uma
