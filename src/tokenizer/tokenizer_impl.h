#pragma once
// The one Tokenizer implementation: a vocabulary plus the model's algorithm.
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/vocab.h"
#include "uma/tokenizer/tokenizer.h"

namespace uma::tok {

class TokenizerImpl final : public Tokenizer {
  public:
    // `pre` is required for byte-level BPE and ignored otherwise.
    TokenizerImpl(Vocab vocab, BpeMerges merges, std::unique_ptr<PreTokenizer> pre);

    std::vector<TokenId> encode(std::string_view text, bool add_special,
                                bool parse_special) const override;
    std::string token_to_piece(TokenId id) const override;
    std::string decode(const std::vector<TokenId>& ids, bool skip_special,
                       bool remove_leading_space) const override;

    int32_t vocab_size() const override { return vocab_.size(); }
    const std::string& token_text(TokenId id) const override;
    TokenKind token_kind(TokenId id) const override;
    TokenId bos() const override { return vocab_.bos; }
    TokenId eos() const override { return vocab_.eos; }
    bool is_end_of_generation(TokenId id) const override;
    bool add_bos() const override { return vocab_.add_bos; }
    bool add_eos() const override { return vocab_.add_eos; }
    std::string model_name() const override { return vocab_.model; }
    std::string pre_tokenizer_name() const override { return pre_ ? pre_->name() : ""; }

    const Vocab& vocab() const { return vocab_; }

  private:
    void check_id(TokenId id) const;
    void encode_text(std::string_view text, bool after_special, std::vector<TokenId>& out) const;

    Vocab vocab_;
    BpeMerges merges_;
    std::unique_ptr<PreTokenizer> pre_;
    SpecialTokenMatcher special_;
    std::vector<std::string> pieces_;  // token_to_piece of every id
};

}  // namespace uma::tok
