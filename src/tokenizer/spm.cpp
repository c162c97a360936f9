#include "tokenizer/spm.h"

#include <algorithm>
#include <queue>

#include "tokenizer/unicode.h"

namespace uma::tok {

namespace {

struct Symbol {
    uint32_t start;
    uint32_t len;  // 0 once merged into its left neighbour
    int32_t prev;
    int32_t next;
};

struct Bigram {
    float score;
    int32_t left;
    int32_t right;
    uint32_t size;

    // Highest score first, then leftmost.
    bool operator<(const Bigram& o) const {
        return score != o.score ? score < o.score : left > o.left;
    }
};

// Tokens a piece of text may become: control, unknown and byte tokens are reachable only
// through special-token parsing and byte fallback.
TokenId lookup(const Vocab& vocab, std::string_view text) {
    const TokenId id = vocab.find(text);
    if (id < 0) return -1;
    switch (vocab.kind[id]) {
        case TokenKind::Control:
        case TokenKind::Unknown:
        case TokenKind::Byte:
            return -1;
        default:
            return id;
    }
}

}  // namespace

void spm_encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) {
    if (text.empty()) return;
    std::vector<Symbol> symbols;
    symbols.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        size_t end = pos;
        decode_utf8(text, end);  // one code point, or one byte of an invalid sequence
        const size_t len = end - pos;
        const auto index = static_cast<int32_t>(symbols.size());
        symbols.push_back(
            {static_cast<uint32_t>(pos), static_cast<uint32_t>(len), index - 1, index + 1});
        pos += len;
    }
    symbols.back().next = -1;

    std::priority_queue<Bigram> queue;
    auto consider = [&](int32_t left, int32_t right) {
        if (left < 0 || right < 0) return;
        const uint32_t size = symbols[left].len + symbols[right].len;
        const TokenId id = lookup(vocab, text.substr(symbols[left].start, size));
        if (id < 0) return;
        queue.push({vocab.score[id], left, right, size});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) consider(i - 1, i);

    while (!queue.empty()) {
        const Bigram b = queue.top();
        queue.pop();
        Symbol& l = symbols[b.left];
        Symbol& r = symbols[b.right];
        if (l.len == 0 || r.len == 0 || l.next != b.right || l.len + r.len != b.size) continue;
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) symbols[r.next].prev = b.left;
        consider(l.prev, b.left);
        consider(b.left, l.next);
    }

    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
        const std::string_view piece = text.substr(symbols[i].start, symbols[i].len);
        if (const TokenId id = lookup(vocab, piece); id >= 0) {
            out.push_back(id);
            continue;
        }
        bool all_bytes = true;
        for (char c : piece)
            all_bytes = all_bytes && vocab.byte_tokens[static_cast<uint8_t>(c)] >= 0;
        if (all_bytes) {
            for (char c : piece) out.push_back(vocab.byte_tokens[static_cast<uint8_t>(c)]);
        } else if (vocab.unk >= 0) {
            out.push_back(vocab.unk);
        }
    }
}

}  // namespace uma::tok
