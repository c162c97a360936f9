#pragma once
// Helpers shared by the JSON Schema converter and its regular-expression translator.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uma::json_schema_detail {

using CodepointRanges = std::vector<std::pair<uint32_t, uint32_t>>;  // inclusive

// A GBNF string literal ("...") matching `text` exactly.
std::string gbnf_literal(std::string_view text);
// A GBNF character class ([...]) matching the code points of `ranges`.
std::string gbnf_class(const CodepointRanges& ranges);

// Code points that may appear unescaped inside a JSON string: everything but '"', '\' and
// control characters below U+0020. Surrogates are excluded too (they cannot be UTF-8 encoded).
CodepointRanges json_safe_ranges();
CodepointRanges intersect(const CodepointRanges& a, const CodepointRanges& b);
CodepointRanges complement(const CodepointRanges& ranges);
CodepointRanges normalized(CodepointRanges ranges);  // sorted and merged

// A GBNF expression for JSON string content (between the quotes) whose decoded value matches
// the ECMAScript regular expression `pattern` (a subset; throws uma::Error naming what is not
// supported). `any_char` is the GBNF rule name for one JSON string character, used around
// unanchored patterns.
std::string pattern_to_gbnf(std::string_view pattern, std::string_view any_char);

}  // namespace uma::json_schema_detail

namespace uma::json_schema_detail {

// A GBNF expression for the decimal integers in [lo, hi] as JSON writes them (no leading zeros,
// no "-0"). |lo| and |hi| must be below 10^17.
std::string integer_range_gbnf(int64_t lo, int64_t hi);

}  // namespace uma::json_schema_detail
