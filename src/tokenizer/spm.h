#pragma once
// SentencePiece-style BPE (tokenizer.ggml.model = llama): merges ranked by token score.
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace uma::tok {

// Appends the tokens of `text`, whose spaces the caller has already replaced by U+2581. Pieces
// that are not in the vocabulary fall back to <0xXX> byte tokens, else to the unknown token.
void spm_encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out);

}  // namespace uma::tok
