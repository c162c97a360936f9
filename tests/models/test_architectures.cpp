// Every architecture checked against the naive float64 forward pass in tiny_model.h on random
// models with real tensor names and metadata keys, several seeds each. This is the oracle for the
// families without a golden case in ../shared (qwen3, qwen3moe, gemma3) and a second, independent
// check for the others.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "tiny_model.h"
#include "uma/models/model.h"

namespace uma {
namespace {

struct ArchCase {
    std::string name;
    test::TinySpec spec;
};

ArchCase make_case(const std::string& name) {
    test::TinySpec s;
    if (name == "qwen3") {
        s.arch = "qwen3";
        s.qk_norm = true;
    } else if (name == "qwen3moe") {
        s.arch = "qwen3moe";
        s.qk_norm = true;
        s.n_expert = 4;
        s.n_expert_used = 2;
    } else if (name == "qwen2moe") {
        s.arch = "qwen2moe";
        s.qkv_bias = true;
        s.n_expert = 4;
        s.n_expert_used = 2;
        s.n_ff_shared = 48;
        s.shared_gate = true;
        s.normalize_expert_weights = false;
    } else if (name == "mixtral") {
        s.arch = "llama";
        s.n_expert = 4;
        s.n_expert_used = 2;
    } else if (name == "deepseek2-lite") {  // V2-Lite shape: no q compression, softmax routing
        s.arch = "deepseek2";
        s.n_head_kv = s.n_head;
        s.n_expert = 4;
        s.n_expert_used = 2;
        s.n_dense_lead = 1;
        s.n_expert_shared = 2;
        s.expert_scale = 1.0f;
    } else if (name == "deepseek3") {  // V3 shape: compressed q, sigmoid routing with bias
        s.arch = "deepseek2";
        s.n_head_kv = s.n_head;
        s.q_lora_rank = 24;
        s.n_layer = 3;
        s.n_expert = 8;
        s.n_expert_used = 3;
        s.n_dense_lead = 1;
        s.n_expert_shared = 1;
        s.sigmoid_gating = true;
        s.selection_bias = true;
        s.normalize_expert_weights = true;
        s.expert_scale = 2.5f;
    } else if (name == "gemma2") {
        s.arch = "gemma2";
        s.tied_output = true;
        s.window = 3;
        s.attn_softcap = 5.0f;
        s.final_softcap = 3.0f;
        s.eps = 1e-6f;
    } else if (name == "gemma3") {
        s.arch = "gemma3";
        s.tied_output = true;
        s.qk_norm = true;
        s.window = 3;
        s.n_layer = 7;  // layer 5 is global, the others slide
        s.rope_base = 1000000.0f;
        s.eps = 1e-6f;
    }
    return {name, s};
}

class Architecture : public ::testing::TestWithParam<std::string> {};

TEST_P(Architecture, MatchesTheNaiveFloat64ForwardPass) {
    for (uint32_t seed : {11u, 12u, 13u}) {
        ArchCase c = make_case(GetParam());
        c.spec.seed = seed;
        test::TinyModel tiny(c.spec);
        const auto path = std::filesystem::temp_directory_path() /
                          ("uma_arch_" + c.name + "_" + std::to_string(::getpid()) + ".gguf");
        tiny.writer().write(path.string());
        const std::vector<int32_t> tokens = {1, 17, 5, 33, 12, 7, 60, 2, 41, 41, 3, 9, 22};
        const std::vector<double> ref = tiny.reference_logits(tokens);

        auto model = load_model(path.string());
        EXPECT_EQ(model->config().architecture, c.spec.arch);
        auto backend = make_cpu_backend(2);
        // Whole prompt at once, then again token by token: both must match the oracle.
        for (int64_t batch : {int64_t(13), int64_t(1)}) {
            KvCache cache = model->make_cache(32, GgmlType::F32);
            std::vector<float> all, logits;
            for (size_t begin = 0; begin < tokens.size(); begin += batch) {
                const size_t count = std::min<size_t>(batch, tokens.size() - begin);
                model->forward(std::span<const int32_t>(tokens.data() + begin, count), cache,
                               *backend, logits, true);
                all.insert(all.end(), logits.begin(), logits.end());
            }
            ASSERT_EQ(all.size(), ref.size());
            double max_abs = 0, max_err = 0;
            for (size_t i = 0; i < ref.size(); ++i) {
                max_abs = std::max(max_abs, std::abs(ref[i]));
                max_err = std::max(max_err, std::abs(all[i] - ref[i]));
            }
            EXPECT_LT(max_err / max_abs, 1e-4) << c.name << " seed " << seed << " batch " << batch;
        }
        std::filesystem::remove(path);
    }
}

INSTANTIATE_TEST_SUITE_P(Families, Architecture,
                         ::testing::Values("qwen3", "qwen3moe", "qwen2moe", "mixtral", "gemma2",
                                           "gemma3", "deepseek2-lite", "deepseek3"),
                         [](const auto& info) {
                             std::string name = info.param;
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

TEST(ArchitectureMoe, ActiveParametersCountOnlyTheUsedExperts) {
    ArchCase c = make_case("qwen3moe");
    test::TinyModel tiny(c.spec);
    const auto path = std::filesystem::temp_directory_path() /
                      ("uma_moe_params_" + std::to_string(::getpid()) + ".gguf");
    tiny.writer().write(path.string());
    auto model = load_model(path.string());
    const int64_t d = c.spec.n_embd, f = c.spec.n_ff_expert, layers = c.spec.n_layer;
    const int64_t expert_params = layers * 3 * d * f * c.spec.n_expert;
    EXPECT_EQ(model->parameter_count() - model->active_parameter_count(), expert_params / 2);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace uma

namespace uma {
namespace {

// Sliding-window layers keep only window + batch - 1 rows; decoding far past the window must
// still match a full-size computation.
TEST(SlidingWindowCache, RingBufferMatchesTheOracleWellPastTheWindow) {
    ArchCase c = make_case("gemma2");
    c.spec.window = 3;
    test::TinyModel tiny(c.spec);
    const auto path = std::filesystem::temp_directory_path() /
                      ("uma_swa_ring_" + std::to_string(::getpid()) + ".gguf");
    tiny.writer().write(path.string());
    std::vector<int32_t> tokens;
    // More tokens than the ring holds (3 + 512 - 1 rows), so it wraps around.
    for (int i = 0; i < 530; ++i) tokens.push_back(1 + (i * 7) % 60);
    const std::vector<double> ref = tiny.reference_logits(tokens);
    auto model = load_model(path.string());
    auto backend = make_cpu_backend(2);
    KvCache cache = model->make_cache(1024, GgmlType::F32);  // > window + batch: ring layers
    // Sliding layers hold window + max batch - 1 rows, global ones all 1024.
    EXPECT_LT(cache.bytes(), model->cache_bytes(1024, GgmlType::F32) + 1);
    EXPECT_LT(model->cache_bytes(1024, GgmlType::F32),
              size_t(c.spec.n_layer) * 1024 * 2 * size_t(c.spec.n_head_kv) * 16 * 4);
    std::vector<float> all, logits;
    for (size_t i = 0; i < tokens.size(); ++i) {
        model->forward(std::span<const int32_t>(&tokens[i], 1), cache, *backend, logits, true);
        all.insert(all.end(), logits.begin(), logits.end());
    }
    double max_abs = 0, max_err = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        max_abs = std::max(max_abs, std::abs(ref[i]));
        max_err = std::max(max_err, std::abs(all[i] - ref[i]));
    }
    EXPECT_LT(max_err / max_abs, 1e-4);
    // Truncating to an early prefix is refused once the ring has moved past it.
    EXPECT_EQ(cache.reusable_prefix(529), 529);
    EXPECT_EQ(cache.reusable_prefix(10), 0);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace uma
