// Grammar-constrained sampling: the token trie, the walk that finds every token the grammar
// allows next, and the TokenConstraint that masks logits with it.
#include "uma/sampling/grammar_constraint.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "sampling/grammar_program.h"
#include "uma/core/error.h"

namespace uma {

using namespace grammar_detail;

namespace {
constexpr uint8_t kExcluded = 0, kText = 1, kEndOfGeneration = 2;
// Longer pieces do not occur in real vocabularies; skipping them keeps Node::depth in 16 bits.
constexpr size_t kMaxPieceBytes = 4096;
// The transition cache is dropped beyond this many states (each holds a 1 KiB table).
constexpr size_t kMaxCachedStates = 4096;
}  // namespace

// --- StateCache ---

int32_t StateCache::intern(ParseState state) {
    std::sort(state.frames.begin(), state.frames.end());
    std::string key(reinterpret_cast<const char*>(state.frames.data()),
                    state.frames.size() * sizeof(Frame));
    key += static_cast<char>(state.complete);
    key.append(reinterpret_cast<const char*>(&state.partial.value), sizeof(uint32_t));
    key += static_cast<char>(state.partial.remaining);
    key.append(reinterpret_cast<const char*>(&state.partial.min_cp), sizeof(uint32_t));
    const auto [it, inserted] = ids_.emplace(std::move(key), static_cast<int32_t>(states_.size()));
    if (inserted) {
        states_.push_back(std::move(state));
        transitions_.resize(states_.size() * 256, kUnknown);
    }
    return it->second;
}

void StateCache::clear() {
    states_.clear();
    transitions_.clear();
    ids_.clear();
}

// --- TokenTrie ---

TokenTrie::TokenTrie(const Tokenizer& tokenizer) {
    const int32_t n = tokenizer.vocab_size();
    pieces_.resize(static_cast<size_t>(n));
    kind_.assign(static_cast<size_t>(n), kExcluded);
    std::vector<int32_t> text_ids;
    for (int32_t id = 0; id < n; ++id) {
        auto& piece = pieces_[static_cast<size_t>(id)];
        piece = tokenizer.token_to_piece(id);
        if (tokenizer.is_end_of_generation(id)) {
            kind_[static_cast<size_t>(id)] = kEndOfGeneration;
            end_of_generation_.push_back(id);
            continue;
        }
        // Control tokens (<s>, <|im_start|>) are markup, not text; empty pieces would let the
        // model sample forever without progress.
        const TokenKind kind = tokenizer.token_kind(id);
        if (kind == TokenKind::Control || kind == TokenKind::Unknown || kind == TokenKind::Unused)
            continue;
        if (piece.empty() || piece.size() > kMaxPieceBytes) continue;
        kind_[static_cast<size_t>(id)] = kText;
        text_ids.push_back(id);
    }
    std::sort(text_ids.begin(), text_ids.end(), [&](int32_t a, int32_t b) {
        const auto& pa = pieces_[static_cast<size_t>(a)];
        const auto& pb = pieces_[static_cast<size_t>(b)];
        return pa != pb ? pa < pb : a < b;
    });

    // In sorted order each piece shares a prefix with the previous one: close the deeper nodes
    // of the previous path, open nodes for the rest of this piece.
    nodes_.push_back({0, 0, 0, 0, 0});
    std::vector<uint32_t> path{0};  // open nodes, path[d] at depth d
    const std::string* previous = nullptr;
    for (int32_t id : text_ids) {
        const std::string& piece = pieces_[static_cast<size_t>(id)];
        size_t common = 0;
        if (previous) {
            const size_t limit = std::min(previous->size(), piece.size());
            while (common < limit && (*previous)[common] == piece[common]) ++common;
        }
        while (path.size() > common + 1) {
            nodes_[path.back()].subtree_end = static_cast<uint32_t>(nodes_.size());
            path.pop_back();
        }
        for (size_t d = common; d < piece.size(); ++d) {
            const auto index = static_cast<uint32_t>(nodes_.size());
            const auto first_token = static_cast<uint32_t>(tokens_.size());
            nodes_.push_back({0, first_token, first_token, static_cast<uint16_t>(d + 1),
                              static_cast<uint8_t>(piece[d])});
            path.push_back(index);
        }
        tokens_.push_back(id);
        nodes_[path.back()].token_end = static_cast<uint32_t>(tokens_.size());
        max_depth_ = std::max(max_depth_, piece.size());
        previous = &piece;
    }
    for (uint32_t index : path) nodes_[index].subtree_end = static_cast<uint32_t>(nodes_.size());
}

bool TokenTrie::is_text(int32_t token) const {
    return token >= 0 && token < vocab_size() && kind_[static_cast<size_t>(token)] == kText;
}

bool TokenTrie::is_end_of_generation(int32_t token) const {
    return token >= 0 && token < vocab_size() &&
           kind_[static_cast<size_t>(token)] == kEndOfGeneration;
}

// --- The walk ---

void GrammarMatcher::mark_allowed_tokens(const TokenTrie& trie, std::vector<uint8_t>& allowed) {
    if (allowed.size() < static_cast<size_t>(trie.vocab_size()))
        allowed.resize(static_cast<size_t>(trie.vocab_size()), 0);
    if (is_complete())
        for (int32_t id : trie.end_of_generation()) allowed[static_cast<size_t>(id)] = 1;
    if (state_->frames.empty()) return;

    const Program& program = grammar_->program();
    const auto& nodes = trie.nodes();
    const auto& tokens = trie.tokens();
    StateCache& cache = scratch_->cache;
    if (cache.size() > kMaxCachedStates) cache.clear();
    auto& ids = scratch_->depth_states;
    if (ids.size() < trie.max_depth() + 1) ids.resize(trie.max_depth() + 1);
    ids[0] = cache.intern(*state_);
    ParseState next;
    // Preorder: a node's parent state is the latest one set at the depth above it. A byte the
    // grammar rejects skips the node's whole subtree.
    uint32_t i = 1;
    while (i < nodes.size()) {
        const TokenTrie::Node& node = nodes[i];
        const int32_t parent = ids[node.depth - 1];
        int32_t here = cache.transition(parent, node.byte);
        if (here == StateCache::kUnknown) {
            // Computed once per (state, byte); `next` is copied out before the cache grows.
            const bool ok =
                step_byte(program, *pool_, *scratch_, cache.state(parent), node.byte, next);
            here = ok ? cache.intern(next) : StateCache::kRejected;
            cache.transition(parent, node.byte) = here;
        }
        if (here == StateCache::kRejected) {
            i = node.subtree_end;
            continue;
        }
        ids[node.depth] = here;
        for (uint32_t t = node.token_begin; t < node.token_end; ++t)
            allowed[static_cast<size_t>(tokens[t])] = 1;
        ++i;
    }
}

// --- GrammarConstraint ---

GrammarConstraint::GrammarConstraint(std::shared_ptr<const Grammar> grammar,
                                     std::shared_ptr<const TokenTrie> trie)
    : matcher_(std::move(grammar)), trie_(std::move(trie)) {
    if (!trie_) throw Error("GrammarConstraint needs a token trie");
}

const std::vector<uint8_t>& GrammarConstraint::allowed_mask() {
    if (!allowed_valid_) {
        allowed_.assign(static_cast<size_t>(trie_->vocab_size()), 0);
        matcher_.mark_allowed_tokens(*trie_, allowed_);
        allowed_valid_ = true;
    }
    return allowed_;
}

void GrammarConstraint::apply(std::span<float> logits) {
    const auto& allowed = allowed_mask();
    const float minus_infinity = -std::numeric_limits<float>::infinity();
    for (size_t id = 0; id < logits.size(); ++id) {
        if (id >= allowed.size() || !allowed[id]) logits[id] = minus_infinity;
    }
}

bool GrammarConstraint::allows(int32_t token) {
    if (allowed_valid_)
        return token >= 0 && static_cast<size_t>(token) < allowed_.size() &&
               allowed_[static_cast<size_t>(token)];
    if (trie_->is_end_of_generation(token)) return matcher_.is_complete();
    return trie_->is_text(token) && matcher_.accepts(trie_->piece(token));
}

void GrammarConstraint::accept(int32_t token) {
    if (trie_->is_end_of_generation(token)) {
        if (!matcher_.is_complete()) throw Error("the grammar does not allow the text to end here");
    } else if (trie_->is_text(token)) {
        matcher_.accept(trie_->piece(token));
    } else {
        throw Error("token " + std::to_string(token) + " is not text the grammar can match");
    }
    allowed_valid_ = false;
}

bool GrammarConstraint::finished() const {
    return matcher_.is_complete() && !matcher_.can_continue();
}

}  // namespace uma
