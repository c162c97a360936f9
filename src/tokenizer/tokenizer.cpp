#include <algorithm>
#include <cstdio>

#include "tokenizer/spm.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"
#include "tokenizer/wordpiece.h"
#include "uma/core/error.h"

namespace uma::tok {

namespace {

constexpr std::string_view kSpaceMarker = "\xe2\x96\x81";  // U+2581, SentencePiece's space

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (true) {
        const size_t hit = text.find(from, pos);
        if (hit == std::string_view::npos) break;
        out.append(text.substr(pos, hit - pos));
        out.append(to);
        pos = hit + from.size();
    }
    out.append(text.substr(pos));
    return out;
}

// "<0xXX>" -> XX, or -1.
int parse_byte_token(std::string_view text) {
    if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
    int value = 0;
    for (char c : text.substr(3, 2)) {
        value *= 16;
        if (c >= '0' && c <= '9') {
            value += c - '0';
        } else if (c >= 'A' && c <= 'F') {
            value += c - 'A' + 10;
        } else if (c >= 'a' && c <= 'f') {
            value += c - 'a' + 10;
        } else {
            return -1;
        }
    }
    return value;
}

bool is_special_kind(TokenKind kind) {
    return kind == TokenKind::Control || kind == TokenKind::Unknown;
}

}  // namespace

TokenizerImpl::TokenizerImpl(Vocab vocab, BpeMerges merges, std::unique_ptr<PreTokenizer> pre)
    : vocab_(std::move(vocab)), merges_(std::move(merges)), pre_(std::move(pre)), special_(vocab_) {
    if (vocab_.type == ModelType::Bpe && !pre_) {
        throw Error("tokenizer: byte-level BPE needs a pre-tokenizer");
    }
    if (vocab_.type != ModelType::Bpe) pre_.reset();
    pieces_.resize(vocab_.text.size());
    for (TokenId id = 0; id < vocab_.size(); ++id) {
        const std::string& text = vocab_.text[id];
        switch (vocab_.kind[id]) {
            case TokenKind::Control:
            case TokenKind::Unknown:
            case TokenKind::UserDefined:
                pieces_[id] = text;
                break;
            case TokenKind::Byte:
                if (const int b = parse_byte_token(text); b >= 0) {
                    pieces_[id] = std::string(1, static_cast<char>(b));
                } else {
                    pieces_[id] = text;
                }
                break;
            default:
                pieces_[id] = vocab_.type == ModelType::Bpe ? byte_level_decode(text)
                                                            : replace_all(text, kSpaceMarker, " ");
                break;
        }
    }
}

void TokenizerImpl::check_id(TokenId id) const {
    if (!vocab_.valid(id)) {
        throw Error("tokenizer: token id " + std::to_string(id) +
                    " is out of range (vocabulary of " + std::to_string(vocab_.size()) +
                    " tokens)");
    }
}

void TokenizerImpl::encode_text(std::string_view text, bool after_special,
                                std::vector<TokenId>& out) const {
    switch (vocab_.type) {
        case ModelType::Spm: {
            std::string prefixed;
            if (vocab_.add_space_prefix && after_special) prefixed = " ";
            prefixed.append(text);
            spm_encode(vocab_, replace_all(prefixed, " ", kSpaceMarker), out);
            break;
        }
        case ModelType::Bpe: {
            std::vector<std::string_view> pieces;
            pre_->split(text, pieces);
            std::string encoded;
            for (std::string_view piece : pieces) {
                encoded = byte_level_encode(piece);
                bpe_encode_piece(vocab_, merges_, encoded, out);
            }
            break;
        }
        case ModelType::WordPiece:
            wordpiece_encode(vocab_, text, out);
            break;
    }
}

std::vector<TokenId> TokenizerImpl::encode(std::string_view text, bool add_special,
                                           bool parse_special) const {
    std::vector<TokenId> out;
    if (add_special && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);

    std::vector<Fragment> fragments;
    special_.partition(vocab_, text, parse_special, fragments);
    bool after_special = true;  // SentencePiece prefixes a space to the first text fragment
    for (const Fragment& f : fragments) {
        if (f.token >= 0) {
            out.push_back(f.token);
            after_special = true;
        } else {
            encode_text(f.text, after_special, out);
            after_special = false;
        }
    }

    if (add_special) {
        if (vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
        if (vocab_.add_sep && vocab_.sep >= 0) out.push_back(vocab_.sep);
    }
    return out;
}

std::string TokenizerImpl::token_to_piece(TokenId id) const {
    check_id(id);
    return pieces_[id];
}

std::string TokenizerImpl::decode(const std::vector<TokenId>& ids, bool skip_special,
                                  bool remove_leading_space) const {
    const bool strip =
        remove_leading_space && (vocab_.add_space_prefix || vocab_.type == ModelType::WordPiece);
    bool first_text = true;
    std::string out;
    for (TokenId id : ids) {
        check_id(id);
        const bool special = is_special_kind(vocab_.kind[id]);
        if (special && skip_special) continue;
        std::string_view piece = pieces_[id];
        if (!special && first_text) {
            if (strip && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
            first_text = false;
        }
        out.append(piece);
    }
    return out;
}

const std::string& TokenizerImpl::token_text(TokenId id) const {
    check_id(id);
    return vocab_.text[id];
}

TokenKind TokenizerImpl::token_kind(TokenId id) const {
    check_id(id);
    return vocab_.kind[id];
}

bool TokenizerImpl::is_end_of_generation(TokenId id) const {
    return std::binary_search(vocab_.eog.begin(), vocab_.eog.end(), id);
}

}  // namespace uma::tok

namespace uma {

std::string escape_piece(std::string_view piece) {
    std::string out;
    size_t pos = 0;
    while (pos < piece.size()) {
        const size_t start = pos;
        const uint32_t cp = tok::decode_utf8(piece, pos);
        if (cp == 0xFFFD && piece.substr(start, pos - start) != "\xef\xbf\xbd") {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<uint8_t>(piece[start]));
            out += buf;
            continue;
        }
        switch (cp) {
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\'':
                out += "\\'";
                break;
            default:
                if (cp < 0x20 || cp == 0x7F) {
                    char buf[8];
                    std::snprintf(buf, sizeof(buf), "\\x%02x", cp);
                    out += buf;
                } else {
                    out.append(piece.substr(start, pos - start));
                }
        }
    }
    return out;
}

std::string format_tokenization(const Tokenizer& tokenizer, std::string_view text,
                                const TokenizeOptions& options) {
    const auto ids = tokenizer.encode(text, options.add_special, options.parse_special);
    std::string out;
    if (options.ids_only) {
        out += '[';
        for (size_t i = 0; i < ids.size(); ++i) {
            if (i > 0) out += ", ";
            out += std::to_string(ids[i]);
        }
        out += "]\n";
        return out;
    }
    for (TokenId id : ids) {
        char buf[16];
        std::snprintf(buf, sizeof(buf), "%6d", id);
        out += buf;
        out += " -> '";
        out += escape_piece(tokenizer.token_to_piece(id));
        out += "'\n";
    }
    return out;
}

}  // namespace uma
