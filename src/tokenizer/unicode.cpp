#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace uma::tok {

size_t utf8_sequence_length(uint8_t lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 1;
}

uint32_t decode_utf8(std::string_view text, size_t& pos) {
    const auto b0 = static_cast<uint8_t>(text[pos]);
    const size_t n = utf8_sequence_length(b0);
    if (n == 1) {
        ++pos;
        return b0 < 0x80 ? b0 : 0xFFFD;
    }
    if (pos + n > text.size()) {
        ++pos;
        return 0xFFFD;
    }
    uint32_t cp = b0 & (0x7F >> n);
    for (size_t i = 1; i < n; ++i) {
        const auto b = static_cast<uint8_t>(text[pos + i]);
        if ((b & 0xC0) != 0x80) {
            ++pos;
            return 0xFFFD;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ++pos;
        return 0xFFFD;
    }
    pos += n;
    return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string codepoint_to_utf8(uint32_t cp) {
    std::string s;
    append_utf8(s, cp);
    return s;
}

uint8_t category_flags(uint32_t cp) {
    using detail::kCategoryRanges;
    const auto* end = kCategoryRanges + detail::kCategoryRanges_size;
    const auto* it = std::upper_bound(kCategoryRanges, end, cp,
                                      [](uint32_t c, const auto& r) { return c < r.first; });
    return it == kCategoryRanges ? 0 : (it - 1)->flags;
}

bool is_white_space(uint32_t cp) {
    switch (cp) {
        case 0x09:
        case 0x0A:
        case 0x0B:
        case 0x0C:
        case 0x0D:
        case 0x20:
        case 0x85:
        case 0xA0:
        case 0x1680:
        case 0x2028:
        case 0x2029:
        case 0x202F:
        case 0x205F:
        case 0x3000:
            return true;
        default:
            return cp >= 0x2000 && cp <= 0x200A;
    }
}

void append_canonical_decomposition(uint32_t cp, std::vector<uint32_t>& out) {
    // Hangul syllables decompose algorithmically.
    constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
    constexpr uint32_t kTCount = 28, kNCount = 21 * 28, kSCount = 19 * 21 * 28;
    if (cp >= kSBase && cp < kSBase + kSCount) {
        const uint32_t s = cp - kSBase;
        out.push_back(kLBase + s / kNCount);
        out.push_back(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
        return;
    }
    using detail::kDecompositions;
    const auto* end = kDecompositions + detail::kDecompositions_size;
    const auto* it = std::lower_bound(kDecompositions, end, cp,
                                      [](const auto& d, uint32_t c) { return d.cp < c; });
    if (it == end || it->cp != cp) {
        out.push_back(cp);
        return;
    }
    append_canonical_decomposition(it->first, out);
    if (it->second != 0) append_canonical_decomposition(it->second, out);
}

void append_lowercase(uint32_t cp, std::vector<uint32_t>& out) {
    if (cp == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: the only multi-code-point case
        out.push_back(0x69);
        out.push_back(0x307);
        return;
    }
    using detail::kLowerRuns;
    const auto* end = kLowerRuns + detail::kLowerRuns_size;
    const auto* it = std::upper_bound(kLowerRuns, end, cp,
                                      [](uint32_t c, const auto& r) { return c < r.first; });
    if (it != kLowerRuns) {
        const auto& run = *(it - 1);
        if (cp <= run.last &&
            (run.stride == 0 ? cp == run.first : (cp - run.first) % run.stride == 0)) {
            out.push_back(static_cast<uint32_t>(static_cast<int64_t>(cp) + run.delta));
            return;
        }
    }
    out.push_back(cp);
}

namespace {

struct ByteLevelTables {
    std::array<std::string, 256> byte_to_text;
    std::array<int16_t, 512> cp_to_byte{};  // every mapped code point is below 0x144

    ByteLevelTables() {
        cp_to_byte.fill(-1);
        // Printable Latin-1 bytes map to themselves; the rest go to U+0100 and up, in order.
        uint32_t next = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool printable =
                (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const uint32_t cp = printable ? b : next++;
            byte_to_text[b] = codepoint_to_utf8(cp);
            cp_to_byte[cp] = static_cast<int16_t>(b);
        }
    }
};

const ByteLevelTables& byte_level_tables() {
    static const ByteLevelTables tables;
    return tables;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) {
    return byte_level_tables().byte_to_text[byte];
}

int unicode_to_byte(uint32_t cp) {
    return cp < 512 ? byte_level_tables().cp_to_byte[cp] : -1;
}

std::string byte_level_encode(std::string_view bytes) {
    const auto& tables = byte_level_tables();
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) out += tables.byte_to_text[static_cast<uint8_t>(c)];
    return out;
}

std::string byte_level_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t start = pos;
        const uint32_t cp = decode_utf8(text, pos);
        const int b = unicode_to_byte(cp);
        if (b >= 0) {
            out += static_cast<char>(b);
        } else {
            out.append(text.substr(start, pos - start));
        }
    }
    return out;
}

}  // namespace uma::tok
