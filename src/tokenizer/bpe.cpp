#include "tokenizer/bpe.h"

#include <queue>
#include <string>

#include "tokenizer/unicode.h"
#include "uma/core/error.h"

namespace uma::tok {

BpeMerges parse_merges(const Vocab& vocab, const std::vector<std::string_view>& lines,
                       size_t* skipped) {
    BpeMerges merges;
    merges.pairs.reserve(lines.size());
    size_t n_skipped = 0;
    std::string joined;
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string_view line = lines[i];
        const size_t space = line.size() > 1 ? line.find(' ', 1) : std::string_view::npos;
        if (space == std::string_view::npos) {
            throw Error("tokenizer: malformed merge #" + std::to_string(i) + " '" +
                        std::string(line) + "' in tokenizer.ggml.merges (expected 'left right')");
        }
        const std::string_view left = line.substr(0, space);
        const std::string_view right = line.substr(space + 1);
        joined.assign(left);
        joined.append(right);
        const TokenId l = vocab.find(left);
        const TokenId r = vocab.find(right);
        const TokenId result = vocab.find(joined);
        if (l < 0 || r < 0 || result < 0) {
            ++n_skipped;
            continue;
        }
        merges.pairs.emplace(BpeMerges::key(l, r), BpeMerge{static_cast<int32_t>(i), result});
    }
    if (skipped != nullptr) *skipped = n_skipped;
    return merges;
}

namespace {

struct Symbol {
    uint32_t start;
    uint32_t len;  // 0 once merged into its left neighbour
    TokenId id;
    int32_t prev;
    int32_t next;
};

struct Candidate {
    int32_t rank;
    int32_t left;
    int32_t right;
    uint32_t left_len;
    uint32_t right_len;
    TokenId result;

    // Lowest rank first, then leftmost.
    bool operator<(const Candidate& o) const {
        return rank != o.rank ? rank > o.rank : left > o.left;
    }
};

}  // namespace

void bpe_encode_piece(const Vocab& vocab, const BpeMerges& merges, std::string_view piece,
                      std::vector<TokenId>& out) {
    if (piece.empty()) return;
    if (vocab.ignore_merges) {
        if (TokenId id = vocab.find(piece); id >= 0) {
            out.push_back(id);
            return;
        }
    }

    std::vector<Symbol> symbols;
    symbols.reserve(piece.size());
    for (size_t pos = 0; pos < piece.size();) {
        const size_t len =
            std::min(utf8_sequence_length(static_cast<uint8_t>(piece[pos])), piece.size() - pos);
        const auto index = static_cast<int32_t>(symbols.size());
        symbols.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(len),
                           vocab.find(piece.substr(pos, len)), index - 1, index + 1});
        pos += len;
    }
    symbols.back().next = -1;

    std::priority_queue<Candidate> queue;
    auto consider = [&](int32_t left, int32_t right) {
        if (left < 0 || right < 0) return;
        const Symbol& l = symbols[left];
        const Symbol& r = symbols[right];
        if (l.id < 0 || r.id < 0) return;
        BpeMerge merge{};
        if (merges.rank_by_token) {
            const TokenId id = vocab.find(piece.substr(l.start, l.len + r.len));
            if (id < 0) return;
            merge = {id, id};
        } else {
            auto it = merges.pairs.find(BpeMerges::key(l.id, r.id));
            if (it == merges.pairs.end()) return;
            merge = it->second;
        }
        queue.push({merge.rank, left, right, l.len, r.len, merge.result});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) consider(i - 1, i);

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& l = symbols[c.left];
        Symbol& r = symbols[c.right];
        // Stale when either side has changed since the candidate was queued.
        if (l.len != c.left_len || r.len != c.right_len || l.next != c.right) continue;
        l.len += r.len;
        l.id = c.result;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) symbols[r.next].prev = c.left;
        consider(l.prev, c.left);
        consider(c.left, l.next);
    }

    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
        const Symbol& s = symbols[i];
        if (s.id >= 0) {
            out.push_back(s.id);
            continue;
        }
        // A character missing from the vocabulary (impossible with a complete byte-level
        // alphabet): the unknown token, or nothing.
        if (vocab.unk >= 0) out.push_back(vocab.unk);
    }
}

}  // namespace uma::tok
