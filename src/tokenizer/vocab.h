#pragma once
// The vocabulary shared by every tokenizer model: token texts, scores, kinds, special ids and
// flags. Built once (from GGUF metadata or a tiktoken file) and immutable afterwards.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "uma/tokenizer/tokenizer.h"

namespace uma::tok {

enum class ModelType { Spm, Bpe, WordPiece };

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Token attributes beyond TokenKind (llama.cpp's lstrip/rstrip for special tokens).
enum TokenAttr : uint8_t {
    kAttrLstrip = 1,  // whitespace before the token is dropped when it is matched as special
    kAttrRstrip = 2,  // whitespace after it is dropped
};

struct Vocab {
    ModelType type = ModelType::Spm;
    std::string model;  // "llama", "gpt2", "bert"
    std::string pre;    // pre-tokenizer name (BPE)

    std::vector<std::string> text;
    std::vector<float> score;
    std::vector<TokenKind> kind;
    std::vector<uint8_t> attr;
    std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>> ids;

    TokenId bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1;
    bool add_bos = false;
    bool add_eos = false;
    bool add_sep = false;           // WordPiece: [SEP] after the text
    bool add_space_prefix = false;  // SentencePiece: a space before the first text fragment
    bool ignore_merges = false;     // BPE: look a whole piece up before merging
    bool lowercase = true;          // WordPiece normalizer
    bool strip_accents = true;      // WordPiece normalizer

    std::vector<TokenId> eog;          // sorted end-of-generation ids
    std::vector<TokenId> byte_tokens;  // 256 entries: the token of each byte, or -1
    size_t max_token_len = 0;          // longest token text in bytes

    int32_t size() const { return static_cast<int32_t>(text.size()); }
    bool valid(TokenId id) const { return id >= 0 && id < size(); }
    TokenId find(std::string_view s) const {
        auto it = ids.find(s);
        return it == ids.end() ? -1 : it->second;
    }

    // Adds one token; duplicate texts keep the first id for lookups (later ids stay decodable).
    void add_token(std::string token_text, float token_score, TokenKind token_kind);
    // Call once all tokens and ids are set: validates special ids, detects EOT/EOG tokens by
    // their well-known texts and builds the byte table.
    void finalize(const std::string& general_name);
};

}  // namespace uma::tok
