// uma quantize: per-tensor type mixes (checked against files written by llama.cpp's quantizer),
// logits and perplexity of quantized models against their F32 originals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "test_data.h"
#include "uma/core/error.h"
#include "uma/runtime/loaded_model.h"
#include "uma/runtime/perplexity.h"
#include "uma/runtime/quantize.h"
#include "uma/runtime/session.h"

namespace uma {
namespace {

namespace fs = std::filesystem;

fs::path temp_file(const std::string& name) {
    return fs::temp_directory_path() /
           ("uma_quantize_test_" + std::to_string(::getpid()) + "_" + name);
}

std::map<std::string, GgmlType> tensor_types(const std::string& path) {
    std::map<std::string, GgmlType> types;
    const auto file = GgufFile::open(path);
    for (const auto& t : file->tensors()) types[t.name] = t.type;
    return types;
}

std::vector<float> all_logits(const std::string& path, const std::vector<TokenId>& tokens) {
    auto m = LoadedModel::load(path, 2);
    Session session(*m.model, *m.tokenizer, *m.backend, 64);
    return session.feed_all_logits(tokens);
}

double rel_max_err(const std::vector<float>& a, const std::vector<float>& b) {
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        max_diff = std::max(max_diff, std::abs(double(a[i]) - double(b[i])));
        max_ref = std::max(max_ref, std::abs(double(b[i])));
    }
    return max_diff / max_ref;
}

const std::vector<TokenId> kPrompt = {1,   403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315,
                                      421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419};

// One conversion per type, shared by the tests below.
class QuantizeTinyLlama : public ::testing::TestWithParam<std::string> {
  protected:
    static void TearDownTestSuite() {
        for (const auto& [type, path] : outputs()) fs::remove(path);
    }
    static std::map<std::string, std::string>& outputs() {
        static std::map<std::string, std::string> paths;
        return paths;
    }
    static std::string quantized(const std::string& type) {
        auto& paths = outputs();
        if (!paths.count(type)) {
            const std::string out = temp_file("tiny-llama-" + type + ".gguf").string();
            quantize_model(f32(), out, find_quant_scheme(type), 2);
            paths[type] = out;
        }
        return paths[type];
    }
    static std::string f32() {
        return test::data_path("golden/logits/models/tiny-llama-F32.gguf").string();
    }
};

// The reference quantizer's files exist for these: every tensor must get the same type.
TEST_P(QuantizeTinyLlama, TensorTypesMatchTheReferenceMix) {
    const std::string type = GetParam();
    const auto reference =
        tensor_types(test::data_path("golden/logits/models/tiny-llama-" + type + ".gguf").string());
    const auto ours = tensor_types(quantized(type));
    ASSERT_EQ(ours.size(), reference.size());
    for (const auto& [name, ref_type] : reference)
        EXPECT_EQ(type_name(ours.at(name)), type_name(ref_type)) << type << " " << name;
    EXPECT_EQ(GgufFile::open(quantized(type))->get_int("general.file_type", -1),
              find_quant_scheme(type).file_type);
}

// Our encoders may be simpler than the reference's, but not much worse: the logits of our file
// stay within 1.5x (plus a small floor) of the reference file's distance from the F32 logits.
TEST_P(QuantizeTinyLlama, LogitsStayCloseToF32AsTheReferenceQuantizerDoes) {
    const std::string type = GetParam();
    const auto exact = all_logits(f32(), kPrompt);
    const double ours = rel_max_err(all_logits(quantized(type), kPrompt), exact);
    const double reference = rel_max_err(
        all_logits(test::data_path("golden/logits/models/tiny-llama-" + type + ".gguf").string(),
                   kPrompt),
        exact);
    EXPECT_LT(ours, 1.5 * reference + 0.01)
        << type << ": ours " << ours << ", reference " << reference;
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizeTinyLlama,
                         ::testing::Values("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_M",
                                           "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS"));

TEST(Quantize, MixesWithoutReferenceFilesFollowTheRules) {
    // TinyLlama-1.1B: 22 layers, 32 heads, 4 KV heads (n_gqa 8).
    std::vector<TensorDesc> tensors = {{"token_embd.weight", {2048, 32000}}};
    for (int l = 0; l < 22; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        tensors.push_back({p + "attn_norm.weight", {2048}});
        tensors.push_back({p + "attn_v.weight", {2048, 256}});
        tensors.push_back({p + "attn_output.weight", {2048, 2048}});
        tensors.push_back({p + "ffn_down.weight", {5632, 2048}});
    }
    tensors.push_back({"output.weight", {2048, 32000}});
    const std::vector<GgmlType> keep(tensors.size(), GgmlType::F32);
    const ModelHints hints{"llama", 32, 4, 0};
    const auto type_of = [&](const std::string& scheme, const std::string& name) {
        const auto types = plan_tensor_types(find_quant_scheme(scheme), tensors, keep, hints);
        for (size_t i = 0; i < tensors.size(); ++i)
            if (tensors[i].name == name) return std::string(type_name(types[i]));
        return std::string("missing");
    };
    EXPECT_EQ(type_of("Q4_K_M", "output.weight"), "Q6_K");
    EXPECT_EQ(type_of("Q4_K_M", "token_embd.weight"), "Q4_K");
    EXPECT_EQ(type_of("Q4_K_M", "blk.0.attn_norm.weight"), "F32");
    // use_more_bits(i, 22): i < 2, i >= 19, or (i - 2) % 3 == 2.
    for (int l = 0; l < 22; ++l) {
        const bool more = l < 2 || l >= 19 || (l - 2) % 3 == 2;
        EXPECT_EQ(type_of("Q4_K_M", "blk." + std::to_string(l) + ".ffn_down.weight"),
                  more ? "Q6_K" : "Q4_K")
            << l;
    }
    EXPECT_EQ(type_of("Q4_K_S", "blk.3.attn_v.weight"), "Q5_K");
    EXPECT_EQ(type_of("Q4_K_S", "blk.4.attn_v.weight"), "Q4_K");
    EXPECT_EQ(type_of("Q4_K_S", "blk.1.ffn_down.weight"), "Q5_K");
    EXPECT_EQ(type_of("Q4_K_S", "blk.2.ffn_down.weight"), "Q4_K");
    EXPECT_EQ(type_of("Q3_K_S", "blk.0.attn_v.weight"), "Q3_K");
    EXPECT_EQ(type_of("Q3_K_S", "output.weight"), "Q6_K");
    EXPECT_EQ(type_of("Q3_K_L", "blk.5.attn_v.weight"), "Q5_K");
    EXPECT_EQ(type_of("Q3_K_L", "blk.5.ffn_down.weight"), "Q5_K");
    EXPECT_EQ(type_of("Q3_K_L", "blk.5.attn_output.weight"), "Q5_K");
    EXPECT_EQ(type_of("Q2_K", "blk.5.attn_v.weight"), "Q4_K");  // n_gqa >= 4
    EXPECT_EQ(type_of("IQ4_XS", "blk.5.attn_v.weight"), "Q5_K");
    EXPECT_EQ(type_of("Q5_K_S", "blk.0.ffn_down.weight"), "Q5_K");
    EXPECT_EQ(type_of("Q8_0", "output.weight"), "Q8_0");
    EXPECT_EQ(type_of("Q4_0", "output.weight"), "Q6_K");
}

TEST(Quantize, RowsThatAreNotWholeSuperBlocksFallBackLikeTheReference) {
    // stories260K: width 64, so no K-quant fits a row.
    const std::string out = temp_file("stories-Q4_K_M.gguf").string();
    quantize_model(test::data_path("models/stories260K.gguf").string(), out,
                   find_quant_scheme("Q4_K_M"), 2);
    const auto types = tensor_types(out);
    EXPECT_EQ(type_name(types.at("output.weight")), "Q8_0");
    EXPECT_EQ(type_name(types.at("token_embd.weight")), "Q5_0");
    EXPECT_EQ(type_name(types.at("blk.0.attn_q.weight")), "Q5_0");
    EXPECT_EQ(type_name(types.at("blk.0.attn_norm.weight")), "F32");
    auto m = LoadedModel::load(out, 1);
    EXPECT_FALSE(m.tokenizer->encode("Once upon a time", true, false).empty());
    fs::remove(out);
}

TEST(Quantize, Q8_0StoriesKeepsThePerplexityAndTheDistribution) {
    const std::string base = test::data_path("models/stories260K.gguf").string();
    const std::string out = temp_file("stories-Q8_0.gguf").string();
    quantize_model(base, out, find_quant_scheme("Q8_0"), 2);
    std::ifstream in(test::data_path("golden/logits/ppl_text.txt"));
    std::stringstream text;
    text << in.rdbuf();
    auto m = LoadedModel::load(out, 2);
    auto f32 = load_model(base);
    const auto r = compute_kl_divergence(*m.model, *f32, *m.tokenizer, *m.backend, text.str(), 128);
    EXPECT_NEAR(r.base.perplexity, 3.7615, 3.7615 * 0.005);
    EXPECT_NEAR(r.model.perplexity, r.base.perplexity, r.base.perplexity * 0.01);
    EXPECT_LT(r.mean_kl, 2e-3);
    EXPECT_GT(r.top1_agreement, 0.95);
    fs::remove(out);
}

TEST(Quantize, KlDivergenceOfAModelFromItselfIsZero) {
    const std::string path = test::data_path("models/stories260K.gguf").string();
    std::ifstream in(test::data_path("golden/logits/ppl_text.txt"));
    std::stringstream text;
    text << in.rdbuf();
    auto m = LoadedModel::load(path, 2);
    auto same = load_model(path);
    const auto r =
        compute_kl_divergence(*m.model, *same, *m.tokenizer, *m.backend, text.str(), 128);
    EXPECT_NEAR(r.mean_kl, 0.0, 1e-9);
    EXPECT_EQ(r.top1_agreement, 1.0);
    EXPECT_DOUBLE_EQ(r.model.perplexity, r.base.perplexity);
}

TEST(Quantize, RejectsUnknownTypesNamingTheKnownOnes) {
    try {
        find_quant_scheme("Q7_K");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("Q4_K_M"), std::string::npos) << e.what();
    }
    EXPECT_EQ(find_quant_scheme("q4_k_m").file_type, 15);
}

}  // namespace
}  // namespace uma
