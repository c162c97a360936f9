// The generic JSON grammar against valid and invalid JSON, token masking, the sampler hook, and
// the speed of masking a real vocabulary.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "sampling/test_grammar_util.h"
#include "test_data.h"
#include "uma/core/error.h"
#include "uma/core/gguf.h"
#include "uma/sampling/json_schema.h"

namespace uma {
namespace {

bool json_grammar_matches(std::string_view text) {
    static const auto grammar = Grammar::parse(json_value_gbnf());
    GrammarMatcher m(grammar);
    if (!m.accepts(text)) return false;
    m.accept(text);
    return m.is_complete();
}

TEST(GrammarJson, AcceptsValidJson) {
    for (const char* text : {
             R"({})",
             R"([])",
             R"("")",
             "0",
             "-0",
             "12.5e-3",
             "1E+10",
             "true",
             "false",
             "null",
             R"({"a": [1, 2, {"b": null}], "c": "d\"e\\f\u00e9\ud83d\ude00"})",
             "{\n  \"nested\": {\"deeper\": [[], [{}]]}\n}",
             R"(["héllo 😀", "tab\tescaped"])",
         }) {
        EXPECT_TRUE(json_grammar_matches(text)) << text;
        EXPECT_TRUE(nlohmann::json::accept(text)) << text;
    }
}

TEST(GrammarJson, RejectsInvalidJson) {
    for (const char* text : {
             R"({)",
             R"({"a" 1})",
             R"({"a": 1,})",
             R"([1 2])",
             R"([1,])",
             "01",
             "1.",
             ".5",
             "+1",
             "tru",
             "nul",
             R"("unterminated)",
             "\"bad \\x escape\"",
             "\"raw\ncontrol\"",
             R"("\ud800 lone surrogate")",
             R"({'a': 1})",
             "[1]]",
             R"({"a": 1} {"b": 2})",
             "\"\xC3\x28\"",
         }) {
        EXPECT_FALSE(json_grammar_matches(text)) << text;
    }
}

TEST(GrammarJson, WhitespaceIsBounded) {
    EXPECT_TRUE(json_grammar_matches("[1,\n" + std::string(20, ' ') + "2]"));
    EXPECT_FALSE(json_grammar_matches("[1,\n" + std::string(21, ' ') + "2]"));
    EXPECT_FALSE(json_grammar_matches("[1,  2]"));
}

TEST(GrammarConstraint, MasksTokensTheGrammarRejects) {
    auto tokenizer = std::make_unique<test::PieceTokenizer>(std::vector<std::string>{
        "{", "}", "\"", "a", "ab", "\"a", ":", " ", "1", "12", "x", "{\"", "\xC3", "\xA9", "é"});
    auto trie = std::make_shared<const TokenTrie>(*tokenizer);
    const int32_t eos = tokenizer->eos();
    GrammarConstraint c(Grammar::parse(R"(root ::= "{" "\"" [a-zé]+ "\":" " "? [0-9]+ "}")"), trie);
    const auto allowed = [&] {
        std::vector<int32_t> ids;
        const auto& mask = c.allowed_mask();
        for (int32_t id = 0; id < static_cast<int32_t>(mask.size()); ++id)
            if (mask[static_cast<size_t>(id)]) ids.push_back(id);
        return ids;
    };
    EXPECT_EQ(allowed(), (std::vector<int32_t>{0, 11}));  // "{" and "{\""
    c.accept(11);
    // [a-zé]: "a", "ab", "x", the first byte of é, and é itself; not the lone continuation byte.
    EXPECT_EQ(allowed(), (std::vector<int32_t>{3, 4, 10, 12, 14}));
    c.accept(12);
    EXPECT_EQ(allowed(), (std::vector<int32_t>{13}));
    c.accept(13);
    EXPECT_EQ(allowed(), (std::vector<int32_t>{2, 3, 4, 10, 12, 14}));
    std::vector<float> logits(static_cast<size_t>(tokenizer->vocab_size()), 1.0f);
    c.apply(logits);
    EXPECT_TRUE(std::isinf(logits[0]) && logits[0] < 0);
    EXPECT_EQ(logits[2], 1.0f);
    EXPECT_THROW(c.accept(8), Error);
    c.accept(2);
    c.accept(6);
    c.accept(9);
    EXPECT_FALSE(c.allows(eos));
    c.accept(1);
    EXPECT_TRUE(c.allows(eos));
    EXPECT_EQ(allowed(), (std::vector<int32_t>{eos}));
    EXPECT_TRUE(c.finished());
}

TEST(GrammarConstraint, SamplerDrawsOnlyAllowedTokens) {
    auto tokenizer = std::make_unique<test::PieceTokenizer>(
        std::vector<std::string>{"yes", "no", "maybe", "y", "es", "n", "o"});
    auto trie = std::make_shared<const TokenTrie>(*tokenizer);
    auto grammar = Grammar::parse(R"(root ::= "yes" | "no")");
    for (bool greedy : {true, false}) {
        for (uint64_t seed = 0; seed < 50; ++seed) {
            SamplerParams params = greedy ? SamplerParams::greedy() : SamplerParams{};
            params.seed = seed;
            Sampler sampler(params);
            GrammarConstraint constraint(grammar, trie);
            // "maybe" has the best logit but is never allowed.
            std::vector<float> logits = {0.1f, 0.2f, 5.0f, 0.3f, 0.4f, 0.5f, 0.6f, 0.0f};
            std::string text;
            while (!constraint.finished()) {
                const int32_t id = sampler.sample(logits, {}, &constraint);
                if (id == tokenizer->eos()) break;
                text += tokenizer->token_to_piece(id);
            }
            EXPECT_TRUE(text == "yes" || text == "no") << text;
        }
    }
    // Without a constraint the sampler is unchanged.
    Sampler plain(SamplerParams::greedy());
    EXPECT_EQ(plain.sample(std::vector<float>{0.1f, 0.2f, 5.0f}, {}), 2);
}

TEST(GrammarConstraint, ThrowsWhenNoTokenFits) {
    auto tokenizer = std::make_unique<test::PieceTokenizer>(std::vector<std::string>{"a", "b"});
    auto trie = std::make_shared<const TokenTrie>(*tokenizer);
    GrammarConstraint constraint(Grammar::parse(R"(root ::= "c")"), trie);
    Sampler sampler(SamplerParams{});
    EXPECT_THROW(sampler.sample(std::vector<float>{1, 2, 3}, {}, &constraint), Error);
}

TEST(GrammarConstraint, RandomSamplingFollowsTheJsonGrammar) {
    auto tokenizer = Tokenizer::from_gguf(
        *GgufFile::open(test::data_path("vocab/ggml-vocab-gpt-2.gguf").string()));
    auto trie = std::make_shared<const TokenTrie>(*tokenizer);
    auto grammar = Grammar::parse(json_object_gbnf());
    for (uint64_t seed = 0; seed < 12; ++seed) {
        const auto sampled = test::sample_with_random_logits(grammar, trie, seed, 1500);
        ASSERT_TRUE(sampled.ended) << "seed " << seed << ": " << sampled.text;
        nlohmann::json parsed;
        ASSERT_NO_THROW(parsed = nlohmann::json::parse(sampled.text))
            << "seed " << seed << ": " << sampled.text;
        EXPECT_TRUE(parsed.is_object());
    }
}

// Masking cost for the states that allow the most tokens (inside a string, most tokens fit).
void expect_fast_masking(const Tokenizer& tokenizer, const char* name) {
    const auto trie_start = std::chrono::steady_clock::now();
    auto trie = std::make_shared<const TokenTrie>(tokenizer);
    const double trie_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - trie_start)
            .count();
    auto grammar = Grammar::parse(json_object_gbnf());
    struct Case {
        const char* label;
        std::string prefix;
    };
    for (const Case& c : {Case{"start", ""}, Case{"after {", "{"}, Case{"in a key", "{\"ke"},
                          Case{"value", "{\"key\": "}, Case{"in a string", "{\"key\": \"some te"},
                          Case{"in a number", "{\"key\": 12"}}) {
        GrammarMatcher matcher(grammar);
        matcher.accept(c.prefix);
        std::vector<uint8_t> allowed;
        // The first walk from a state computes its byte transitions (cold); later walks from
        // states seen before mostly look them up (warm), as during one generation.
        double cold = 0, warm = 1e9;
        size_t count = 0;
        for (int i = 0; i < 5; ++i) {
            allowed.assign(static_cast<size_t>(trie->vocab_size()), 0);
            const auto start = std::chrono::steady_clock::now();
            matcher.mark_allowed_tokens(*trie, allowed);
            const double ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
            if (i == 0)
                cold = ms;
            else
                warm = std::min(warm, ms);
            count = static_cast<size_t>(std::count(allowed.begin(), allowed.end(), 1));
        }
        std::printf(
            "[ grammar ] %s (%d tokens, trie built in %.0f ms): mask %-11s cold %6.2f ms, "
            "warm %5.2f ms, %zu allowed\n",
            name, trie->vocab_size(), trie_ms, c.label, cold, warm, count);
        // Generous bounds: the test machine may be shared with other work.
        EXPECT_LT(cold, 100.0) << name << " " << c.label;
        EXPECT_LT(warm, 50.0) << name << " " << c.label;
        EXPECT_GT(count, 0u);
    }
}

TEST(GrammarConstraint, MaskingIsFastForLargeVocabularies) {
    auto gpt2 = Tokenizer::from_gguf(
        *GgufFile::open(test::data_path("vocab/ggml-vocab-gpt-2.gguf").string()));
    expect_fast_masking(*gpt2, "gpt-2");
    auto qwen = Tokenizer::from_tiktoken(test::data_path("tokenizers/qwen2/qwen.tiktoken").string(),
                                         "qwen2", {"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
    expect_fast_masking(*qwen, "qwen2");
}

}  // namespace
}  // namespace uma
