#pragma once
// Grammar-constrained sampling: only tokens whose bytes the grammar allows next may be sampled,
// and end-of-generation only once the text is complete.
//
//   auto trie = std::make_shared<const TokenTrie>(tokenizer);     // once per tokenizer
//   GrammarConstraint constraint(Grammar::parse(gbnf), trie);     // once per request
//   sampler.sample(logits, history, &constraint);                 // masks, then advances
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "uma/sampling/grammar.h"
#include "uma/sampling/token_constraint.h"
#include "uma/tokenizer/tokenizer.h"

namespace uma {

// Every token's bytes, precomputed once per tokenizer, as a trie in preorder: shared prefixes are
// matched once and a rejected byte skips the whole subtree. Immutable; share it between requests.
class TokenTrie {
  public:
    explicit TokenTrie(const Tokenizer& tokenizer);

    struct Node {
        uint32_t subtree_end;  // index one past this node's last descendant
        uint32_t token_begin;  // tokens whose piece ends here: tokens_[token_begin, token_end)
        uint32_t token_end;
        uint16_t depth;  // bytes from the root; the root (index 0) has depth 0
        uint8_t byte;    // the byte on the edge from the parent
    };
    const std::vector<Node>& nodes() const { return nodes_; }
    const std::vector<int32_t>& tokens() const { return tokens_; }
    const std::vector<int32_t>& end_of_generation() const { return end_of_generation_; }
    const std::string& piece(int32_t token) const { return pieces_[static_cast<size_t>(token)]; }
    // Whether a token takes part: text tokens do, control/unused/empty ones do not.
    bool is_text(int32_t token) const;
    bool is_end_of_generation(int32_t token) const;
    int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }
    size_t max_depth() const { return max_depth_; }

  private:
    std::vector<Node> nodes_;
    std::vector<int32_t> tokens_;
    std::vector<int32_t> end_of_generation_;
    std::vector<std::string> pieces_;
    std::vector<uint8_t> kind_;  // 0: excluded, 1: text, 2: end of generation
    size_t max_depth_ = 0;
};

// A TokenConstraint that follows a grammar.
class GrammarConstraint final : public TokenConstraint {
  public:
    GrammarConstraint(std::shared_ptr<const Grammar> grammar,
                      std::shared_ptr<const TokenTrie> trie);

    void apply(std::span<float> logits) override;
    bool allows(int32_t token) override;
    void accept(int32_t token) override;
    bool finished() const override;

    // The tokens allowed next, as a 0/1 mask over the vocabulary.
    const std::vector<uint8_t>& allowed_mask();
    const GrammarMatcher& matcher() const { return matcher_; }

  private:
    GrammarMatcher matcher_;
    std::shared_ptr<const TokenTrie> trie_;
    std::vector<uint8_t> allowed_;
    bool allowed_valid_ = false;  // allowed_ matches the current state
};

}  // namespace uma
