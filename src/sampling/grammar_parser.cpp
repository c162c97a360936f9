// GBNF text -> Program. A recursive-descent parser over llama.cpp's grammar format; groups and
// repetitions become generated rules so that every item of a sequence is a single element.
#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>

#include "sampling/grammar_program.h"
#include "uma/core/error.h"

namespace uma::grammar_detail {
namespace {

constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kMaxCodepoint = 0x10FFFF;

using Sequence = std::vector<Element>;
using Alternatives = std::vector<Sequence>;

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

class GbnfParser {
  public:
    GbnfParser(std::string_view text, const GrammarLimits& limits) : text_(text), limits_(limits) {}

    Program parse(std::string_view root_name) {
        skip_space(true);
        while (!at_end()) {
            parse_rule();
            skip_space(true);
        }
        for (size_t id = 0; id < rules_.size(); ++id) {
            if (!defined_[id])
                fail_at(first_use_[id], "rule '" + rules_[id].name + "' is used but never defined");
        }
        const auto root = rule_ids_.find(std::string(root_name));
        if (root == rule_ids_.end())
            throw Error("grammar error: there is no rule named '" + std::string(root_name) +
                        "' to start from");
        return flatten(root->second);
    }

  private:
    // --- Errors and positions ---

    [[noreturn]] void fail_at(size_t offset, const std::string& message) const {
        const auto [line, column] = line_column(offset);
        throw Error("grammar error at line " + std::to_string(line) + ", column " +
                    std::to_string(column) + ": " + message);
    }
    [[noreturn]] void fail(const std::string& message) const { fail_at(pos_, message); }

    std::pair<uint32_t, uint32_t> line_column(size_t offset) const {
        uint32_t line = 1, column = 1;
        for (size_t i = 0; i < offset && i < text_.size(); ++i) {
            if (text_[i] == '\n') {
                ++line;
                column = 1;
            } else if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) {
                ++column;  // count code points, not bytes
            }
        }
        return {line, column};
    }

    static std::string describe(char c) {
        if (c == '\n') return "a line break";
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
            static const char* hex = "0123456789ABCDEF";
            const auto u = static_cast<unsigned char>(c);
            return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
        }
        return std::string("'") + c + "'";
    }

    // --- Lexical helpers ---

    bool at_end() const { return pos_ >= text_.size(); }
    char peek(size_t ahead = 0) const {
        return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
    }

    // Skips blanks and comments; line breaks only when `newlines` (inside groups, or between
    // rules), since a line break ends a rule.
    void skip_space(bool newlines) {
        while (!at_end()) {
            const char c = peek();
            if (c == ' ' || c == '\t' || c == '\r') {
                ++pos_;
            } else if (c == '\n' && newlines) {
                ++pos_;
            } else if (c == '#') {
                while (!at_end() && peek() != '\n') ++pos_;
            } else {
                break;
            }
        }
    }

    std::string parse_name() {
        const size_t start = pos_;
        while (!at_end() && is_name_char(peek())) ++pos_;
        if (pos_ == start) fail("expected a rule name, found " + describe(peek()));
        return std::string(text_.substr(start, pos_ - start));
    }

    uint32_t parse_hex(int digits) {
        uint32_t value = 0;
        for (int i = 0; i < digits; ++i) {
            const char c = peek();
            int d = -1;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            if (d < 0) fail("expected " + std::to_string(digits) + " hexadecimal digits");
            value = value * 16 + static_cast<uint32_t>(d);
            ++pos_;
        }
        if (value > kMaxCodepoint) fail("code point above U+10FFFF");
        return value;
    }

    // One character of a literal or class: an escape or a UTF-8 encoded code point.
    uint32_t parse_char() {
        if (at_end()) fail("unexpected end of the grammar");
        const auto lead = static_cast<unsigned char>(peek());
        if (lead == '\\') {
            const size_t start = pos_;
            ++pos_;
            const char e = peek();
            ++pos_;
            switch (e) {
                case 'x':
                    return parse_hex(2);
                case 'u':
                    return parse_hex(4);
                case 'U':
                    return parse_hex(8);
                case 't':
                    return '\t';
                case 'n':
                    return '\n';
                case 'r':
                    return '\r';
                case '\\':
                case '"':
                case '[':
                case ']':
                case '-':
                case '^':
                case '/':
                case '.':
                    return static_cast<unsigned char>(e);
                default:
                    fail_at(start, "unknown escape \\" + std::string(1, e == '\0' ? ' ' : e));
            }
        }
        if (lead < 0x80) {
            ++pos_;
            return lead;
        }
        size_t length = 0;
        uint32_t cp = 0;
        if (lead >= 0xC2 && lead <= 0xDF)
            length = 2, cp = lead & 0x1F;
        else if (lead >= 0xE0 && lead <= 0xEF)
            length = 3, cp = lead & 0x0F;
        else if (lead >= 0xF0 && lead <= 0xF4)
            length = 4, cp = lead & 0x07;
        else
            fail("invalid UTF-8 in the grammar");
        for (size_t i = 1; i < length; ++i) {
            const auto c = static_cast<unsigned char>(peek(i));
            if ((c & 0xC0) != 0x80) fail("invalid UTF-8 in the grammar");
            cp = (cp << 6) | (c & 0x3F);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[length] || cp > kMaxCodepoint || (cp >= 0xD800 && cp <= 0xDFFF))
            fail("invalid UTF-8 in the grammar");
        pos_ += length;
        return cp;
    }

    // --- Building ---

    uint32_t class_id(CharClass cls) {
        cls.finish();
        auto key = std::make_pair(cls.negated, cls.ranges);
        const auto it = class_ids_.find(key);
        if (it != class_ids_.end()) return it->second;
        const auto id = static_cast<uint32_t>(classes_.size());
        classes_.push_back(std::move(cls));
        class_ids_.emplace(std::move(key), id);
        return id;
    }

    Element char_element(uint32_t lo, uint32_t hi, bool negated) {
        CharClass cls;
        cls.negated = negated;
        if (lo <= hi) cls.ranges.push_back({lo, hi});
        return {ElementKind::Char, class_id(std::move(cls))};
    }

    void count_elements(size_t n) {
        element_count_ += n;
        if (element_count_ > limits_.max_elements)
            fail("the grammar is too large (more than " + std::to_string(limits_.max_elements) +
                 " elements)");
    }

    uint32_t new_rule(std::string name, size_t offset, bool generated) {
        if (rules_.size() >= limits_.max_rules)
            fail("the grammar has too many rules (more than " + std::to_string(limits_.max_rules) +
                 ", counting those made for groups and repetitions)");
        const auto [line, column] = line_column(offset);
        Rule rule;
        rule.name = std::move(name);
        rule.line = line;
        rule.column = column;
        rule.generated = generated;
        rules_.push_back(std::move(rule));
        bodies_.emplace_back();
        defined_.push_back(generated);
        first_use_.push_back(offset);
        return static_cast<uint32_t>(rules_.size() - 1);
    }

    uint32_t named_rule(const std::string& name, size_t offset) {
        const auto it = rule_ids_.find(name);
        if (it != rule_ids_.end()) return it->second;
        const uint32_t id = new_rule(name, offset, false);
        rule_ids_.emplace(name, id);
        return id;
    }

    uint32_t generated_rule(uint32_t parent, size_t offset, Alternatives body) {
        // '~' cannot appear in user rule names, so generated names never collide with them.
        const uint32_t id =
            new_rule(rules_[parent].name + "~" + std::to_string(++generated_count_), offset, true);
        bodies_[id] = std::move(body);
        return id;
    }

    // --- Grammar structure ---

    void parse_rule() {
        const size_t start = pos_;
        const std::string name = parse_name();
        skip_space(false);
        if (text_.substr(pos_, 3) != "::=")
            fail("expected '::=' after the rule name '" + name + "'");
        pos_ += 3;
        skip_space(true);
        const uint32_t id = named_rule(name, start);
        if (defined_[id]) {
            const auto [line, column] = line_column(definition_offset_[id]);
            fail_at(start, "rule '" + name + "' is defined twice (first at line " +
                               std::to_string(line) + ", column " + std::to_string(column) + ")");
        }
        defined_[id] = true;
        definition_offset_[id] = start;
        const auto [line, column] = line_column(start);
        rules_[id].line = line;
        rules_[id].column = column;
        bodies_[id] = parse_alternatives(id, false, 0);
        skip_space(false);
        if (!at_end()) {
            if (peek() != '\n')
                fail("expected the end of the line after rule '" + name + "', found " +
                     describe(peek()));
            ++pos_;
        }
    }

    Alternatives parse_alternatives(uint32_t rule, bool nested, size_t depth) {
        Alternatives alternatives;
        alternatives.push_back(parse_sequence(rule, nested, depth));
        while (peek() == '|') {
            ++pos_;
            skip_space(true);
            alternatives.push_back(parse_sequence(rule, nested, depth));
        }
        return alternatives;
    }

    Sequence parse_sequence(uint32_t rule, bool nested, size_t depth) {
        Sequence sequence;
        size_t item_start = std::numeric_limits<size_t>::max();  // where the last item begins
        size_t item_offset = pos_;
        while (!at_end()) {
            const char c = peek();
            const size_t offset = pos_;
            if (c == '"') {
                ++pos_;
                item_start = sequence.size();
                while (peek() != '"') {
                    if (at_end() || peek() == '\n') fail_at(offset, "unterminated string literal");
                    const uint32_t cp = parse_char();
                    sequence.push_back(char_element(cp, cp, false));
                    count_elements(1);
                }
                ++pos_;
            } else if (c == '[') {
                ++pos_;
                item_start = sequence.size();
                sequence.push_back(parse_class(offset));
                count_elements(1);
            } else if (c == '.') {
                ++pos_;
                item_start = sequence.size();
                sequence.push_back(char_element(1, 0, true));  // negated empty class: anything
                count_elements(1);
            } else if (is_name_char(c)) {
                item_start = sequence.size();
                const std::string name = parse_name();
                sequence.push_back({ElementKind::RuleRef, named_rule(name, offset)});
                count_elements(1);
            } else if (c == '(') {
                if (depth >= limits_.max_nesting)
                    fail("groups are nested too deeply (more than " +
                         std::to_string(limits_.max_nesting) + ")");
                ++pos_;
                skip_space(true);
                Alternatives body = parse_alternatives(rule, true, depth + 1);
                if (peek() != ')') fail_at(offset, "'(' is never closed");
                ++pos_;
                item_start = sequence.size();
                sequence.push_back(
                    {ElementKind::RuleRef, generated_rule(rule, offset, std::move(body))});
                count_elements(1);
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (item_start == std::numeric_limits<size_t>::max())
                    fail(describe(c) + " must follow something to repeat");
                uint32_t min = 0, max = kUnbounded;
                ++pos_;
                if (c == '+')
                    min = 1;
                else if (c == '?')
                    max = 1;
                else if (c == '{')
                    parse_bounds(offset, min, max);
                repeat(rule, item_offset, sequence, item_start, min, max);
            } else {
                break;
            }
            if (c != '*' && c != '+' && c != '?' && c != '{') item_offset = offset;
            skip_space(nested);
        }
        return sequence;
    }

    Element parse_class(size_t offset) {
        CharClass cls;
        if (peek() == '^') {
            cls.negated = true;
            ++pos_;
        }
        while (peek() != ']') {
            if (at_end() || peek() == '\n') fail_at(offset, "unterminated character class");
            const uint32_t lo = parse_char();
            uint32_t hi = lo;
            if (peek() == '-' && peek(1) != ']' && peek(1) != '\0') {
                ++pos_;
                hi = parse_char();
                if (hi < lo) fail("character range is reversed (its end comes before its start)");
            }
            cls.ranges.push_back({lo, hi});
        }
        ++pos_;
        return {ElementKind::Char, class_id(std::move(cls))};
    }

    uint32_t parse_count() {
        uint64_t value = 0;
        const size_t start = pos_;
        while (peek() >= '0' && peek() <= '9') {
            value = value * 10 + static_cast<uint64_t>(peek() - '0');
            if (value > limits_.max_repetition)
                fail_at(start, "repetition count above the limit of " +
                                   std::to_string(limits_.max_repetition));
            ++pos_;
        }
        return static_cast<uint32_t>(value);
    }

    void parse_bounds(size_t offset, uint32_t& min, uint32_t& max) {
        skip_space(false);
        const bool has_min = peek() >= '0' && peek() <= '9';
        min = has_min ? parse_count() : 0;
        skip_space(false);
        if (peek() == '}') {
            if (!has_min) fail_at(offset, "'{}' needs a count, as in {3} or {1,5}");
            max = min;
        } else if (peek() == ',') {
            ++pos_;
            skip_space(false);
            max = peek() >= '0' && peek() <= '9' ? parse_count() : kUnbounded;
            skip_space(false);
            if (!has_min && max == kUnbounded) fail_at(offset, "'{,}' needs at least one bound");
        } else {
            fail("expected a number, ',' or '}' in a repetition");
        }
        if (peek() != '}') fail("expected '}' to close the repetition");
        ++pos_;
        if (min > max) fail_at(offset, "repetition minimum is larger than its maximum");
    }

    // Replaces the item at sequence[item_start..] by `min` copies and up to max-min optional
    // ones: x* is r ::= x r | (empty); x{0,3} is r3 ::= x r2 |, r2 ::= x r1 |, r1 ::= x |.
    void repeat(uint32_t rule, size_t offset, Sequence& sequence, size_t item_start, uint32_t min,
                uint32_t max) {
        Sequence item(sequence.begin() + static_cast<ptrdiff_t>(item_start), sequence.end());
        sequence.resize(item_start);
        if (item.empty()) return;  // an empty literal repeated is still empty
        if (item.size() > 1) {     // a multi-character literal: repeat it through one rule
            Element ref{ElementKind::RuleRef, generated_rule(rule, offset, {item})};
            item = {ref};
        }
        count_elements(static_cast<size_t>(min) + 4);
        for (uint32_t i = 0; i < min; ++i) sequence.push_back(item[0]);
        if (max == kUnbounded) {
            const uint32_t id = generated_rule(rule, offset, {});
            bodies_[id] = {{item[0], {ElementKind::RuleRef, id}}, {}};
            count_elements(4);
            sequence.push_back({ElementKind::RuleRef, id});
        } else if (max > min) {
            uint32_t inner = 0;
            for (uint32_t k = 1; k <= max - min; ++k) {
                Sequence more{item[0]};
                if (k > 1) more.push_back({ElementKind::RuleRef, inner});
                count_elements(4);
                inner = generated_rule(rule, offset, {more, {}});
            }
            sequence.push_back({ElementKind::RuleRef, inner});
        }
    }

    Program flatten(uint32_t root) {
        Program program;
        program.limits = limits_;
        program.root = root;
        program.classes = std::move(classes_);
        program.rules = std::move(rules_);
        for (size_t id = 0; id < program.rules.size(); ++id) {
            for (const Sequence& sequence : bodies_[id]) {
                program.rules[id].alternatives.push_back(
                    static_cast<uint32_t>(program.elements.size()));
                program.elements.insert(program.elements.end(), sequence.begin(), sequence.end());
                program.elements.push_back({ElementKind::End, 0});
            }
        }
        return program;
    }

    std::string_view text_;
    GrammarLimits limits_;
    size_t pos_ = 0;
    size_t element_count_ = 0;
    size_t generated_count_ = 0;
    std::vector<Rule> rules_;
    std::vector<Alternatives> bodies_;
    std::vector<bool> defined_;
    std::vector<size_t> first_use_;
    std::unordered_map<size_t, size_t> definition_offset_;
    std::unordered_map<std::string, uint32_t> rule_ids_;
    std::vector<CharClass> classes_;
    std::map<std::pair<bool, std::vector<std::pair<uint32_t, uint32_t>>>, uint32_t> class_ids_;
};

}  // namespace

void CharClass::finish() {
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto& r : ranges) {
        if (!merged.empty() && r.first <= merged.back().second + 1)
            merged.back().second = std::max(merged.back().second, r.second);
        else
            merged.push_back(r);
    }
    ranges = std::move(merged);
    ascii[0] = ascii[1] = 0;
    for (uint32_t cp = 0; cp < 128; ++cp) {
        if (matches_slow(cp)) ascii[cp >> 6] |= uint64_t{1} << (cp & 63);
    }
}

bool CharClass::matches_slow(uint32_t cp) const {
    // First range whose end is >= cp.
    const auto it = std::lower_bound(ranges.begin(), ranges.end(), cp,
                                     [](const auto& r, uint32_t v) { return r.second < v; });
    const bool inside = it != ranges.end() && it->first <= cp;
    return inside != negated;
}

bool CharClass::matches_any_in(uint32_t lo, uint32_t hi) const {
    if (lo > hi) return false;
    const auto it = std::lower_bound(ranges.begin(), ranges.end(), lo,
                                     [](const auto& r, uint32_t v) { return r.second < v; });
    if (!negated) return it != ranges.end() && it->first <= hi;
    // Negated: some code point of [lo, hi] lies outside every range. Ranges are merged, so
    // [lo, hi] is fully excluded only when a single range covers it.
    return !(it != ranges.end() && it->first <= lo && it->second >= hi);
}

Program parse_gbnf(std::string_view text, std::string_view root, const GrammarLimits& limits) {
    return GbnfParser(text, limits).parse(root);
}

}  // namespace uma::grammar_detail
