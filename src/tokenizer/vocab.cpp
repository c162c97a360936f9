#include "tokenizer/vocab.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "tokenizer/unicode.h"

namespace uma::tok {

namespace {

// Texts of tokens that end a turn in common chat formats (llama.cpp's list).
constexpr std::string_view kEotTexts[] = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<\xef\xbd\x9c"
    "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
    "<end_of_utterance>",
};

constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<\xef\xbd\x9c"
    "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
};

bool is_control_like(TokenKind k) {
    return k == TokenKind::Control || k == TokenKind::Unknown;
}

std::string lower_ascii(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

void Vocab::add_token(std::string token_text, float token_score, TokenKind token_kind) {
    const auto id = static_cast<TokenId>(text.size());
    if (!token_text.empty()) ids.emplace(token_text, id);
    max_token_len = std::max(max_token_len, token_text.size());
    text.push_back(std::move(token_text));
    score.push_back(token_score);
    kind.push_back(token_kind);
    attr.push_back(0);
}

void Vocab::finalize(const std::string& general_name) {
    for (TokenId* id : {&bos, &eos, &eot, &eom, &unk, &sep, &pad}) {
        if (!valid(*id)) *id = -1;
    }

    // End of turn: the first token with a well-known text when the metadata names none.
    if (eot < 0) {
        for (auto t : kEotTexts) {
            if (TokenId id = find(t); id >= 0) {
                eot = id;
                break;
            }
        }
    }
    if (eom < 0) eom = find("<|eom_id|>");

    std::vector<TokenId> end_ids;
    for (auto t : kEogTexts) {
        if (TokenId id = find(t); id >= 0) end_ids.push_back(id);
    }
    // End-of-generation texts are control tokens even where the file says otherwise (so they are
    // recognised in input only when parsing special tokens), as llama.cpp does.
    for (TokenId id : end_ids) {
        if (!is_control_like(kind[id])) kind[id] = TokenKind::Control;
    }
    for (TokenId id : {eos, eot, eom}) {
        if (id >= 0) end_ids.push_back(id);
    }
    // gpt-oss style vocabularies use <|end|> between messages, not at the end of generation.
    const bool harmony = (find("<|return|>") >= 0 && find("<|call|>") >= 0) ||
                         (find("<|calls|>") >= 0 && find("<|flush|>") >= 0);
    if (harmony) {
        const TokenId end = find("<|end|>");
        std::erase(end_ids, end);
        if (eot == end) eot = -1;
    }
    std::sort(end_ids.begin(), end_ids.end());
    end_ids.erase(std::unique(end_ids.begin(), end_ids.end()), end_ids.end());
    std::erase(end_ids, -1);
    eog = std::move(end_ids);

    // Byte tokens: <0xXX> (SentencePiece) or the byte-level code point (BPE).
    byte_tokens.assign(256, -1);
    for (int b = 0; b < 256; ++b) {
        if (type == ModelType::Spm) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
            TokenId id = find(buf);
            if (id < 0) id = find(std::string(1, static_cast<char>(b)));
            byte_tokens[b] = id;
        } else if (type == ModelType::Bpe) {
            byte_tokens[b] = find(byte_to_unicode(static_cast<uint8_t>(b)));
        }
    }

    // Phi-3's special tokens swallow the whitespace after them (as llama.cpp does).
    const std::string name = lower_ascii(general_name);
    if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
        for (TokenId id = 0; id < size(); ++id) {
            if (is_control_like(kind[id]) || kind[id] == TokenKind::UserDefined) {
                attr[id] |= kAttrRstrip;
            }
        }
        for (auto t : {"<unk>", "<s>", "<|endoftext|>"}) {
            if (TokenId id = find(t); id >= 0) attr[id] &= static_cast<uint8_t>(~kAttrRstrip);
        }
    }
}

}  // namespace uma::tok
