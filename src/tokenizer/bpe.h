#pragma once
// Byte-level BPE merging of one pre-tokenized piece.
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.h"

namespace uma::tok {

struct BpeMerge {
    int32_t rank;
    TokenId result;
};

struct BpeMerges {
    // (left id, right id) -> rank (lower merges first) and the merged token.
    std::unordered_map<uint64_t, BpeMerge> pairs;
    // tiktoken: any two adjacent parts whose concatenation is a token merge, ranked by that
    // token's id; `pairs` is unused.
    bool rank_by_token = false;

    static uint64_t key(TokenId left, TokenId right) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
               static_cast<uint32_t>(right);
    }
};

// Builds merges from tokenizer.ggml.merges lines ("left right", rank = position). Throws
// uma::Error for a line without a separating space; merges naming tokens that are not in the
// vocabulary are skipped (they could never apply).
BpeMerges parse_merges(const Vocab& vocab, const std::vector<std::string_view>& lines,
                       size_t* skipped = nullptr);

// Appends the tokens of `piece`, which is already in byte-level form (one code point per
// byte). Uses a priority queue of candidate pairs: O(n log n) in the piece length.
void bpe_encode_piece(const Vocab& vocab, const BpeMerges& merges, std::string_view piece,
                      std::vector<TokenId>& out);

}  // namespace uma::tok
