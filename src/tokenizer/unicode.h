#pragma once
// Unicode helpers for the tokenizers: UTF-8 coding, general categories, canonical decomposition,
// lowercase mapping and the GPT-2 byte <-> unicode mapping. All tables are immutable.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uma::tok {

// Length of the UTF-8 sequence a lead byte announces (1 for continuation or invalid bytes).
size_t utf8_sequence_length(uint8_t lead);

// Decodes the code point at `pos` and advances `pos`. Invalid or truncated sequences yield
// U+FFFD and advance by one byte.
uint32_t decode_utf8(std::string_view text, size_t& pos);
void append_utf8(std::string& out, uint32_t cp);
std::string codepoint_to_utf8(uint32_t cp);

// General category flags (one top-level category per code point, plus Mn).
enum CategoryFlag : uint8_t {
    kCatLetter = 1,
    kCatNumber = 2,
    kCatPunctuation = 4,
    kCatSymbol = 8,
    kCatNonspacingMark = 16,  // Mn
    kCatMark = 32,            // M*
    kCatOther = 64,           // C*: Cc, Cf, Cn, Co, Cs
    kCatSeparator = 128,      // Z*
};
uint8_t category_flags(uint32_t cp);
bool is_white_space(uint32_t cp);  // the Unicode White_Space property

// Appends the full canonical decomposition (NFD without canonical reordering) of `cp`.
void append_canonical_decomposition(uint32_t cp, std::vector<uint32_t>& out);
// Appends the full lowercase mapping of `cp` (U+0130 maps to two code points).
void append_lowercase(uint32_t cp, std::vector<uint32_t>& out);

// GPT-2 byte-level encoding: every byte maps to one printable code point (as UTF-8).
const std::string& byte_to_unicode(uint8_t byte);
// The byte a byte-level code point stands for, or -1.
int unicode_to_byte(uint32_t cp);
// Maps every byte of `bytes` to its byte-level code point.
std::string byte_level_encode(std::string_view bytes);
// Inverse of byte_level_encode; code points outside the mapping are copied as UTF-8.
std::string byte_level_decode(std::string_view text);

namespace detail {
struct CategoryRange {
    uint32_t first;
    uint8_t flags;
};
struct Decomposition {
    uint32_t cp;
    uint32_t first;
    uint32_t second;  // 0 when the decomposition is a single code point
};
struct LowerRun {
    uint32_t first;
    uint32_t last;
    int32_t delta;
    uint32_t stride;  // 0: a single code point
};
extern const CategoryRange kCategoryRanges[];
extern const size_t kCategoryRanges_size;
extern const Decomposition kDecompositions[];
extern const size_t kDecompositions_size;
extern const LowerRun kLowerRuns[];
extern const size_t kLowerRuns_size;
}  // namespace detail

}  // namespace uma::tok
