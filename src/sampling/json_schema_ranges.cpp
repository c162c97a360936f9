// Integer ranges as GBNF: the digit strings of [lo, hi], split by length and then digit by digit
// (the classic range-to-regex construction), so integer minimum/maximum can be enforced.
#include <string>
#include <vector>

#include "sampling/json_schema_internal.h"
#include "uma/core/error.h"

namespace uma::json_schema_detail {
namespace {

bool all_of_digit(std::string_view s, char d) {
    for (char c : s)
        if (c != d) return false;
    return true;
}

std::string digit_class(char lo, char hi) {
    if (lo == hi) return std::string("\"") + lo + "\"";
    return std::string("[") + lo + "-" + hi + "]";
}

std::string any_digits(size_t n) {
    if (n == 0) return "";
    return n == 1 ? "[0-9]" : "[0-9]{" + std::to_string(n) + "}";
}

std::string join(const std::string& a, const std::string& b) {
    if (a.empty()) return b;
    if (b.empty()) return a;
    return a + " " + b;
}

// Digit strings of one length n between a and b (a <= b, both n digits).
std::string same_length(std::string_view a, std::string_view b) {
    if (a.empty()) return "";
    if (a == b) return "\"" + std::string(a) + "\"";
    const std::string_view a_rest = a.substr(1), b_rest = b.substr(1);
    if (a[0] == b[0]) {
        const std::string rest = same_length(a_rest, b_rest);
        return join(std::string("\"") + a[0] + "\"", "(" + rest + ")");
    }
    std::vector<std::string> alternatives;
    char middle_lo = static_cast<char>(a[0] + 1), middle_hi = static_cast<char>(b[0] - 1);
    if (all_of_digit(a_rest, '0'))
        middle_lo = a[0];
    else
        alternatives.push_back(
            join(digit_class(a[0], a[0]),
                 "(" + same_length(a_rest, std::string(a_rest.size(), '9')) + ")"));
    const bool high_whole = all_of_digit(b_rest, '9');
    if (high_whole) middle_hi = b[0];
    if (middle_lo <= middle_hi)
        alternatives.push_back(join(digit_class(middle_lo, middle_hi), any_digits(a_rest.size())));
    if (!high_whole)
        alternatives.push_back(
            join(digit_class(b[0], b[0]),
                 "(" + same_length(std::string(b_rest.size(), '0'), b_rest) + ")"));
    std::string out = "(";
    for (size_t i = 0; i < alternatives.size(); ++i) out += (i ? " | " : " ") + alternatives[i];
    return out + " )";
}

std::string non_negative(int64_t lo, int64_t hi) {
    std::vector<std::string> alternatives;
    int64_t length_start = 0, length_end = 9;  // the numbers with a given digit count
    for (size_t digits = 1; digits <= 18 && length_start <= hi; ++digits) {
        const int64_t from = std::max(lo, length_start), to = std::min(hi, length_end);
        if (from <= to)
            alternatives.push_back(same_length(std::to_string(from), std::to_string(to)));
        length_start = length_end + 1;
        length_end = length_end * 10 + 9;
    }
    if (alternatives.size() == 1) return alternatives[0];
    std::string out = "(";
    for (size_t i = 0; i < alternatives.size(); ++i) out += (i ? " | " : " ") + alternatives[i];
    return out + " )";
}

}  // namespace

std::string integer_range_gbnf(int64_t lo, int64_t hi) {
    constexpr int64_t kLimit = 100000000000000000;  // 10^17
    if (lo > hi || lo <= -kLimit || hi >= kLimit) throw Error("integer range out of bounds");
    std::vector<std::string> alternatives;
    if (lo < 0) alternatives.push_back("\"-\" " + non_negative(hi < 0 ? -hi : 1, -lo));
    if (hi >= 0) alternatives.push_back(non_negative(lo < 0 ? 0 : lo, hi));
    if (alternatives.size() == 1) return alternatives[0];
    return "( " + alternatives[0] + " | " + alternatives[1] + " )";
}

}  // namespace uma::json_schema_detail
