// Unicode helpers and regex pre-tokenizers.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"
#include "uma/core/error.h"

namespace {

using namespace uma::tok;

std::vector<uint32_t> cps(uint32_t cp, void (*f)(uint32_t, std::vector<uint32_t>&)) {
    std::vector<uint32_t> out;
    f(cp, out);
    return out;
}

TEST(TokenizerUnicode, Utf8DecodeEncode) {
    const std::string s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\xa6\x99";  // a é € 🦙
    size_t pos = 0;
    EXPECT_EQ(decode_utf8(s, pos), 0x61u);
    EXPECT_EQ(decode_utf8(s, pos), 0xE9u);
    EXPECT_EQ(decode_utf8(s, pos), 0x20ACu);
    EXPECT_EQ(decode_utf8(s, pos), 0x1F999u);
    EXPECT_EQ(pos, s.size());
    EXPECT_EQ(codepoint_to_utf8(0x1F999), "\xf0\x9f\xa6\x99");

    // Invalid input: one byte at a time, as U+FFFD.
    for (std::string bad : {"\xff", "\xc3", "\xc3(", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80"}) {
        pos = 0;
        EXPECT_EQ(decode_utf8(bad, pos), 0xFFFDu) << bad;
        EXPECT_EQ(pos, 1u) << bad;
    }
}

TEST(TokenizerUnicode, Categories) {
    EXPECT_TRUE(category_flags('A') & kCatLetter);
    EXPECT_TRUE(category_flags(0x4E2D) & kCatLetter);  // 中
    EXPECT_TRUE(category_flags('7') & kCatNumber);
    EXPECT_TRUE(category_flags(0xBD) & kCatNumber);  // ½
    EXPECT_TRUE(category_flags(',') & kCatPunctuation);
    EXPECT_TRUE(category_flags('$') & kCatSymbol);
    EXPECT_TRUE(category_flags(0x301) & kCatNonspacingMark);
    EXPECT_TRUE(category_flags(0x200D) & kCatOther);  // ZWJ is Cf
    EXPECT_TRUE(category_flags(0x1F680) & kCatSymbol);
    EXPECT_TRUE(category_flags(0x10FFFF) & kCatOther);
    EXPECT_TRUE(is_white_space(0x3000));
    EXPECT_TRUE(is_white_space('\n'));
    EXPECT_FALSE(is_white_space(0x200B));
}

TEST(TokenizerUnicode, DecompositionAndLowercase) {
    EXPECT_EQ(cps(0xE9, append_canonical_decomposition), (std::vector<uint32_t>{'e', 0x301}));
    EXPECT_EQ(cps(0x1EC7, append_canonical_decomposition),  // ệ: e + dot below + circumflex
              (std::vector<uint32_t>{'e', 0x323, 0x302}));
    EXPECT_EQ(cps(0xD55C, append_canonical_decomposition),  // 한
              (std::vector<uint32_t>{0x1112, 0x1161, 0x11AB}));
    EXPECT_EQ(cps('x', append_canonical_decomposition), (std::vector<uint32_t>{'x'}));
    EXPECT_EQ(cps('A', append_lowercase), (std::vector<uint32_t>{'a'}));
    EXPECT_EQ(cps(0x3A3, append_lowercase), (std::vector<uint32_t>{0x3C3}));  // Σ
    EXPECT_EQ(cps(0x100, append_lowercase), (std::vector<uint32_t>{0x101}));  // Ā
    EXPECT_EQ(cps(0x41F, append_lowercase), (std::vector<uint32_t>{0x43F}));  // П
    EXPECT_EQ(cps(0x130, append_lowercase), (std::vector<uint32_t>{'i', 0x307}));
    EXPECT_EQ(cps('a', append_lowercase), (std::vector<uint32_t>{'a'}));
    EXPECT_EQ(cps(0x101, append_lowercase), (std::vector<uint32_t>{0x101}));
}

TEST(TokenizerUnicode, ByteLevelMapping) {
    EXPECT_EQ(byte_to_unicode(' '), "\xc4\xa0");   // Ġ
    EXPECT_EQ(byte_to_unicode('\n'), "\xc4\x8a");  // Ċ
    EXPECT_EQ(byte_to_unicode('A'), "A");
    std::string all;
    for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
    const std::string encoded = byte_level_encode(all);
    EXPECT_EQ(byte_level_decode(encoded), all);
    size_t pos = 0;
    int count = 0;
    while (pos < encoded.size()) {
        const uint32_t cp = decode_utf8(encoded, pos);
        EXPECT_EQ(unicode_to_byte(cp), count);
        ++count;
    }
    EXPECT_EQ(count, 256);
    EXPECT_EQ(unicode_to_byte(0x4E2D), -1);
}

std::vector<std::string> split(const std::string& name, const std::string& text) {
    PreTokenizer pre(name);
    std::vector<std::string_view> pieces;
    pre.split(text, pieces);
    return {pieces.begin(), pieces.end()};
}

using Pieces = std::vector<std::string>;

TEST(TokenizerPreTokenizer, Gpt2) {
    EXPECT_EQ(split("gpt-2", "Hello world's  test\n"),
              (Pieces{"Hello", " world", "'s", " ", " test", "\n"}));
    EXPECT_EQ(split("gpt-2", "I'M 2024!!"), (Pieces{"I", "'", "M", " 2024", "!!"}));
    EXPECT_TRUE(split("gpt-2", "").empty());
}

TEST(TokenizerPreTokenizer, Llama3AndQwen2) {
    EXPECT_EQ(split("llama3", "I'M 12345"), (Pieces{"I", "'M", " ", "123", "45"}));
    EXPECT_EQ(split("llama-bpe", "x\r\n\n  y"), (Pieces{"x", "\r\n\n", " ", " y"}));
    EXPECT_EQ(split("qwen2", "I'M 12345"), (Pieces{"I", "'M", " ", "1", "2", "3", "4", "5"}));
    EXPECT_TRUE(PreTokenizer("llama3").traits().ignore_merges);
    EXPECT_FALSE(PreTokenizer("qwen2").traits().ignore_merges);
}

TEST(TokenizerPreTokenizer, SequentialRegexesKeepTheGaps) {
    // deepseek-coder: newlines, letters, punctuation, CJK runs, single digits.
    EXPECT_EQ(split("deepseek-coder", "ab 12\n中文!"),
              (Pieces{"ab", " ", "1", "2", "\n", "中文", "!"}));
    // deepseek-llm: trailing whitespace stays whole ("\s+$" with $ only at the very end).
    EXPECT_EQ(split("deepseek-llm", "Hi  \n"), (Pieces{"Hi", "  ", "\n"}));
    // falcon: punctuation runs first, then GPT-2 words, then digits in threes.
    EXPECT_EQ(split("falcon", "a, b 12345"), (Pieces{"a", ",", " b", " ", "123", "45"}));
}

TEST(TokenizerPreTokenizer, EveryKnownNameSplitsWithoutLosingBytes) {
    const std::string text =
        "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～ \n\n \t 3.33 "
        "<sentinel:12> IMGIMGABZ нещо Cửa  \xff\xfe\xc3 end   ";
    const auto names = PreTokenizer::known_names();
    for (const char* required :
         {"default", "llama3", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder", "falcon",
          "mpt", "starcoder", "refact", "command-r", "dbrx", "stablelm", "gpt-2", "chameleon",
          "roberta-bpe", "deepseek-r1-qwen"}) {
        EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
    }
    for (const auto& name : names) {
        std::string joined;
        for (const auto& piece : split(name, text)) {
            EXPECT_FALSE(piece.empty()) << name;
            joined += piece;
        }
        EXPECT_EQ(joined, text) << name;
    }
}

TEST(TokenizerPreTokenizer, UnknownNameIsAnError) {
    try {
        PreTokenizer pre("gpt-5000");
        FAIL() << "no error";
    } catch (const uma::Error& e) {
        EXPECT_NE(std::string(e.what()).find("unknown pre-tokenizer 'gpt-5000'"),
                  std::string::npos);
    }
    EXPECT_EQ(PreTokenizer("").name(), "default");
}

TEST(TokenizerPreTokenizer, LongInputsStayLinear) {
    // Long whitespace runs and long words must not make the lookahead regexes quadratic.
    const std::string spaces(200000, ' ');
    const auto pieces = split("llama3", spaces + "x" + spaces);
    std::string joined;
    for (const auto& p : pieces) joined += p;
    EXPECT_EQ(joined.size(), spaces.size() * 2 + 1);
    EXPECT_LE(pieces.size(), 4u);
    EXPECT_EQ(split("gpt-2", std::string(500000, 'a')).size(), 1u);
}

}  // namespace
