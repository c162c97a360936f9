#pragma once
// GBNF grammars (llama.cpp's format) and a matcher that follows them byte by byte.
//
//   root   ::= object
//   object ::= "{" ws ( pair ( "," ws pair )* )? "}"   # comments run to the end of the line
//   pair   ::= [a-z]+ ":" ws [0-9]{1,3}
//   ws     ::= [ \t\n]*
//
// Rules are `name ::= alternatives`; an alternative is a sequence of string literals (with \n,
// \t, \r, \\, \", \xHH, \uHHHH, \UHHHHHHHH escapes), character classes ([a-z], [^"]), `.` (any
// character), rule names and parenthesised groups, each optionally followed by `*`, `+`, `?` or
// `{m}`, `{m,}`, `{m,n}`, `{,n}`. Characters are Unicode code points: matching decodes UTF-8.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace uma {

namespace grammar_detail {
struct Program;
class StackPool;
struct ParseState;
struct StepScratch;
}  // namespace grammar_detail

class TokenTrie;

// Bounds that keep untrusted grammars from exhausting memory or time.
struct GrammarLimits {
    size_t max_rules = 65536;           // including those made for groups and repetitions
    size_t max_elements = 1u << 20;     // compiled size
    uint32_t max_repetition = 10000;    // the largest m or n in {m,n}
    size_t max_nesting = 256;           // parentheses inside each other
    size_t max_stack_depth = 1024;      // rule references open at once while matching
    size_t max_parse_positions = 4096;  // ambiguity: parse positions tracked at once
};

// A parsed and checked grammar; immutable, so one instance can serve many matchers.
class Grammar {
  public:
    // Parses GBNF text starting at rule `root`. Throws uma::Error naming the line and column of
    // a syntax error, an undefined rule, left recursion, or a broken limit.
    static std::shared_ptr<const Grammar> parse(std::string_view gbnf,
                                                std::string_view root = "root",
                                                const GrammarLimits& limits = {});
    ~Grammar();
    Grammar(const Grammar&) = delete;
    Grammar& operator=(const Grammar&) = delete;

    size_t rule_count() const;
    const GrammarLimits& limits() const;
    const grammar_detail::Program& program() const { return *program_; }

  private:
    explicit Grammar(std::unique_ptr<grammar_detail::Program> program);
    std::unique_ptr<grammar_detail::Program> program_;
};

// Where a grammar stands after some bytes: the set of parse positions (a pushdown automaton over
// bytes, like llama.cpp's grammar stacks) plus a partly read UTF-8 sequence. One per generation;
// not thread-safe (even const members use its scratch space). Throws uma::Error when a grammar
// turns out too ambiguous (GrammarLimits::max_parse_positions).
class GrammarMatcher {
  public:
    explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar);
    ~GrammarMatcher();
    GrammarMatcher(const GrammarMatcher& other);
    GrammarMatcher& operator=(const GrammarMatcher& other);
    GrammarMatcher(GrammarMatcher&&) noexcept;
    GrammarMatcher& operator=(GrammarMatcher&&) noexcept;

    // Whether `bytes` could come next (the state does not change).
    bool accepts(std::string_view bytes) const;
    // Advances past `bytes`; throws uma::Error (and leaves the state as it was) when the grammar
    // does not allow them.
    void accept(std::string_view bytes);
    // The bytes so far form a complete sentence of the grammar.
    bool is_complete() const;
    // Some more bytes could be accepted.
    bool can_continue() const;
    // Back to the start of the grammar.
    void reset();

    // Marks allowed[id] = 1 for every token of `trie` whose bytes could come next (other entries
    // are left alone); end-of-generation tokens when the sentence is complete. Walks the trie of
    // token pieces together with the parse positions, so shared prefixes are matched once.
    void mark_allowed_tokens(const TokenTrie& trie, std::vector<uint8_t>& allowed);

    const Grammar& grammar() const { return *grammar_; }

  private:
    std::shared_ptr<const Grammar> grammar_;
    std::unique_ptr<grammar_detail::StackPool> pool_;
    std::unique_ptr<grammar_detail::ParseState> state_;
    std::unique_ptr<grammar_detail::StepScratch> scratch_;
    size_t pool_size_after_compact_ = 0;
};

}  // namespace uma
