#pragma once
// WordPiece (tokenizer.ggml.model = bert): BERT normalisation, whitespace and punctuation
// splitting, then greedy longest-match-first. Word-initial tokens carry a U+2581 prefix in GGUF
// vocabularies; continuation pieces (Hugging Face's "##x") are stored bare.
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace uma::tok {

void wordpiece_encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out);

}  // namespace uma::tok
