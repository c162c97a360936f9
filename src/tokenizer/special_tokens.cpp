#include "tokenizer/special_tokens.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace uma::tok {

namespace {

bool is_special_kind(TokenKind kind) {
    return kind == TokenKind::Control || kind == TokenKind::UserDefined ||
           kind == TokenKind::Unknown;
}

bool is_space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab) {
    // Build a pointer trie first, then flatten it breadth-first into sorted edge lists.
    struct TempNode {
        TokenId token = -1;
        std::map<uint8_t, uint32_t> children;
    };
    std::vector<TempNode> temp(1);
    for (TokenId id = 0; id < vocab.size(); ++id) {
        const std::string& s = vocab.text[id];
        if (s.empty() || !is_special_kind(vocab.kind[id])) continue;
        uint32_t node = 0;
        for (char c : s) {
            const auto b = static_cast<uint8_t>(c);
            auto it = temp[node].children.find(b);
            if (it == temp[node].children.end()) {
                temp.push_back({});
                it = temp[node].children.emplace(b, static_cast<uint32_t>(temp.size() - 1)).first;
            }
            node = it->second;
        }
        if (temp[node].token < 0) temp[node].token = id;  // duplicates: the first id wins
        first_byte_[static_cast<uint8_t>(s[0])] = true;
    }

    std::vector<uint32_t> order{0};  // temp index of each flattened node
    nodes_.reserve(temp.size());
    for (size_t i = 0; i < order.size(); ++i) {
        const TempNode& t = temp[order[i]];
        Node node;
        node.token = t.token;
        node.first_child = static_cast<uint32_t>(edges_.size());
        node.n_children = static_cast<uint32_t>(t.children.size());
        for (const auto& [byte, child] : t.children) {
            edges_.push_back({byte, static_cast<uint32_t>(order.size())});
            order.push_back(child);
        }
        nodes_.push_back(node);
    }
}

const SpecialTokenMatcher::Node* SpecialTokenMatcher::child(const Node& node, uint8_t byte) const {
    const Edge* first = edges_.data() + node.first_child;
    const Edge* last = first + node.n_children;
    const Edge* it =
        std::lower_bound(first, last, byte, [](const Edge& e, uint8_t b) { return e.byte < b; });
    return it != last && it->byte == byte ? &nodes_[it->node] : nullptr;
}

void SpecialTokenMatcher::partition(const Vocab& vocab, std::string_view text, bool parse_special,
                                    std::vector<Fragment>& out) const {
    const size_t n = text.size();
    size_t run_start = 0;
    size_t pos = 0;
    while (pos < n) {
        if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
            ++pos;
            continue;
        }
        const Node* node = &nodes_[0];
        size_t best_len = 0;
        TokenId best = -1;
        for (size_t j = pos; j < n; ++j) {
            node = child(*node, static_cast<uint8_t>(text[j]));
            if (node == nullptr) break;
            if (node->token >= 0 &&
                (parse_special || vocab.kind[node->token] == TokenKind::UserDefined)) {
                best = node->token;
                best_len = j + 1 - pos;
            }
        }
        if (best < 0) {
            ++pos;
            continue;
        }
        size_t run_end = pos;
        if (vocab.attr[best] & kAttrLstrip) {
            while (run_end > run_start && is_space(text[run_end - 1])) --run_end;
        }
        if (run_end > run_start) out.push_back({text.substr(run_start, run_end - run_start), -1});
        out.push_back({{}, best});
        pos += best_len;
        if (vocab.attr[best] & kAttrRstrip) {
            while (pos < n && is_space(text[pos])) ++pos;
        }
        run_start = pos;
    }
    if (run_start < n) out.push_back({text.substr(run_start), -1});
}

}  // namespace uma::tok
