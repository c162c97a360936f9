// The forward pass alone (no tokenizer, no session) against the golden logits of every tiny model
// in ../shared/golden/logits, and decoding token by token against the reference's greedy
// continuation of stories260K. Built for AArch64 too (tests/arm64), where it runs every NEON
// kernel together on real models under qemu.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/golden_logits.h"
#include "uma/backends/backend.h"
#include "uma/models/model.h"

namespace uma {
namespace {

struct Loaded {
    std::unique_ptr<Model> model;
    std::unique_ptr<Backend> backend;
};

// The model with its matrices prepared (packed where the CPU has a packed format), as uma runs it.
Loaded load(const std::filesystem::path& path) {
    Loaded m{load_model(path.lexically_normal().string()), make_cpu_backend(2)};
    for (const Weight& w : m.model->matrices()) m.backend->prepare(w);
    return m;
}

TEST(GoldenForward, EveryCaseMatchesBothOracles) {
    const auto dir = test::data_dir() / "golden/logits";
    const nlohmann::json cases = test::manifest()["cases"];
    int checked = 0;
    for (const auto& c : cases) {
        SCOPED_TRACE(c["model"].get<std::string>());
        Loaded m = load(dir / c["model"].get<std::string>());
        const auto ids = c["prompt_ids"].get<std::vector<TokenId>>();
        const int64_t vocab = c["n_vocab"].get<int64_t>();
        KvCache cache = m.model->make_cache(128, GgmlType::F16);
        std::vector<float> logits;
        m.model->forward(ids, cache, *m.backend, logits, true);
        ASSERT_EQ(logits.size(), ids.size() * static_cast<size_t>(vocab));
        const test::Tolerance tol = test::tolerance_for(c["tensor_types"]);
        const auto vs_ref =
            test::compare(logits, test::read_f32(dir / c["logits_ref"].get<std::string>()), vocab);
        EXPECT_LE(vs_ref.rel_max_err, tol.ref) << "vs reference";
        EXPECT_GE(vs_ref.argmax_agree, 0.9) << "vs reference";
        if (!c["logits_exact"].is_null()) {
            const auto vs_exact = test::compare(
                logits, test::read_f32(dir / c["logits_exact"].get<std::string>()), vocab);
            EXPECT_LE(vs_exact.rel_max_err, tol.exact) << "vs exact";
            EXPECT_GE(vs_exact.argmax_agree, 0.9) << "vs exact";
        }
        ++checked;
    }
    EXPECT_EQ(checked, static_cast<int>(cases.size()));
}

TEST(GoldenForward, StoriesDecodesTheReferenceContinuationTokenByToken) {
    Loaded m = load(test::data_path("models/stories260K.gguf"));
    const std::vector<TokenId>& prompt = test::kStoriesPrompt;
    const std::vector<TokenId>& expected = test::kStoriesContinuation;
    KvCache cache = m.model->make_cache(256, GgmlType::F16);
    std::vector<float> logits;
    m.model->forward(prompt, cache, *m.backend, logits, false);
    std::vector<TokenId> out(prompt.begin() + 1, prompt.end());
    while (out.size() < expected.size()) {
        const TokenId next = TokenId(test::largest(logits));
        out.push_back(next);
        m.model->forward(std::span<const TokenId>(&next, 1), cache, *m.backend, logits, false);
    }
    EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace uma
