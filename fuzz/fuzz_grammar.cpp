// libFuzzer target for GBNF grammars (untrusted input from API requests): parsing must end in a
// Grammar or a uma::Error, never a crash, hang or runaway allocation; grammars that parse are then
// matched against bytes and walked with a small token trie. Inputs that are JSON are also tried
// as JSON schemas.
//
// Input layout: GBNF text, optionally followed by a NUL byte and bytes to feed the matcher.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "uma/core/error.h"
#include "uma/sampling/grammar.h"
#include "uma/sampling/grammar_constraint.h"
#include "uma/sampling/json_schema.h"
#include "uma/tokenizer/tokenizer.h"

namespace {

// Pieces that cover ASCII structure, multi-byte and partial UTF-8, and an end token.
class FuzzTokenizer final : public uma::Tokenizer {
  public:
    FuzzTokenizer()
        : pieces_{"a",    "b",        "ab",       "{", "}",  "\"", "\":",  "[",   "]",
                  ",",    " ",        "\n",       "0", "12", "-",  "true", "é",   "\xC3",
                  "\xA9", "\xF0\x9F", "\x98\x80", "x", "\\", "u",  "null", "</s>"} {}
    std::vector<uma::TokenId> encode(std::string_view, bool, bool) const override { return {}; }
    std::string token_to_piece(uma::TokenId id) const override { return pieces_.at(id); }
    std::string decode(const std::vector<uma::TokenId>&, bool, bool) const override { return {}; }
    int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
    const std::string& token_text(uma::TokenId id) const override { return pieces_.at(id); }
    uma::TokenKind token_kind(uma::TokenId) const override { return uma::TokenKind::Normal; }
    uma::TokenId bos() const override { return -1; }
    uma::TokenId eos() const override { return vocab_size() - 1; }
    bool is_end_of_generation(uma::TokenId id) const override { return id == eos(); }
    bool add_bos() const override { return false; }
    bool add_eos() const override { return false; }
    std::string model_name() const override { return "fuzz"; }
    std::string pre_tokenizer_name() const override { return ""; }

  private:
    std::vector<std::string> pieces_;
};

const std::shared_ptr<const uma::TokenTrie>& trie() {
    static const FuzzTokenizer tokenizer;
    static const auto instance = std::make_shared<const uma::TokenTrie>(tokenizer);
    return instance;
}

// Tighter than the defaults so that one input stays fast.
uma::GrammarLimits fuzz_limits() {
    uma::GrammarLimits limits;
    limits.max_rules = 4096;
    limits.max_elements = 1u << 16;
    limits.max_repetition = 1000;
    limits.max_stack_depth = 256;
    limits.max_parse_positions = 512;
    return limits;
}

void exercise(const std::shared_ptr<const uma::Grammar>& grammar, std::string_view input) {
    uma::GrammarMatcher matcher(grammar);
    for (size_t i = 0; i < input.size(); ++i) {
        const std::string_view byte = input.substr(i, 1);
        if (!matcher.accepts(byte)) break;
        matcher.accept(byte);
    }
    (void)matcher.is_complete();
    // A few constrained "generation" steps: always take the first allowed token.
    uma::GrammarConstraint constraint(grammar, trie());
    for (int step = 0; step < 16 && !constraint.finished(); ++step) {
        const auto& mask = constraint.allowed_mask();
        int32_t chosen = -1;
        for (size_t id = 0; id < mask.size() && chosen < 0; ++id)
            if (mask[id]) chosen = static_cast<int32_t>(id);
        if (chosen < 0 || trie()->is_end_of_generation(chosen)) break;
        constraint.accept(chosen);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const size_t split = all.find('\0');
    const std::string_view gbnf = all.substr(0, split);
    const std::string_view input = split == std::string_view::npos ? "" : all.substr(split + 1);
    try {
        exercise(uma::Grammar::parse(gbnf, "root", fuzz_limits()), input);
    } catch (const uma::Error&) {
    }
    // JSON inputs: as schemas (conversion, grammar, validation of a fixed instance).
    const auto schema = nlohmann::ordered_json::parse(gbnf, nullptr, false);
    if (!schema.is_discarded()) {
        try {
            const std::string text = uma::json_schema_to_gbnf(schema);
            exercise(uma::Grammar::parse(text, "root", fuzz_limits()), input);
        } catch (const uma::Error&) {
        }
        (void)uma::validate_json_schema(nlohmann::ordered_json::parse(R"({"a": [1, "x", null]})"),
                                        schema);
    }
    return 0;
}
