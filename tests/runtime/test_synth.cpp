// uma synth: random-weight models with the real shapes of well-known models.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "test_data.h"
#include "uma/core/error.h"
#include "uma/runtime/loaded_model.h"
#include "uma/runtime/session.h"
#include "uma/runtime/synth.h"
#include "uma/tokenizer/tokenizer.h"

namespace uma {
namespace {

namespace fs = std::filesystem;

fs::path temp_file(const std::string& name) {
    return fs::temp_directory_path() /
           ("uma_synth_test_" + std::to_string(::getpid()) + "_" + name);
}

size_t total_bytes(const std::vector<GgufStreamWriter::Tensor>& tensors) {
    size_t n = 0;
    for (const auto& t : tensors) n += t.bytes();
    return n;
}

int64_t total_parameters(const std::vector<GgufStreamWriter::Tensor>& tensors) {
    int64_t n = 0;
    for (const auto& t : tensors) n += t.rows() * t.dims[0];
    return n;
}

TEST(Synth, WritesALoadableModelWithTheShapesAndTheVocabulary) {
    const std::string out = temp_file("tiny.gguf").string();
    SynthOptions options;
    options.output_path = out;
    options.vocab_path = test::data_path("models/stories260K.gguf").string();
    options.n_threads = 2;
    const auto report =
        synth_model(find_synth_shape("test-tiny"), find_quant_scheme("Q4_K_M"), options);
    EXPECT_EQ(report.n_vocab, 512);
    auto m = LoadedModel::load(out, 2);
    const ModelConfig& c = m.model->config();
    EXPECT_EQ(c.architecture, "llama");
    EXPECT_EQ(c.n_embd, 256);
    EXPECT_EQ(c.n_layer, 2);
    EXPECT_EQ(c.n_head, 4);
    EXPECT_EQ(c.n_head_kv, 2);
    EXPECT_EQ(c.n_ff, 768);
    EXPECT_EQ(c.n_vocab, 512);
    EXPECT_EQ(m.tokenizer->vocab_size(), 512);
    const GgufFile& f = m.model->file();
    EXPECT_EQ(f.get_int("general.file_type", -1), 15);
    EXPECT_EQ(f.require_tensor("output.weight").type, GgmlType::Q6_K);
    EXPECT_EQ(f.require_tensor("blk.0.ffn_gate.weight").type, GgmlType::Q4_K);
    EXPECT_EQ(f.require_tensor("blk.1.ffn_down.weight").type, GgmlType::Q6_K);
    EXPECT_EQ(f.require_tensor("blk.0.attn_norm.weight").type, GgmlType::F32);
    EXPECT_EQ(m.model->parameter_count(), report.parameters);

    Session session(*m.model, *m.tokenizer, *m.backend, 32);
    const auto logits = session.feed(m.tokenizer->encode("Once upon a time", true, false));
    for (float x : logits) ASSERT_TRUE(std::isfinite(x));
    fs::remove(out);
}

TEST(Synth, Qwen2ShapeHasBiasesAndTiedEmbeddingAndPadsTheVocabulary) {
    const std::string out = temp_file("tiny-qwen2.gguf").string();
    SynthOptions options;
    options.output_path = out;
    options.vocab_path = test::data_path("models/stories260K.gguf").string();
    synth_model(find_synth_shape("test-tiny-qwen2"), find_quant_scheme("Q8_0"), options);
    auto m = LoadedModel::load(out, 1);
    const GgufFile& f = m.model->file();
    EXPECT_EQ(m.model->config().architecture, "qwen2");
    EXPECT_NE(f.find_tensor("blk.0.attn_q.bias"), nullptr);
    EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
    EXPECT_EQ(f.require_tensor("token_embd.weight").type, GgmlType::Q8_0);
    fs::remove(out);
}

TEST(Synth, RealShapesHaveTheirPublishedSizes) {
    // Parameter counts of the real models (embedding padded where the vocabulary differs).
    const auto tinyllama =
        synth_tensors(find_synth_shape("tinyllama-1.1b"), find_quant_scheme("Q4_K_M"), 32000);
    EXPECT_NEAR(double(total_parameters(tinyllama)), 1.100e9, 0.005e9);
    // llama.cpp's TinyLlama Q4_K_M file holds 636-638 MiB of tensors.
    EXPECT_NEAR(double(total_bytes(tinyllama)) / (1 << 20), 637, 3);
    const auto mistral =
        synth_tensors(find_synth_shape("mistral-7b"), find_quant_scheme("Q4_K_M"), 32000);
    EXPECT_NEAR(double(total_parameters(mistral)), 7.24e9, 0.01e9);
    const auto llama8b =
        synth_tensors(find_synth_shape("llama-3.1-8b"), find_quant_scheme("Q8_0"), 128256);
    EXPECT_NEAR(double(total_parameters(llama8b)), 8.03e9, 0.01e9);
    const auto qwen05 =
        synth_tensors(find_synth_shape("qwen2.5-0.5b"), find_quant_scheme("Q4_K_M"), 151936);
    EXPECT_NEAR(double(total_parameters(qwen05)), 0.494e9, 0.005e9);
    // 896-wide rows are not whole K-quant super-blocks: llama.cpp's fallbacks apply.
    for (const auto& t : qwen05) {
        if (t.name == "blk.0.attn_q.weight") {
            EXPECT_EQ(t.type, GgmlType::Q5_0);
        }
    }
    const auto llama1b =
        synth_tensors(find_synth_shape("llama-3.2-1b"), find_quant_scheme("Q4_0"), 128256);
    EXPECT_NEAR(double(total_parameters(llama1b)), 1.236e9, 0.005e9);
}

TEST(Synth, EveryShapesVocabularyLoads) {
    for (const SynthShape& shape : synth_shapes()) {
        const std::string path = find_vocab_file(std::string(shape.vocab_file));
        const auto tokenizer = Tokenizer::from_file(path);
        EXPECT_GT(tokenizer->vocab_size(), 1000) << shape.name;
        if (shape.n_vocab > 0) {
            EXPECT_LE(tokenizer->vocab_size(), shape.n_vocab) << shape.name;
        }
    }
}

TEST(Synth, UnknownShapeErrorListsTheKnownOnes) {
    try {
        find_synth_shape("gpt-5");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("tinyllama-1.1b"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace uma
