#include "tokenizer/wordpiece.h"

#include <string>

#include "tokenizer/unicode.h"

namespace uma::tok {

namespace {

constexpr size_t kMaxWordChars = 100;  // longer words become [UNK], as in Hugging Face
constexpr std::string_view kWordPrefix = "\xe2\x96\x81";  // U+2581

bool is_whitespace(uint32_t cp) {
    return is_white_space(cp);
}

bool is_control(uint32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    return (category_flags(cp) & kCatOther) != 0;
}

bool is_punctuation(uint32_t cp) {
    if (cp < 0x80) {
        return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
               (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
    }
    return (category_flags(cp) & kCatPunctuation) != 0;
}

// The CJK ranges BERT isolates (including the Hugging Face 0x2B920 quirk).
bool is_chinese(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Normalises and splits `text` into words (each a vector of code points).
std::vector<std::vector<uint32_t>> split_words(const Vocab& vocab, std::string_view text) {
    std::vector<std::vector<uint32_t>> words(1);
    std::vector<uint32_t> decomposed;
    std::vector<uint32_t> lowered;
    auto end_word = [&] {
        if (!words.back().empty()) words.emplace_back();
    };
    size_t pos = 0;
    while (pos < text.size()) {
        const uint32_t cp = decode_utf8(text, pos);
        if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
        if (is_whitespace(cp)) {
            end_word();
            continue;
        }
        decomposed.clear();
        if (vocab.strip_accents) {
            append_canonical_decomposition(cp, decomposed);
        } else {
            decomposed.push_back(cp);
        }
        lowered.clear();
        for (uint32_t c : decomposed) {
            if (vocab.strip_accents && (category_flags(c) & kCatNonspacingMark)) continue;
            if (vocab.lowercase) {
                append_lowercase(c, lowered);
            } else {
                lowered.push_back(c);
            }
        }
        for (uint32_t c : lowered) {
            if (is_punctuation(c) || is_chinese(c)) {
                end_word();
                words.back().push_back(c);
                words.emplace_back();
            } else {
                words.back().push_back(c);
            }
        }
    }
    if (words.back().empty()) words.pop_back();
    return words;
}

}  // namespace

void wordpiece_encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) {
    std::string word;
    std::vector<size_t> char_ends;  // byte offset after each code point of `word`
    for (const auto& cps : split_words(vocab, text)) {
        if (cps.size() > kMaxWordChars) {
            if (vocab.unk >= 0) out.push_back(vocab.unk);
            continue;
        }
        word.assign(kWordPrefix);
        char_ends.clear();
        for (uint32_t c : cps) {
            append_utf8(word, c);
            char_ends.push_back(word.size());
        }
        // Greedy longest match; the first piece includes the word prefix.
        const size_t mark = out.size();
        size_t start = 0;
        size_t next_char = 0;
        bool failed = false;
        while (next_char < char_ends.size()) {
            TokenId found = -1;
            size_t end_char = char_ends.size();
            for (; end_char > next_char; --end_char) {
                const size_t end = char_ends[end_char - 1];
                if (end - start > vocab.max_token_len) continue;
                found = vocab.find(std::string_view(word).substr(start, end - start));
                if (found >= 0) break;
            }
            if (found < 0) {
                failed = true;
                break;
            }
            out.push_back(found);
            start = char_ends[end_char - 1];
            next_char = end_char;
        }
        if (failed) {
            out.resize(mark);
            if (vocab.unk >= 0) out.push_back(vocab.unk);
        }
    }
}

}  // namespace uma::tok
