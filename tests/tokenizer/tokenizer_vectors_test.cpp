// Reproduces the reference tokenizations in shared/vocab/*.gguf.out exactly: every GGUF vocabulary
// with test vectors, and the Llama 3 / Qwen2 vectors through their tiktoken rank files.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "test_data.h"
#include "uma/core/gguf.h"
#include "uma/tokenizer/tokenizer.h"

namespace {

using uma::TokenId;
using uma::Tokenizer;

struct Vectors {
    std::vector<std::string> inputs;
    std::vector<std::vector<TokenId>> expected;
};

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// X.gguf.inp: strings, each followed by "\n__ggml_vocab_test__\n". X.gguf.out: one line of
// space-separated ids per string.
Vectors load_vectors(const std::string& name) {
    Vectors v;
    const std::string inp = read_file(uma::test::data_path("vocab/" + name + ".inp"));
    const std::string sep = "\n__ggml_vocab_test__\n";
    size_t pos = 0;
    while (pos < inp.size()) {
        const size_t hit = inp.find(sep, pos);
        if (hit == std::string::npos) {
            v.inputs.push_back(inp.substr(pos));
            break;
        }
        v.inputs.push_back(inp.substr(pos, hit - pos));
        pos = hit + sep.size();
    }
    std::istringstream out(read_file(uma::test::data_path("vocab/" + name + ".out")));
    std::string line;
    while (std::getline(out, line)) {
        std::istringstream ids(line);
        std::vector<TokenId> row;
        TokenId id;
        while (ids >> id) row.push_back(id);
        v.expected.push_back(std::move(row));
    }
    return v;
}

std::string show(const std::string& s) {
    std::string out = "\"" + uma::escape_piece(s) + "\"";
    return out;
}

std::string show(const std::vector<TokenId>& ids) {
    std::string out = "[";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
    return out + "]";
}

// Encodes every input (no BOS/EOS, special tokens not parsed) and compares with the reference.
// Also checks that decoding gives the input back where the model round-trips.
void check_vectors(const Tokenizer& tok, const std::string& name, bool round_trip,
                   bool spm = false) {
    const Vectors v = load_vectors(name);
    ASSERT_FALSE(v.inputs.empty()) << name;
    ASSERT_EQ(v.inputs.size(), v.expected.size()) << name << ": .inp and .out disagree";
    size_t matched = 0;
    for (size_t i = 0; i < v.inputs.size(); ++i) {
        const auto ids = tok.encode(v.inputs[i], false, false);
        if (ids == v.expected[i]) {
            ++matched;
        } else {
            ADD_FAILURE() << name << " line " << i + 1 << ": input " << show(v.inputs[i])
                          << "\n  expected " << show(v.expected[i]) << "\n  got      " << show(ids);
        }
        if (round_trip) {
            EXPECT_EQ(tok.decode(ids, false, spm), v.inputs[i])
                << name << " line " << i + 1 << " does not round-trip";
        }
    }
    EXPECT_EQ(matched, v.inputs.size()) << name;
}

struct VocabCase {
    const char* vocab;  // ggml-vocab-<vocab>.gguf
    const char* model;
    const char* pre;
    bool round_trip;
};

class TokenizerVocab : public ::testing::TestWithParam<VocabCase> {};

// ggml-vocab-dbrx.gguf stores general.file_type twice, which the GGUF reader (like llama.cpp's)
// rejects. The tokenizer keys are fine, so rename the second copy in memory to test them.
std::unique_ptr<Tokenizer> load_dbrx(const std::filesystem::path& path) {
    const std::string bytes = read_file(path);
    const std::string key = "general.file_type";
    const size_t first = bytes.find(key);
    const size_t second = bytes.find(key, first + 1);
    EXPECT_NE(second, std::string::npos) << "the duplicate key is gone: load the file directly";
    std::vector<uint8_t> patched(bytes.begin(), bytes.end());
    if (second != std::string::npos) patched[second + key.size() - 1] = 'X';
    const auto file = uma::GgufFile::from_memory(patched, path.string());
    return Tokenizer::from_gguf(*file);
}

TEST_P(TokenizerVocab, ReproducesReferenceVectors) {
    const VocabCase& c = GetParam();
    const std::string file = std::string("ggml-vocab-") + c.vocab + ".gguf";
    const auto path = uma::test::data_path("vocab/" + file);
    const auto tok =
        std::string(c.vocab) == "dbrx" ? load_dbrx(path) : Tokenizer::from_file(path.string());
    EXPECT_EQ(tok->model_name(), c.model);
    EXPECT_EQ(tok->pre_tokenizer_name(), c.pre);
    check_vectors(*tok, file, c.round_trip, std::string(c.model) == "llama");
}

INSTANTIATE_TEST_SUITE_P(
    TokenizerGguf, TokenizerVocab,
    ::testing::Values(
        VocabCase{"llama-spm", "llama", "", true}, VocabCase{"phi-3", "llama", "", true},
        VocabCase{"bert-bge", "bert", "", false}, VocabCase{"gpt-2", "gpt2", "gpt-2", true},
        VocabCase{"mpt", "gpt2", "mpt", true}, VocabCase{"falcon", "gpt2", "falcon", true},
        VocabCase{"starcoder", "gpt2", "starcoder", true},
        VocabCase{"refact", "gpt2", "refact", true}, VocabCase{"dbrx", "gpt2", "dbrx", true},
        VocabCase{"deepseek-llm", "gpt2", "deepseek-llm", true},
        VocabCase{"deepseek-coder", "gpt2", "deepseek-coder", true}),
    [](const ::testing::TestParamInfo<VocabCase>& info) {
        std::string name = info.param.vocab;
        for (char& ch : name) {
            if (ch == '-') ch = '_';
        }
        return name;
    });

std::vector<std::string> llama3_special_tokens() {
    std::vector<std::string> s = {"<|begin_of_text|>",
                                  "<|end_of_text|>",
                                  "<|reserved_special_token_0|>",
                                  "<|reserved_special_token_1|>",
                                  "<|reserved_special_token_2|>",
                                  "<|reserved_special_token_3|>",
                                  "<|start_header_id|>",
                                  "<|end_header_id|>",
                                  "<|reserved_special_token_4|>",
                                  "<|eot_id|>"};
    for (int i = 5; i < 251; ++i)
        s.push_back("<|reserved_special_token_" + std::to_string(i) + "|>");
    return s;
}

TEST(TokenizerTiktoken, Llama3ReproducesLlamaBpeVectors) {
    const auto tok =
        Tokenizer::from_tiktoken(uma::test::data_path("tokenizers/llama3/tokenizer.model").string(),
                                 "llama3", llama3_special_tokens());
    EXPECT_EQ(tok->vocab_size(), 128256);
    EXPECT_EQ(tok->bos(), 128000);
    EXPECT_EQ(tok->eos(), 128001);
    EXPECT_TRUE(tok->add_bos());
    check_vectors(*tok, "ggml-vocab-llama-bpe.gguf", true);
}

TEST(TokenizerTiktoken, Qwen2ReproducesQwen2AndDeepseekR1QwenVectors) {
    const auto tok =
        Tokenizer::from_tiktoken(uma::test::data_path("tokenizers/qwen2/qwen.tiktoken").string(),
                                 "qwen2", {"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
    EXPECT_EQ(tok->vocab_size(), 151646);
    EXPECT_EQ(tok->eos(), 151643);
    EXPECT_FALSE(tok->add_bos());
    check_vectors(*tok, "ggml-vocab-qwen2.gguf", true);
    check_vectors(*tok, "ggml-vocab-deepseek-r1-qwen.gguf", true);
}

}  // namespace
