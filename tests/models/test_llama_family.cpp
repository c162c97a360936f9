#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tiny_model.h"
#include "uma/core/error.h"
#include "uma/models/model.h"

namespace uma {
namespace {

// ctest runs tests in parallel processes: each file name carries the process id.
std::string write_temp(const GgufWriter& w, const std::string& name) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("uma_" + name + "_" + std::to_string(::getpid()) + ".gguf");
    w.write(path.string());
    return path.string();
}

double rel_max_err(const std::vector<float>& ours, const std::vector<double>& ref) {
    double max_abs = 0, max_err = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        max_abs = std::max(max_abs, std::abs(ref[i]));
        max_err = std::max(max_err, std::abs(double(ours[i]) - ref[i]));
    }
    return max_err / max_abs;
}

std::vector<float> run_all_logits(const std::string& path, const std::vector<int32_t>& tokens,
                                  int threads, int64_t batch) {
    auto model = load_model(path);
    auto backend = make_cpu_backend(threads);
    KvCache cache = model->make_cache(64, GgmlType::F32);
    std::vector<float> all, logits;
    for (size_t begin = 0; begin < tokens.size(); begin += batch) {
        const size_t count = std::min<size_t>(batch, tokens.size() - begin);
        model->forward(std::span<const int32_t>(tokens.data() + begin, count), cache, *backend,
                       logits, true);
        all.insert(all.end(), logits.begin(), logits.end());
    }
    return all;
}

struct FamilyCase {
    std::string arch;
    bool bias;
    bool tied;
    GgmlType type;
    double tolerance;
};

class LlamaFamily : public ::testing::TestWithParam<FamilyCase> {};

TEST_P(LlamaFamily, MatchesANaiveFloat64ForwardPassOnSeveralSeeds) {
    const FamilyCase c = GetParam();
    for (uint32_t seed : {1u, 2u, 3u}) {
        test::TinySpec spec;
        spec.arch = c.arch;
        spec.qkv_bias = c.bias;
        spec.tied_output = c.tied;
        spec.matrix_type = c.type;
        spec.seed = seed;
        if (traits(c.type).block_size == 256) spec.n_embd = spec.n_ff = 256;  // K-quant blocks
        test::TinyModel tiny(spec);
        const std::string path = write_temp(tiny.writer(), "family_" + c.arch);
        const std::vector<int32_t> tokens = {1, 5, 9, 33, 12, 7, 60, 2, 41, 41, 3};
        const auto ref = tiny.reference_logits(tokens);
        // One batch, token by token, and uneven batches must all agree with the reference.
        for (int64_t batch : {int64_t(11), int64_t(1), int64_t(4)}) {
            const auto ours = run_all_logits(path, tokens, 2, batch);
            ASSERT_EQ(ours.size(), ref.size());
            EXPECT_LT(rel_max_err(ours, ref), c.tolerance)
                << c.arch << " seed " << seed << " batch " << batch;
        }
        std::filesystem::remove(path);
    }
}

INSTANTIATE_TEST_SUITE_P(Architectures, LlamaFamily,
                         ::testing::Values(FamilyCase{"llama", false, false, GgmlType::F32, 1e-4},
                                           FamilyCase{"llama", false, true, GgmlType::F16, 2e-3},
                                           FamilyCase{"qwen2", true, false, GgmlType::F32, 1e-4},
                                           FamilyCase{"qwen2", true, true, GgmlType::Q8_0, 4e-2},
                                           FamilyCase{"llama", false, false, GgmlType::Q4_K, 8e-2}),
                         [](const auto& info) {
                             return info.param.arch + (info.param.bias ? "_bias" : "") +
                                    (info.param.tied ? "_tied" : "") + "_" +
                                    std::string(type_name(info.param.type));
                         });

std::string load_error(const GgufWriter& w) {
    const std::string path = write_temp(w, "bad_model");
    try {
        load_model(path);
    } catch (const Error& e) {
        std::filesystem::remove(path);
        return e.what();
    }
    std::filesystem::remove(path);
    return "<no error>";
}

TEST(ModelLoading, MissingTensorIsNamed) {
    test::TinyModel tiny{test::TinySpec{}};
    tiny.tensors().erase("blk.1.ffn_up.weight");
    EXPECT_NE(load_error(tiny.writer()).find("missing required tensor 'blk.1.ffn_up.weight'"),
              std::string::npos);
}

TEST(ModelLoading, ShapeMismatchAgainstHyperparametersIsNamed) {
    test::TinyModel tiny{test::TinySpec{}};
    auto& t = tiny.tensors()["blk.0.attn_k.weight"];
    t.dims = {64, 64};
    t.values.resize(64 * 64);
    const std::string err = load_error(tiny.writer());
    EXPECT_NE(err.find("tensor 'blk.0.attn_k.weight' has shape [64, 64], expected [64, 32]"),
              std::string::npos)
        << err;
}

TEST(ModelLoading, MissingHyperparameterIsNamed) {
    test::TinyModel tiny{test::TinySpec{}};
    GgufWriter w = tiny.writer();
    GgufWriter copy;
    const auto bytes = w.to_bytes();
    auto parsed = GgufFile::from_memory(bytes);
    for (const auto& key : parsed->keys())
        if (key != "llama.block_count") copy.set(key, *parsed->find(key));
    for (const auto& t : parsed->tensors()) copy.add_tensor(t.name, t.type, t.dims, t.data);
    EXPECT_NE(load_error(copy).find("missing required metadata key 'llama.block_count'"),
              std::string::npos);
}

TEST(ModelLoading, UnsupportedTensorTypeIsNamed) {
    test::TinySpec spec;
    spec.n_embd = 256;
    test::TinyModel tiny{spec};
    GgufWriter w = tiny.writer();
    const auto bytes = w.to_bytes();
    auto parsed = GgufFile::from_memory(bytes);
    GgufWriter copy;
    for (const auto& key : parsed->keys()) copy.set(key, *parsed->find(key));
    for (const auto& t : parsed->tensors()) {
        if (t.name == "blk.0.attn_q.weight") {
            // 256 rows of one IQ2_XXS block (256 values, 66 bytes) each
            std::vector<uint8_t> junk(256 * 66, 0);
            copy.add_tensor(t.name, GgmlType::IQ2_XXS, {256, 256}, junk.data());
        } else {
            copy.add_tensor(t.name, t.type, t.dims, t.data);
        }
    }
    const std::string err = load_error(copy);
    EXPECT_NE(err.find("tensor 'blk.0.attn_q.weight' has type IQ2_XXS, which uma does not support"),
              std::string::npos)
        << err;
}

TEST(ModelLoading, ForwardBeyondTheContextFailsClearly) {
    test::TinyModel tiny{test::TinySpec{}};
    const std::string path = write_temp(tiny.writer(), "ctx_model");
    auto model = load_model(path);
    auto backend = make_cpu_backend(1);
    KvCache cache = model->make_cache(4, GgmlType::F16);
    std::vector<float> logits;
    const std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
    try {
        model->forward(tokens, cache, *backend, logits, false);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("5 tokens do not fit in a context of 4"),
                  std::string::npos);
    }
    const std::vector<int32_t> bad = {1, 999};
    EXPECT_THROW(model->forward(bad, cache, *backend, logits, false), Error);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace uma
