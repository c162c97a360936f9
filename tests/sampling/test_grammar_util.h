#pragma once
// Helpers for the grammar and JSON-schema tests: a tokenizer made from a list of pieces, and
// sampling under a grammar with random logits.
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "uma/sampling/grammar_constraint.h"
#include "uma/sampling/sampler.h"
#include "uma/tokenizer/tokenizer.h"

namespace uma::test {

// A vocabulary of fixed pieces; the last token is EOS. encode() is not needed by these tests.
class PieceTokenizer final : public Tokenizer {
  public:
    explicit PieceTokenizer(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {
        pieces_.push_back("</s>");
    }
    std::vector<TokenId> encode(std::string_view, bool, bool) const override { return {}; }
    std::string token_to_piece(TokenId id) const override { return pieces_.at(id); }
    std::string decode(const std::vector<TokenId>& ids, bool, bool) const override {
        std::string out;
        for (TokenId id : ids) out += pieces_.at(id);
        return out;
    }
    int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
    const std::string& token_text(TokenId id) const override { return pieces_.at(id); }
    TokenKind token_kind(TokenId id) const override {
        return id == eos() ? TokenKind::Control : TokenKind::Normal;
    }
    TokenId bos() const override { return -1; }
    TokenId eos() const override { return vocab_size() - 1; }
    bool is_end_of_generation(TokenId id) const override { return id == eos(); }
    bool add_bos() const override { return false; }
    bool add_eos() const override { return false; }
    std::string model_name() const override { return "test"; }
    std::string pre_tokenizer_name() const override { return ""; }

  private:
    std::vector<std::string> pieces_;
};

struct SampledText {
    std::string text;
    bool ended = false;  // an end-of-generation token was drawn, or the grammar was finished
    int tokens = 0;
};

// Draws tokens from random logits under the grammar until it ends or `max_tokens`. Later on,
// tokens that close things (pieces made of '"', ']', '}', and the end token) get a boost, so
// that random walks through unbounded grammars finish.
inline SampledText sample_with_random_logits(const std::shared_ptr<const Grammar>& grammar,
                                             const std::shared_ptr<const TokenTrie>& trie,
                                             uint64_t seed, int max_tokens = 3000) {
    std::vector<int32_t> closers;
    for (int32_t id = 0; id < trie->vocab_size(); ++id) {
        const std::string& piece = trie->piece(id);
        bool closing = trie->is_end_of_generation(id);
        if (trie->is_text(id) && piece.find_first_not_of("\"]} ") == std::string::npos)
            closing = true;
        if (closing) closers.push_back(id);
    }
    SamplerParams params;
    params.temperature = 1.0f;
    params.top_k = 64;  // a full sort of the vocabulary per token would dominate the test time
    params.top_p = 1.0f;
    params.repeat_penalty = 1.0f;
    params.seed = seed;
    Sampler sampler(params);
    GrammarConstraint constraint(grammar, trie);
    // Fresh normal noise for a whole vocabulary per token costs more than the masking under
    // test: draw from a table at a random offset and stride instead.
    std::mt19937_64 rng(seed * 7919 + 17);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> table(1 << 16);
    for (auto& v : table) v = normal(rng);
    std::vector<float> logits(static_cast<size_t>(trie->vocab_size()));
    SampledText out;
    for (; out.tokens < max_tokens; ++out.tokens) {
        if (constraint.finished()) {
            out.ended = true;
            break;
        }
        const size_t offset = rng(), stride = rng() | 1;
        for (size_t i = 0; i < logits.size(); ++i)
            logits[i] = table[(offset + i * stride) & (table.size() - 1)];
        const float boost = out.tokens > max_tokens / 10 ? 6.0f + out.tokens * 0.02f : 0.0f;
        for (int32_t id : closers) logits[static_cast<size_t>(id)] += boost;
        const int32_t token = sampler.sample(logits, {}, &constraint);
        if (trie->is_end_of_generation(token)) {
            out.ended = true;
            break;
        }
        out.text += trie->piece(token);
    }
    return out;
}

}  // namespace uma::test
