// Matching: a set of frames (parse positions with shared return stacks) advanced one byte at a
// time. UTF-8 is decoded on the way; a partly read code point keeps the frames whose class could
// still match some completion of it.
#include <algorithm>
#include <string>

#include "sampling/grammar_program.h"
#include "uma/core/error.h"

namespace uma {
namespace grammar_detail {
namespace {

constexpr uint32_t kNoNode = UINT32_MAX;

uint64_t mix(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ull;
    key ^= key >> 33;
    return key;
}

uint64_t key_of(uint32_t a, uint32_t b) {
    return (uint64_t{a} << 32) | b;
}

}  // namespace

// --- StackPool ---

StackPool::StackPool() {
    nodes_.push_back({0, 0, 0});  // node 0: the empty stack
    table_.assign(1024, 0);
}

void StackPool::rehash(size_t buckets) {
    table_.assign(buckets, 0);
    const size_t mask = buckets - 1;
    for (uint32_t id = 1; id < nodes_.size(); ++id) {
        size_t slot = mix(key_of(nodes_[id].pos, nodes_[id].parent)) & mask;
        while (table_[slot] != 0) slot = (slot + 1) & mask;
        table_[slot] = id;
    }
}

uint32_t StackPool::find_or_insert(uint64_t key, uint32_t pos, uint32_t parent, uint32_t depth) {
    const size_t mask = table_.size() - 1;
    size_t slot = mix(key) & mask;
    while (table_[slot] != 0) {
        const Node& n = nodes_[table_[slot]];
        if (n.pos == pos && n.parent == parent) return table_[slot];
        slot = (slot + 1) & mask;
    }
    const auto id = static_cast<uint32_t>(nodes_.size());
    nodes_.push_back({pos, parent, depth});
    table_[slot] = id;
    if (nodes_.size() * 2 > table_.size()) rehash(table_.size() * 2);
    return id;
}

uint32_t StackPool::push(uint32_t pos, uint32_t parent, size_t max_depth) {
    const uint32_t depth = nodes_[parent].depth + 1;
    if (depth > max_depth) return kNoNode;
    return find_or_insert(key_of(pos, parent), pos, parent, depth);
}

void StackPool::compact(ParseState& state) {
    std::vector<uint8_t> live(nodes_.size(), 0);
    live[0] = 1;
    for (const Frame& f : state.frames) {
        for (uint32_t id = f.rest; !live[id]; id = nodes_[id].parent) live[id] = 1;
    }
    // Parents are always older (smaller ids) than their children, so one forward pass renumbers.
    std::vector<uint32_t> renumber(nodes_.size(), 0);
    std::vector<Node> kept{nodes_[0]};
    for (uint32_t id = 1; id < nodes_.size(); ++id) {
        if (!live[id]) continue;
        Node n = nodes_[id];
        n.parent = renumber[n.parent];
        renumber[id] = static_cast<uint32_t>(kept.size());
        kept.push_back(n);
    }
    nodes_ = std::move(kept);
    for (Frame& f : state.frames) f.rest = renumber[f.rest];
    size_t buckets = 1024;
    while (buckets < nodes_.size() * 2) buckets *= 2;
    rehash(buckets);
}

// --- FrameSet ---

bool FrameSet::insert(Frame f) {
    if ((count_ + 1) * 2 > slots_.size()) {
        // Grow, keeping the entries inserted since the last clear.
        std::vector<uint64_t> old_slots = std::move(slots_);
        std::vector<uint32_t> old_stamps = std::move(stamps_);
        const size_t size = std::max<size_t>(64, old_slots.size() * 2);
        slots_.assign(size, 0);
        stamps_.assign(size, 0);
        count_ = 0;
        for (size_t i = 0; i < old_slots.size(); ++i) {
            if (old_stamps[i] == stamp_)
                insert({static_cast<uint32_t>(old_slots[i] >> 32),
                        static_cast<uint32_t>(old_slots[i])});
        }
    }
    const uint64_t key = key_of(f.pos, f.rest);
    const size_t mask = slots_.size() - 1;
    size_t slot = mix(key) & mask;
    while (stamps_[slot] == stamp_) {
        if (slots_[slot] == key) return false;
        slot = (slot + 1) & mask;
    }
    stamps_[slot] = stamp_;
    slots_[slot] = key;
    ++count_;
    return true;
}

void FrameSet::clear() {
    count_ = 0;
    if (++stamp_ == 0) {  // the stamp wrapped: old stamps could collide, so wipe them
        std::fill(stamps_.begin(), stamps_.end(), 0);
        stamp_ = 1;
    }
}

// --- Stepping ---

namespace {

constexpr size_t kVisitsPerPosition = 32;

[[noreturn]] void throw_too_ambiguous(const Program& program) {
    throw Error("the grammar is too ambiguous: more than " +
                std::to_string(program.limits.max_parse_positions) + " parse positions at once");
}

// Follows `start` through rule references and rule ends to the Char frames it leads to, adding
// them to `out` (the empty stack sets out.complete). `scratch.seen` holds the frames visited in
// this step, so shared or cyclic paths are walked once.
void expand(const Program& program, StackPool& pool, StepScratch& scratch, Frame start,
            ParseState& out) {
    auto& work = scratch.work;
    work.clear();
    work.push_back(start);
    while (!work.empty()) {
        const Frame f = work.back();
        work.pop_back();
        if (!scratch.seen.insert(f)) continue;
        // Nested ambiguous repetitions (("a"+)+)+ reach exponentially many intermediate frames
        // before any is a Char frame: bound the work of one step, not just its result.
        if (scratch.seen.size() > kVisitsPerPosition * program.limits.max_parse_positions)
            throw_too_ambiguous(program);
        const Element& e = program.elements[f.pos];
        switch (e.kind) {
            case ElementKind::Char:
                out.frames.push_back(f);
                break;
            case ElementKind::End:
                if (f.rest == 0) {
                    out.complete = true;
                } else {
                    const StackPool::Node& n = pool.node(f.rest);
                    work.push_back({n.pos, n.parent});
                }
                break;
            case ElementKind::RuleRef: {
                const uint32_t next = f.pos + 1;
                uint32_t rest = f.rest;
                // A reference that ends its alternative needs no return position (tail call), so
                // right recursion such as x* does not grow the stack.
                if (program.elements[next].kind != ElementKind::End) {
                    rest = pool.push(next, f.rest, program.limits.max_stack_depth);
                    if (rest == kNoNode) break;  // nested too deeply: this path is dropped
                }
                const auto& alternatives = program.rules[e.value].alternatives;
                for (auto it = alternatives.rbegin(); it != alternatives.rend(); ++it)
                    work.push_back({*it, rest});
                break;
            }
        }
    }
}

void check_ambiguity(const Program& program, const ParseState& state) {
    if (state.frames.size() > program.limits.max_parse_positions) throw_too_ambiguous(program);
}

bool advance_codepoint(const Program& program, StackPool& pool, StepScratch& scratch,
                       const ParseState& in, uint32_t cp, ParseState& out) {
    for (const Frame& f : in.frames) {
        const CharClass& cls = program.classes[program.elements[f.pos].value];
        if (!cls.matches(cp)) continue;
        const Frame next{f.pos + 1, f.rest};
        if (program.elements[next.pos].kind == ElementKind::Char) {
            if (scratch.seen.insert(next)) out.frames.push_back(next);  // common fast path
        } else {
            expand(program, pool, scratch, next, out);
        }
    }
    check_ambiguity(program, out);
    return !out.empty();
}

// Keeps the frames whose class matches some valid code point the partial sequence can become.
bool filter_partial(const Program& program, const ParseState& in, const PartialUtf8& partial,
                    ParseState& out) {
    const unsigned shift = 6u * partial.remaining;
    uint32_t lo = std::max(partial.value << shift, partial.min_cp);
    const uint32_t hi = std::min(((partial.value + 1) << shift) - 1, uint32_t{0x10FFFF});
    if (lo > hi) return false;
    if (lo >= 0xD800 && hi <= 0xDFFF) return false;  // only surrogates: never valid UTF-8
    out.partial = partial;
    for (const Frame& f : in.frames) {
        const CharClass& cls = program.classes[program.elements[f.pos].value];
        const bool possible = cls.matches_any_in(lo, std::min(hi, uint32_t{0xD7FF})) ||
                              cls.matches_any_in(std::max(lo, uint32_t{0xE000}), hi);
        if (possible) out.frames.push_back(f);
    }
    return !out.frames.empty();
}

}  // namespace

void initial_state(const Program& program, StackPool& pool, StepScratch& scratch, ParseState& out) {
    out.frames.clear();
    out.complete = false;
    out.partial = {};
    scratch.seen.clear();
    for (uint32_t start : program.rules[program.root].alternatives)
        expand(program, pool, scratch, {start, 0}, out);
    check_ambiguity(program, out);
}

bool step_byte(const Program& program, StackPool& pool, StepScratch& scratch, const ParseState& in,
               uint8_t byte, ParseState& out) {
    out.frames.clear();
    out.complete = false;
    out.partial = {};
    if (in.frames.empty()) return false;
    if (in.partial.remaining == 0) {
        if (byte < 0x80) {
            scratch.seen.clear();
            return advance_codepoint(program, pool, scratch, in, byte, out);
        }
        // A lead byte; C0, C1 and F5..FF never start valid UTF-8.
        PartialUtf8 partial;
        if (byte >= 0xC2 && byte <= 0xDF)
            partial = {byte & 0x1Fu, 1, 0x80};
        else if (byte >= 0xE0 && byte <= 0xEF)
            partial = {byte & 0x0Fu, 2, 0x800};
        else if (byte >= 0xF0 && byte <= 0xF4)
            partial = {byte & 0x07u, 3, 0x10000};
        else
            return false;
        return filter_partial(program, in, partial, out);
    }
    if ((byte & 0xC0) != 0x80) return false;
    PartialUtf8 partial = in.partial;
    partial.value = (partial.value << 6) | (byte & 0x3Fu);
    --partial.remaining;
    if (partial.remaining > 0) return filter_partial(program, in, partial, out);
    const uint32_t cp = partial.value;
    if (cp < partial.min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    scratch.seen.clear();
    return advance_codepoint(program, pool, scratch, in, cp, out);
}

}  // namespace grammar_detail

using namespace grammar_detail;

// --- Grammar ---

Grammar::Grammar(std::unique_ptr<Program> program) : program_(std::move(program)) {}
Grammar::~Grammar() = default;

std::shared_ptr<const Grammar> Grammar::parse(std::string_view gbnf, std::string_view root,
                                              const GrammarLimits& limits) {
    auto program = std::make_unique<Program>(parse_gbnf(gbnf, root, limits));
    check_program(*program);
    return std::shared_ptr<const Grammar>(new Grammar(std::move(program)));
}

size_t Grammar::rule_count() const {
    return program_->rules.size();
}
const GrammarLimits& Grammar::limits() const {
    return program_->limits;
}

// --- GrammarMatcher ---

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar)
    : grammar_(std::move(grammar)),
      pool_(std::make_unique<StackPool>()),
      state_(std::make_unique<ParseState>()),
      scratch_(std::make_unique<StepScratch>()) {
    if (!grammar_) throw Error("GrammarMatcher needs a grammar");
    reset();
}

GrammarMatcher::~GrammarMatcher() = default;
GrammarMatcher::GrammarMatcher(GrammarMatcher&&) noexcept = default;
GrammarMatcher& GrammarMatcher::operator=(GrammarMatcher&&) noexcept = default;

GrammarMatcher::GrammarMatcher(const GrammarMatcher& other)
    : grammar_(other.grammar_),
      pool_(std::make_unique<StackPool>(*other.pool_)),
      state_(std::make_unique<ParseState>(*other.state_)),
      scratch_(std::make_unique<StepScratch>()),
      pool_size_after_compact_(other.pool_size_after_compact_) {}

GrammarMatcher& GrammarMatcher::operator=(const GrammarMatcher& other) {
    if (this != &other) *this = GrammarMatcher(other);
    return *this;
}

void GrammarMatcher::reset() {
    scratch_->cache.clear();
    *pool_ = StackPool();
    initial_state(grammar_->program(), *pool_, *scratch_, *state_);
    pool_size_after_compact_ = pool_->size();
}

bool GrammarMatcher::accepts(std::string_view bytes) const {
    ParseState current = *state_, next;
    for (char c : bytes) {
        if (!step_byte(grammar_->program(), *pool_, *scratch_, current, static_cast<uint8_t>(c),
                       next))
            return false;
        std::swap(current, next);
    }
    return true;
}

void GrammarMatcher::accept(std::string_view bytes) {
    ParseState current = *state_, next;
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (!step_byte(grammar_->program(), *pool_, *scratch_, current,
                       static_cast<uint8_t>(bytes[i]), next)) {
            std::string shown;
            for (char c : bytes.substr(i, 16)) {
                const auto u = static_cast<unsigned char>(c);
                static const char* hex = "0123456789ABCDEF";
                if (u >= 0x20 && u < 0x7F)
                    shown += c;
                else
                    shown += std::string("\\x") + hex[u >> 4] + hex[u & 15];
            }
            throw Error("the grammar does not allow \"" + shown + "\" here (byte " +
                        std::to_string(i) + " of the input)");
        }
        std::swap(current, next);
    }
    *state_ = std::move(current);
    // Masking and matching add stack nodes; drop the unreachable ones now and then.
    if (pool_->size() > 4 * pool_size_after_compact_ + 65536) {
        scratch_->cache.clear();  // its frames name nodes that compaction renumbers
        pool_->compact(*state_);
        pool_size_after_compact_ = pool_->size();
    }
}

bool GrammarMatcher::is_complete() const {
    return state_->complete && state_->partial.remaining == 0;
}

bool GrammarMatcher::can_continue() const {
    return !state_->frames.empty();
}

}  // namespace uma
