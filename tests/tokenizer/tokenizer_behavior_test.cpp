// Round trips, special tokens, byte fallback, end of generation, errors and the CLI helper.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_data.h"
#include "uma/core/error.h"
#include "uma/core/gguf.h"
#include "uma/tokenizer/tokenizer.h"

namespace {

using uma::TokenId;
using uma::Tokenizer;
using uma::TokenKind;

std::unique_ptr<Tokenizer> vocab(const std::string& name) {
    return Tokenizer::from_file(
        uma::test::data_path("vocab/ggml-vocab-" + name + ".gguf").string());
}

std::vector<std::string> llama3_specials() {
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

std::unique_ptr<Tokenizer> llama3() {
    return Tokenizer::from_tiktoken(
        uma::test::data_path("tokenizers/llama3/tokenizer.model").string(), "llama3",
        llama3_specials());
}

bool contains(const std::vector<TokenId>& ids, TokenId id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Texts that stress whitespace, scripts, emoji, invalid UTF-8 and special-token look-alikes.
std::vector<std::string> round_trip_texts() {
    std::vector<std::string> texts = {
        "",
        " ",
        "Hello world",
        "  leading and trailing  ",
        "tabs\tand\nnew\r\nlines\n\n\n",
        "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～",
        "нещо на Български ကាន់តែពិសេស Cửa Việt",
        "🚀 (normal) 😶\u200d🌫️ ✅ 🦙🦙",
        "3.14159 1234567890 ------======= '''' \"\"\"",
        "I'VE 'RE 'm 's 'LL",
        "    def f(x):\n        return x  # comment\n",
        "\xff\xfe invalid \xc3 utf-8 \x80",
        "<s> </s> <|endoftext|> <|eot_id|> [CLS]",
        "a\xc2\xa0non-breaking\xe2\x80\x83spaces\xe3\x80\x80",
    };
    std::string big;
    for (int i = 0; i < 200; ++i) big += "The quick brown fox 123 ümlaut 🦊\n";
    texts.push_back(big);
    return texts;
}

// ---------------------------------------------------------------------------------------------

class TokenizerRoundTrip : public ::testing::TestWithParam<const char*> {};

// Whether every byte of `text` survives on its own. Some byte-level vocabularies lack the bytes
// that never occur in UTF-8 (0xF5..0xFF): GPT-NeoX's maps them to <|endoftext|> (its unknown
// token), DeepSeek's to user-defined tokens that decode as text.
bool bytes_representable(const Tokenizer& tok, const std::string& text, bool spm) {
    for (char c : text) {
        const std::string byte(1, c);
        if (tok.decode(tok.encode(byte, false, false), false, spm) != byte) return false;
    }
    return true;
}

TEST_P(TokenizerRoundTrip, DecodeOfEncodeGivesTheText) {
    const auto tok = vocab(GetParam());
    const bool spm = tok->model_name() == "llama";
    for (const auto& text : round_trip_texts()) {
        if (!bytes_representable(*tok, text, spm)) continue;
        const auto ids = tok->encode(text, false, false);
        EXPECT_EQ(tok->decode(ids, false, spm), text) << GetParam() << ": " << text;
        // With BOS/EOS added and skipped again.
        const auto with_special = tok->encode(text, true, false);
        EXPECT_EQ(tok->decode(with_special, true, spm), text) << GetParam() << ": " << text;
        // Pieces concatenate to the decoded text.
        std::string joined;
        for (TokenId id : ids) joined += tok->token_to_piece(id);
        if (spm && !joined.empty() && joined[0] == ' ') joined.erase(0, 1);
        EXPECT_EQ(joined, text);
    }
}

INSTANTIATE_TEST_SUITE_P(TokenizerGguf, TokenizerRoundTrip,
                         ::testing::Values("llama-spm", "phi-3", "baichuan", "gpt-2", "gpt-neox",
                                           "mpt", "falcon", "starcoder", "refact", "stablelm",
                                           "deepseek-llm", "deepseek-coder"),
                         [](const auto& info) {
                             std::string name = info.param;
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

// Vocabularies with a complete byte alphabet round-trip any byte string, UTF-8 or not.
TEST(TokenizerRoundTripBytes, EveryByteRoundTrips) {
    for (const char* name : {"gpt-2", "llama-spm", "phi-3", "baichuan", "stablelm"}) {
        const auto tok = vocab(name);
        const bool spm = tok->model_name() == "llama";
        std::string all;
        for (int b = 0; b < 256; ++b) {
            const std::string byte(1, static_cast<char>(b));
            all += byte;
            EXPECT_EQ(tok->decode(tok->encode(byte, false, false), false, spm), byte)
                << name << " byte " << b;
        }
        EXPECT_EQ(tok->decode(tok->encode(all, false, false), false, spm), all) << name;
        EXPECT_TRUE(bytes_representable(*tok, "\xff\xfe invalid \xc3 utf-8 \x80", spm));
    }
    const auto l3 = llama3();
    for (int b = 0; b < 256; ++b) {
        const std::string byte(1, static_cast<char>(b));
        EXPECT_EQ(l3->decode(l3->encode(byte, false, false)), byte) << "llama3 byte " << b;
    }
}

TEST(TokenizerRoundTripTiktoken, Llama3AndQwen2) {
    const auto l3 = llama3();
    const auto qwen =
        Tokenizer::from_tiktoken(uma::test::data_path("tokenizers/qwen2/qwen.tiktoken").string(),
                                 "qwen2", {"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
    for (const auto& text : round_trip_texts()) {
        EXPECT_EQ(l3->decode(l3->encode(text, false, false)), text);
        EXPECT_EQ(l3->decode(l3->encode(text, true, false), true), text);
        EXPECT_EQ(qwen->decode(qwen->encode(text, false, false)), text);
    }
}

// ---------------------------------------------------------------------------------------------

TEST(TokenizerSpecial, Llama3ControlTokensOnlyWhenParsingSpecial) {
    const auto tok = llama3();
    const std::string text = "<|begin_of_text|>Hello<|eot_id|>";
    const auto parsed = tok->encode(text, false, true);
    ASSERT_EQ(parsed.size(), 3u);
    EXPECT_EQ(parsed[0], 128000);
    EXPECT_EQ(tok->token_to_piece(parsed[1]), "Hello");
    EXPECT_EQ(parsed[2], 128009);

    const auto plain = tok->encode(text, false, false);
    EXPECT_FALSE(contains(plain, 128000));
    EXPECT_FALSE(contains(plain, 128009));
    EXPECT_EQ(tok->decode(plain), text);

    // add_special puts BOS first; skip_special drops it again.
    const auto with_bos = tok->encode("Hi", true, false);
    ASSERT_FALSE(with_bos.empty());
    EXPECT_EQ(with_bos.front(), 128000);
    EXPECT_EQ(tok->decode(with_bos, true), "Hi");
    EXPECT_EQ(tok->decode(with_bos, false), "<|begin_of_text|>Hi");
}

TEST(TokenizerSpecial, LongestMatchWins) {
    const auto tok = llama3();
    // <|reserved_special_token_1|> (128003) is a prefix of ..._10|> (128015) up to "1".
    EXPECT_EQ(tok->encode("<|reserved_special_token_10|>", false, true),
              std::vector<TokenId>{128015});
    EXPECT_EQ(tok->encode("<|reserved_special_token_1|>", false, true),
              std::vector<TokenId>{128003});
    const auto ids = tok->encode("a<|start_header_id|>user<|end_header_id|>\n\nb", false, true);
    EXPECT_TRUE(contains(ids, 128006));
    EXPECT_TRUE(contains(ids, 128007));
    EXPECT_EQ(tok->decode(ids), "a<|start_header_id|>user<|end_header_id|>\n\nb");
}

TEST(TokenizerSpecial, SentencePieceSpecialsAndSpacePrefix) {
    const auto tok = vocab("llama-spm");
    EXPECT_EQ(tok->bos(), 1);
    EXPECT_EQ(tok->eos(), 2);
    EXPECT_TRUE(tok->add_bos());
    EXPECT_FALSE(tok->add_eos());
    EXPECT_EQ(tok->encode("Hello", true, false), (std::vector<TokenId>{1, 15043}));
    // After a special token the text gets the space prefix again, as llama.cpp does.
    EXPECT_EQ(tok->encode("<s>Hello</s>", false, true), (std::vector<TokenId>{1, 15043, 2}));
    EXPECT_FALSE(contains(tok->encode("<s>Hello</s>", false, false), 1));
    EXPECT_TRUE(tok->is_end_of_generation(2));
    EXPECT_FALSE(tok->is_end_of_generation(15043));
}

TEST(TokenizerSpecial, Phi3ChatTokensAndEndOfGeneration) {
    const auto tok = vocab("phi-3");
    const auto ids = tok->encode("<|user|>\nHi<|end|>\n<|assistant|>", false, true);
    ASSERT_GE(ids.size(), 4u);
    EXPECT_EQ(ids.front(), 32010);  // <|user|>; the newline after it is stripped (rstrip)
    EXPECT_EQ(ids.back(), 32001);   // <|assistant|>
    EXPECT_TRUE(contains(ids, 32007));
    EXPECT_TRUE(tok->is_end_of_generation(32007));  // <|end|>
    EXPECT_TRUE(tok->is_end_of_generation(32000));  // <|endoftext|> = EOS
    EXPECT_EQ(tok->eos(), 32000);
    EXPECT_FALSE(tok->is_end_of_generation(32010));
    EXPECT_EQ(tok->token_kind(32010), TokenKind::Control);
}

TEST(TokenizerSpecial, UserDefinedTokensAlwaysMatchControlOnlyOnRequest) {
    const auto tok = vocab("mpt");
    EXPECT_EQ(tok->token_kind(50275), TokenKind::UserDefined);  // three spaces
    EXPECT_EQ(tok->encode("   ", false, false), std::vector<TokenId>{50275});
    EXPECT_EQ(tok->encode("<|endoftext|>", false, true), std::vector<TokenId>{0});
    EXPECT_NE(tok->encode("<|endoftext|>", false, false), std::vector<TokenId>{0});
    EXPECT_TRUE(tok->is_end_of_generation(0));
}

TEST(TokenizerSpecial, EndOfGenerationByWellKnownText) {
    const auto gpt2 = vocab("gpt-2");
    EXPECT_TRUE(gpt2->is_end_of_generation(50256));  // <|endoftext|>
    const auto dbrx_like = vocab("stablelm");
    const TokenId im_end = 100278;
    ASSERT_EQ(dbrx_like->token_text(im_end), "<|im_end|>");
    EXPECT_TRUE(dbrx_like->is_end_of_generation(im_end));
    const auto qwen =
        Tokenizer::from_tiktoken(uma::test::data_path("tokenizers/qwen2/qwen.tiktoken").string(),
                                 "qwen2", {"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
    EXPECT_TRUE(qwen->is_end_of_generation(151645));   // <|im_end|>
    EXPECT_FALSE(qwen->is_end_of_generation(151644));  // <|im_start|>
    const auto l3 = llama3();
    EXPECT_TRUE(l3->is_end_of_generation(128009));  // <|eot_id|>
    EXPECT_TRUE(l3->is_end_of_generation(128001));  // <|end_of_text|>
    EXPECT_FALSE(l3->is_end_of_generation(128000));
}

TEST(TokenizerSpecial, BertAddsClsAndSep) {
    const auto tok = vocab("bert-bge");
    const auto ids = tok->encode("Hello world", true, false);
    EXPECT_EQ(ids, (std::vector<TokenId>{101, 7592, 2088, 102}));
    EXPECT_EQ(tok->encode("[MASK] hi", false, true).front(), 103);
    EXPECT_EQ(tok->decode(ids, true, true), "hello world");
}

TEST(TokenizerModelFile, Stories260KPromptAndContinuation) {
    // The tokenizer of a real model file (512-token SentencePiece) against shared/README.md.
    const auto tok = Tokenizer::from_file(uma::test::data_path("models/stories260K.gguf").string());
    EXPECT_EQ(tok->encode("Once upon a time", true, false),
              (std::vector<TokenId>{1, 403, 407, 261, 378}));
    const std::vector<TokenId> continuation = {
        403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
        401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
        328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267,
        337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13,  438, 310,
        439, 419, 357, 336, 432, 313, 438, 310, 432, 278, 316, 439, 419, 298, 414, 267};
    const std::string text =
        " Once upon a time, there was a little girl named Lily. She loved to play outside in the "
        "park. One day, she saw a big, red ball. She wanted to play with it, but it was too "
        "high.\nLily's mom said, \"Lily, let's go to";
    EXPECT_EQ(tok->decode(continuation), text);
    EXPECT_EQ(tok->encode(text.substr(1), false, false), continuation);
}

// ---------------------------------------------------------------------------------------------

TEST(TokenizerByteFallback, SentencePieceUsesByteTokens) {
    const auto tok = vocab("llama-spm");
    const std::string text = "\xf0\x9d\x94\x98";  // U+1D518, not in the vocabulary
    const auto ids = tok->encode(text, false, false);
    ASSERT_EQ(ids.size(), 5u);
    EXPECT_EQ(tok->token_to_piece(ids[0]), " ");
    const uint8_t bytes[] = {0xF0, 0x9D, 0x94, 0x98};
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(tok->token_kind(ids[i + 1]), TokenKind::Byte);
        EXPECT_EQ(ids[i + 1], 3 + bytes[i]);
        EXPECT_EQ(tok->token_to_piece(ids[i + 1]), std::string(1, static_cast<char>(bytes[i])));
    }
    EXPECT_EQ(tok->decode(ids, false, true), text);
    // Literal byte-token text is ordinary text, never the byte token.
    EXPECT_FALSE(contains(tok->encode("<0x0A>", false, false), 13));
}

std::vector<uint8_t> tiny_spm_gguf() {
    uma::GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b",
                                                 "\xe2\x96\x81"
                                                 "a",
                                                 "ab"});
    w.set_f32_array("tokenizer.ggml.scores", {0, 0, 0, -1, -2, -2, -1.5f, -0.5f});
    w.set_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 1, 1, 1});
    w.set_i32("tokenizer.ggml.eos_token_id", 99);  // out of range: the default (2) stays
    return w.to_bytes();
}

TEST(TokenizerByteFallback, UnknownTokenWithoutByteTokens) {
    const auto bytes = tiny_spm_gguf();
    const auto file = uma::GgufFile::from_memory(bytes);
    const auto tok = Tokenizer::from_gguf(*file);
    // "▁ab": "▁a" (-1.5) vs "ab" (-0.5): the higher score merges first, so ▁ + ab.
    EXPECT_EQ(tok->encode("ab", false, false), (std::vector<TokenId>{3, 7}));
    EXPECT_EQ(tok->encode("a", false, false), (std::vector<TokenId>{6}));
    // 'c' has neither a token nor byte tokens: <unk>.
    EXPECT_EQ(tok->encode("ac", false, false), (std::vector<TokenId>{6, 0}));
    EXPECT_EQ(tok->encode("a", true, false), (std::vector<TokenId>{1, 6}));
    EXPECT_EQ(tok->eos(), 2);
}

// ---------------------------------------------------------------------------------------------

template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const uma::Error& e) {
        return e.what();
    }
    return "";
}

std::unique_ptr<Tokenizer> from_writer(const uma::GgufWriter& w) {
    const auto bytes = w.to_bytes();
    const auto file = uma::GgufFile::from_memory(bytes);
    return Tokenizer::from_gguf(*file);
}

TEST(TokenizerErrors, UnknownModelPreTokenizerAndMalformedMerges) {
    {
        uma::GgufWriter w;
        w.set_string("tokenizer.ggml.model", "sentencepiece-unigram-9000");
        w.set_string_array("tokenizer.ggml.tokens", {"a"});
        EXPECT_NE(error_of([&] { from_writer(w); }).find("sentencepiece-unigram-9000"),
                  std::string::npos);
    }
    {
        uma::GgufWriter w;
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string("tokenizer.ggml.pre", "no-such-pre");
        w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
        w.set_string_array("tokenizer.ggml.merges", {"a b"});
        EXPECT_NE(error_of([&] { from_writer(w); }).find("unknown pre-tokenizer 'no-such-pre'"),
                  std::string::npos);
    }
    {
        uma::GgufWriter w;
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string("tokenizer.ggml.pre", "gpt-2");
        w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
        w.set_string_array("tokenizer.ggml.merges", {"a b", "ab"});
        EXPECT_NE(error_of([&] { from_writer(w); }).find("malformed merge"), std::string::npos);
    }
    {
        uma::GgufWriter w;
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string_array("tokenizer.ggml.tokens", {"a"});
        EXPECT_NE(error_of([&] { from_writer(w); }).find("tokenizer.ggml.merges"),
                  std::string::npos);
    }
    {
        uma::GgufWriter w;
        w.set_string("tokenizer.ggml.model", "llama");
        EXPECT_NE(error_of([&] { from_writer(w); }).find("tokenizer.ggml.tokens"),
                  std::string::npos);
    }
    EXPECT_NE(error_of([] {
                  Tokenizer::from_tiktoken("/nonexistent/x.tiktoken", "llama3", {});
              }).find("cannot open"),
              std::string::npos);
}

TEST(TokenizerErrors, OutOfRangeIds) {
    const auto tok = vocab("gpt-2");
    EXPECT_THROW(tok->token_to_piece(-1), uma::Error);
    EXPECT_THROW(tok->token_to_piece(tok->vocab_size()), uma::Error);
    EXPECT_THROW(tok->decode({0, 50257}), uma::Error);
    EXPECT_THROW(tok->token_text(99999999), uma::Error);
}

TEST(TokenizerBpe, SyntheticMergesFollowRankOrder) {
    uma::GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "gpt-2");
    w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c", "ab", "bc", "abc"});
    // "b c" outranks "a b": abc -> a + bc, and "a bc" is not a merge.
    w.set_string_array("tokenizer.ggml.merges", {"b c", "a b", "ab c"});
    const auto tok = from_writer(w);
    EXPECT_EQ(tok->encode("abc", false, false), (std::vector<TokenId>{0, 4}));
    EXPECT_EQ(tok->encode("ab", false, false), (std::vector<TokenId>{3}));
    EXPECT_EQ(tok->encode("abab", false, false), (std::vector<TokenId>{3, 3}));
}

// ---------------------------------------------------------------------------------------------

TEST(TokenizerConcurrency, SharedTokenizerEncodesFromManyThreads) {
    const auto tok = vocab("deepseek-llm");
    const auto texts = round_trip_texts();
    std::vector<std::vector<TokenId>> expected;
    for (const auto& t : texts) expected.push_back(tok->encode(t, true, true));
    std::vector<int> failures(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 5; ++round) {
                for (size_t i = 0; i < texts.size(); ++i) {
                    if (tok->encode(texts[i], true, true) != expected[i]) ++failures[t];
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    for (int f : failures) EXPECT_EQ(f, 0);
}

TEST(TokenizerCli, FormatsTokensForUmaTokenize) {
    const auto tok = vocab("llama-spm");
    EXPECT_EQ(uma::format_tokenization(*tok, "Hello\n"),
              "     1 -> '<s>'\n 15043 -> ' Hello'\n    13 -> '\\n'\n");
    EXPECT_EQ(uma::format_tokenization(*tok, "Hello", {.add_special = false, .ids_only = true}),
              "[15043]\n");
    EXPECT_EQ(uma::format_tokenization(
                  *tok, "<s>", {.add_special = false, .parse_special = true, .ids_only = true}),
              "[1]\n");
    EXPECT_EQ(uma::escape_piece("a\tb'\\\x80\xe2\x96\x81"), "a\\tb\\'\\\\\\x80\xe2\x96\x81");
}

}  // namespace
