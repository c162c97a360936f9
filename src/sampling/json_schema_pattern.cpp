// GBNF building blocks for the JSON Schema converter, and the translation of `pattern` regular
// expressions (an ECMAScript subset) into GBNF over JSON string content.
#include <algorithm>
#include <string>

#include "sampling/json_schema_internal.h"
#include "tokenizer/unicode.h"
#include "uma/core/error.h"

namespace uma::json_schema_detail {
namespace {

constexpr uint32_t kMaxCodepoint = 0x10FFFF;
constexpr size_t kMaxPatternNesting = 64;
const char* const kHex = "0123456789ABCDEF";

std::string hex_escape(uint32_t cp) {
    std::string out;
    int digits = 2;
    if (cp > 0xFFFF)
        out = "\\U", digits = 8;
    else if (cp > 0xFF)
        out = "\\u", digits = 4;
    else
        out = "\\x";
    for (int d = digits - 1; d >= 0; --d) out += kHex[(cp >> (4 * d)) & 15];
    return out;
}

std::string class_char(uint32_t cp) {
    if (cp >= 0x20 && cp < 0x7F && cp != ']' && cp != '[' && cp != '\\' && cp != '-' && cp != '^' &&
        cp != '"')
        return std::string(1, static_cast<char>(cp));
    return hex_escape(cp);
}

// How a code point is written inside a JSON string.
std::string json_encoded(uint32_t cp) {
    switch (cp) {
        case '"':
            return "\\\"";
        case '\\':
            return "\\\\";
        case '\n':
            return "\\n";
        case '\r':
            return "\\r";
        case '\t':
            return "\\t";
        case '\b':
            return "\\b";
        case '\f':
            return "\\f";
        default:
            break;
    }
    std::string out;
    if (cp < 0x20) {
        out = "\\u00";
        out += kHex[cp >> 4];
        out += kHex[cp & 15];
    } else {
        tok::append_utf8(out, cp);
    }
    return out;
}

bool contains(const CodepointRanges& ranges, uint32_t cp) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [cp](const auto& r) { return r.first <= cp && cp <= r.second; });
}

// GBNF for one JSON string character whose decoded value lies in `set`.
std::string json_char_in(const CodepointRanges& set) {
    std::vector<std::string> alternatives;
    const CodepointRanges raw = intersect(set, json_safe_ranges());
    if (!raw.empty()) alternatives.push_back(gbnf_class(raw));
    for (uint32_t cp : {uint32_t{'"'}, uint32_t{'\\'}}) {
        if (contains(set, cp)) alternatives.push_back(gbnf_literal(json_encoded(cp)));
    }
    for (uint32_t cp = 0; cp < 0x20; ++cp) {
        if (contains(set, cp)) alternatives.push_back(gbnf_literal(json_encoded(cp)));
    }
    if (alternatives.empty()) return "[]";  // matches nothing
    if (alternatives.size() == 1) return alternatives[0];
    std::string out = "(";
    for (size_t i = 0; i < alternatives.size(); ++i) out += (i ? " | " : " ") + alternatives[i];
    return out + " )";
}

const CodepointRanges kDigits = {{'0', '9'}};
const CodepointRanges kWord = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
const CodepointRanges kSpace = {{'\t', '\r'}, {' ', ' '}};  // \t \n \v \f \r and space

class PatternTranslator {
  public:
    PatternTranslator(std::string_view pattern, std::string_view any_char)
        : pattern_(pattern), any_char_(any_char) {}

    std::string translate() {
        std::string_view body = pattern_;
        const bool anchored_start = !body.empty() && body.front() == '^';
        if (anchored_start) body.remove_prefix(1);
        bool anchored_end = false;
        if (!body.empty() && body.back() == '$') {
            size_t backslashes = 0;
            for (size_t i = body.size() - 1; i > 0 && body[i - 1] == '\\'; --i) ++backslashes;
            if (backslashes % 2 == 0) {
                anchored_end = true;
                body.remove_suffix(1);
            }
        }
        text_ = body;
        std::string expression = alternation(0, anchored_start || anchored_end);
        if (pos_ < text_.size()) fail("unbalanced ')'");
        // A pattern matches anywhere in the string unless anchored.
        if (!anchored_start) expression = std::string(any_char_) + "* " + expression;
        if (!anchored_end) expression += " " + std::string(any_char_) + "*";
        return expression;
    }

  private:
    [[noreturn]] void fail(const std::string& message) const {
        throw Error("unsupported \"pattern\" " + quoted_pattern() + ": " + message);
    }
    std::string quoted_pattern() const { return "'" + std::string(pattern_) + "'"; }

    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }

    std::string alternation(size_t depth, bool anchored) {
        if (depth > kMaxPatternNesting) fail("groups are nested too deeply");
        std::vector<std::string> branches{sequence(depth)};
        while (peek() == '|') {
            if (depth == 0 && anchored)
                fail("'^' or '$' with a top-level '|'; write ^(a|b)$ instead");
            ++pos_;
            branches.push_back(sequence(depth));
        }
        if (branches.size() == 1) return branches[0];
        std::string out = "(";
        for (size_t i = 0; i < branches.size(); ++i) out += (i ? " | " : " ") + branches[i];
        return out + " )";
    }

    std::string sequence(size_t depth) {
        std::string out;
        while (!at_end() && peek() != '|' && peek() != ')') {
            std::string item = atom(depth);
            item += quantifier();
            out += (out.empty() ? "" : " ") + item;
        }
        return out.empty() ? "\"\"" : out;
    }

    // A repetition suffix for the atom just read, or "".
    std::string quantifier() {
        std::string q;
        const char c = peek();
        if (c == '*' || c == '+' || c == '?') {
            ++pos_;
            q = std::string(1, c);
        } else if (c == '{') {
            const size_t start = pos_;
            ++pos_;
            const std::string min = digits();
            std::string max = min;
            bool comma = false;
            if (peek() == ',') {
                comma = true;
                ++pos_;
                max = digits();
            }
            if (peek() != '}' || min.empty()) {
                pos_ = start;  // not a quantifier: ECMAScript reads '{' as a literal then
                return "";
            }
            ++pos_;
            q = "{" + min + (comma ? "," + max : "") + "}";
        } else {
            return "";
        }
        if (peek() == '?') ++pos_;  // lazy: irrelevant when generating
        if (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{')
            fail("a quantifier follows another quantifier");
        return q;
    }

    std::string digits() {
        std::string out;
        while (peek() >= '0' && peek() <= '9') out += text_[pos_++];
        if (out.size() > 6) fail("repetition count too large");
        return out;
    }

    std::string atom(size_t depth) {
        const char c = peek();
        if (c == '(') {
            ++pos_;
            if (peek() == '?') {
                ++pos_;
                if (peek() == ':') {
                    ++pos_;
                } else if (peek() == '<' && pos_ + 1 < text_.size() && text_[pos_ + 1] != '=' &&
                           text_[pos_ + 1] != '!') {
                    while (!at_end() && peek() != '>') ++pos_;  // a named group: drop the name
                    ++pos_;
                } else {
                    fail("lookahead and lookbehind are not supported");
                }
            }
            std::string inner = alternation(depth + 1, false);
            if (peek() != ')') fail("'(' is never closed");
            ++pos_;
            return "(" + inner + ")";
        }
        if (c == '[') return json_char_in(char_class());
        if (c == '.') {
            ++pos_;
            return json_char_in(
                complement(normalized({{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}})));
        }
        if (c == '*' || c == '+' || c == '?')
            fail("nothing to repeat before '" + std::string(1, c) + "'");
        if (c == '^' || c == '$') fail("'^' and '$' are supported only at the start and end");
        if (c == '\\') {
            CodepointRanges set;
            if (escape(set, false)) return json_char_in(set);
            return gbnf_literal(json_encoded(set[0].first));
        }
        return gbnf_literal(json_encoded(literal_codepoint()));
    }

    uint32_t literal_codepoint() {
        const auto lead = static_cast<unsigned char>(text_[pos_]);
        size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        if (pos_ + length > text_.size()) fail("invalid UTF-8");
        uint32_t cp = length == 1 ? lead : lead & (0x3F >> (length - 1));
        for (size_t i = 1; i < length; ++i) cp = (cp << 6) | (text_[pos_ + i] & 0x3F);
        pos_ += length;
        return cp;
    }

    uint32_t hex_value(size_t digits) {
        uint32_t value = 0;
        for (size_t i = 0; i < digits; ++i) {
            const char h = peek();
            int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (d < 0) fail("bad hexadecimal escape");
            value = value * 16 + static_cast<uint32_t>(d);
            ++pos_;
        }
        return value;
    }

    // Reads an escape after '\'. Sets `set` to its code points; returns true when it is a class
    // (\d, \w, ...) rather than a single character.
    bool escape(CodepointRanges& set, bool in_class) {
        ++pos_;
        if (at_end()) fail("a pattern cannot end with '\\'");
        const char e = text_[pos_++];
        switch (e) {
            case 'd':
                set = kDigits;
                return true;
            case 'D':
                set = complement(kDigits);
                return true;
            case 'w':
                set = kWord;
                return true;
            case 'W':
                set = complement(kWord);
                return true;
            case 's':
                set = kSpace;
                return true;
            case 'S':
                set = complement(kSpace);
                return true;
            case 'n':
                set = {{'\n', '\n'}};
                return false;
            case 'r':
                set = {{'\r', '\r'}};
                return false;
            case 't':
                set = {{'\t', '\t'}};
                return false;
            case 'f':
                set = {{'\f', '\f'}};
                return false;
            case 'v':
                set = {{'\v', '\v'}};
                return false;
            case '0':
                set = {{0, 0}};
                return false;
            case 'x': {
                const uint32_t cp = hex_value(2);
                set = {{cp, cp}};
                return false;
            }
            case 'u': {
                const uint32_t cp = hex_value(4);
                set = {{cp, cp}};
                return false;
            }
            case 'b':
                if (in_class) {
                    set = {{'\b', '\b'}};
                    return false;
                }
                fail("word boundaries (\\b) are not supported");
            default:
                break;
        }
        if ((e >= '1' && e <= '9') || e == 'B' || e == 'k' || e == 'p' || e == 'P' || e == 'c')
            fail(std::string("\\") + e + " is not supported");
        --pos_;
        const uint32_t cp = literal_codepoint();  // an escaped punctuation character
        set = {{cp, cp}};
        return false;
    }

    CodepointRanges char_class() {
        const size_t start = pos_;
        ++pos_;
        bool negated = false;
        if (peek() == '^') {
            negated = true;
            ++pos_;
        }
        CodepointRanges set;
        bool first = true;
        while (first || peek() != ']') {
            if (at_end()) {
                pos_ = start;
                fail("'[' is never closed");
            }
            first = false;
            CodepointRanges item;
            const bool is_class = peek() == '\\' ? escape(item, true) : false;
            if (item.empty()) {
                const uint32_t cp = literal_codepoint();
                item = {{cp, cp}};
            }
            if (!is_class && peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
                ++pos_;
                CodepointRanges upper;
                const bool upper_is_class = peek() == '\\' ? escape(upper, true) : false;
                if (upper.empty()) {
                    const uint32_t cp = literal_codepoint();
                    upper = {{cp, cp}};
                }
                if (upper_is_class) fail("a class shorthand cannot end a range");
                if (upper[0].first < item[0].first) fail("a range in [...] is reversed");
                item = {{item[0].first, upper[0].first}};
            }
            set.insert(set.end(), item.begin(), item.end());
        }
        ++pos_;
        set = normalized(std::move(set));
        return negated ? complement(set) : set;
    }

    std::string_view pattern_;
    std::string_view any_char_;
    std::string_view text_;
    size_t pos_ = 0;
};

}  // namespace

std::string gbnf_literal(std::string_view text) {
    std::string out = "\"";
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"')
            out += "\\\"";
        else if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (c < 0x20 || c == 0x7F)
            out += hex_escape(c);
        else
            out += ch;  // UTF-8 passes through: the grammar parser decodes it
    }
    return out + "\"";
}

std::string gbnf_class(const CodepointRanges& ranges) {
    std::string out = "[";
    for (const auto& [lo, hi] : ranges) {
        out += class_char(lo);
        if (hi != lo) out += (hi > lo + 1 ? "-" : "") + class_char(hi);
    }
    return out + "]";
}

CodepointRanges normalized(CodepointRanges ranges) {
    std::sort(ranges.begin(), ranges.end());
    CodepointRanges merged;
    for (const auto& r : ranges) {
        if (!merged.empty() && r.first <= merged.back().second + 1)
            merged.back().second = std::max(merged.back().second, r.second);
        else
            merged.push_back(r);
    }
    return merged;
}

CodepointRanges complement(const CodepointRanges& ranges) {
    CodepointRanges out;
    uint32_t next = 0;
    for (const auto& [lo, hi] : normalized(ranges)) {
        if (lo > next) out.push_back({next, lo - 1});
        next = hi + 1;
    }
    if (next <= kMaxCodepoint) out.push_back({next, kMaxCodepoint});
    return out;
}

CodepointRanges intersect(const CodepointRanges& a, const CodepointRanges& b) {
    CodepointRanges out;
    for (const auto& [alo, ahi] : normalized(a)) {
        for (const auto& [blo, bhi] : normalized(b)) {
            const uint32_t lo = std::max(alo, blo), hi = std::min(ahi, bhi);
            if (lo <= hi) out.push_back({lo, hi});
        }
    }
    return normalized(std::move(out));
}

CodepointRanges json_safe_ranges() {
    return {{0x20, 0x21}, {0x23, 0x5B}, {0x5D, 0xD7FF}, {0xE000, kMaxCodepoint}};
}

std::string pattern_to_gbnf(std::string_view pattern, std::string_view any_char) {
    return PatternTranslator(pattern, any_char).translate();
}

}  // namespace uma::json_schema_detail
