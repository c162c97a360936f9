#pragma once
// The compiled form of a grammar and the parse-state machinery shared by the parser, the checks,
// the matcher and the token trie walk. Internal to src/sampling.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "uma/sampling/grammar.h"

namespace uma::grammar_detail {

// The code points a character element matches. Ranges are inclusive, sorted and merged.
struct CharClass {
    bool negated = false;
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    uint64_t ascii[2] = {0, 0};  // matches() for code points < 128, negation applied

    void finish();  // sorts and merges ranges, fills `ascii`
    bool matches(uint32_t cp) const {
        if (cp < 128) return (ascii[cp >> 6] >> (cp & 63)) & 1;
        return matches_slow(cp);
    }
    bool matches_slow(uint32_t cp) const;
    // Whether some code point in [lo, hi] matches.
    bool matches_any_in(uint32_t lo, uint32_t hi) const;
};

enum class ElementKind : uint8_t {
    End,      // end of an alternative
    RuleRef,  // value: rule index
    Char,     // value: class index
};

struct Element {
    ElementKind kind;
    uint32_t value;
};

struct Rule {
    std::string name;
    std::vector<uint32_t> alternatives;  // element index where each alternative starts
    uint32_t line = 0;                   // where it was defined (or the repeated expression)
    uint32_t column = 0;
    bool generated = false;  // made by the parser for a group or a repetition
};

struct Program {
    std::vector<Element> elements;
    std::vector<CharClass> classes;
    std::vector<Rule> rules;
    uint32_t root = 0;
    GrammarLimits limits;
};

// Builds a Program from GBNF (grammar_parser.cpp) and checks it (grammar_check.cpp).
Program parse_gbnf(std::string_view text, std::string_view root, const GrammarLimits& limits);
void check_program(const Program& program);

// A parse position: the next element to match in some rule (`pos`) and the return positions
// below it (`rest`, a node of the StackPool; 0 is the empty stack). Frames in a ParseState always
// point at a Char element.
struct Frame {
    uint32_t pos;
    uint32_t rest;
    bool operator==(const Frame&) const = default;
    bool operator<(const Frame& o) const { return pos != o.pos ? pos < o.pos : rest < o.rest; }
};

// A code point whose UTF-8 bytes have only partly arrived.
struct PartialUtf8 {
    uint32_t value = 0;     // the bits read so far
    uint8_t remaining = 0;  // continuation bytes still expected
    uint32_t min_cp = 0;    // smallest code point its length may encode (rejects overlong forms)
};

struct ParseState {
    std::vector<Frame> frames;
    bool complete = false;  // the empty stack is reachable: the sentence may end here
    PartialUtf8 partial;
    bool empty() const { return frames.empty() && !complete; }
};

// Return-position stacks shared between frames: a node is (pos, parent) and equal stacks are one
// node (hash-consed), so comparing frames compares whole stacks.
class StackPool {
  public:
    struct Node {
        uint32_t pos;
        uint32_t parent;
        uint32_t depth;
    };
    StackPool();
    // The node for `pos` on top of `parent`, or 0 when that would exceed max_depth.
    uint32_t push(uint32_t pos, uint32_t parent, size_t max_depth);
    const Node& node(uint32_t id) const { return nodes_[id]; }
    size_t size() const { return nodes_.size(); }
    // Drops the nodes no frame of `state` can reach, renumbering the others.
    void compact(ParseState& state);

  private:
    uint32_t find_or_insert(uint64_t key, uint32_t pos, uint32_t parent, uint32_t depth);
    void rehash(size_t buckets);
    std::vector<Node> nodes_;
    std::vector<uint32_t> table_;  // open addressing: node ids, 0 = free
};

// Scratch space for stepping, reused so that the hot loop does not allocate.
class FrameSet {
  public:
    // Inserts; false when already present since the last clear().
    bool insert(Frame f);
    void clear();
    size_t size() const { return count_; }

  private:
    std::vector<uint64_t> slots_;
    std::vector<uint32_t> stamps_;
    uint32_t stamp_ = 1;
    size_t count_ = 0;
};

// Parse states seen while walking the token trie, with their byte transitions. Most trie nodes
// lead to a state met before (inside a string, almost every byte leads back to the same state),
// so a walk is mostly table lookups. Frames name pool nodes: clear it when the pool compacts.
class StateCache {
  public:
    static constexpr int32_t kUnknown = -2;
    static constexpr int32_t kRejected = -1;
    int32_t intern(ParseState state);  // sorts the frames; returns the state's id
    const ParseState& state(int32_t id) const { return states_[static_cast<size_t>(id)]; }
    int32_t& transition(int32_t id, uint8_t byte) {
        return transitions_[static_cast<size_t>(id) * 256 + byte];
    }
    size_t size() const { return states_.size(); }
    void clear();

  private:
    std::vector<ParseState> states_;
    std::vector<int32_t> transitions_;
    std::unordered_map<std::string, int32_t> ids_;
};

struct StepScratch {
    FrameSet seen;
    std::vector<Frame> work;
    StateCache cache;
    std::vector<int32_t> depth_states;  // the token trie walk: the state id at each depth
};

// The state at the start of the grammar.
void initial_state(const Program& program, StackPool& pool, StepScratch& scratch, ParseState& out);
// Feeds one byte: false (and `out` unspecified) when the grammar rejects it. Throws uma::Error
// when the grammar is too ambiguous (more than limits.max_parse_positions positions).
bool step_byte(const Program& program, StackPool& pool, StepScratch& scratch, const ParseState& in,
               uint8_t byte, ParseState& out);

}  // namespace uma::grammar_detail
