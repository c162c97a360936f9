#include "chat/jinja_lexer.h"

#include <algorithm>

#include "chat/jinja_text.h"
#include "uma/core/error.h"

namespace uma::jinja {

std::string error_at(SourcePos pos, const std::string& msg) {
    return "chat template: " + std::to_string(pos.line) + ":" + std::to_string(pos.col) + ": " +
           msg;
}

namespace {

class Lexer {
  public:
    Lexer(std::string source, const LexOptions& opts) : src_(std::move(source)), opts_(opts) {
        line_starts_.push_back(0);
        for (size_t i = 0; i < src_.size(); ++i) {
            if (src_[i] == '\n') line_starts_.push_back(i + 1);
        }
    }

    std::vector<Token> run() {
        const size_t n = src_.size();
        size_t pos = 0;
        while (pos < n) {
            size_t t = pos;
            while (true) {
                t = src_.find('{', t);
                if (t == std::string::npos || t + 1 >= n) {
                    t = std::string::npos;
                    break;
                }
                const char k = src_[t + 1];
                if (k == '{' || k == '%' || k == '#') break;
                ++t;
            }
            if (t == std::string::npos) {
                emit_text(src_.substr(pos), pos);
                break;
            }
            const char kind = src_[t + 1];
            size_t after = t + 2;
            char sign = 0;
            if (after < n && (src_[after] == '-' || src_[after] == '+')) sign = src_[after++];
            std::string text = src_.substr(pos, t - pos);
            apply_left_strip(text, sign, kind != '{');
            emit_text(std::move(text), pos);
            if (kind == '#') {
                pos = lex_comment(t, after);
            } else if (kind == '%' && is_raw_begin(after, &pos)) {
                pos = lex_raw(t, pos);
            } else {
                pos = lex_tag(kind == '%', t, after);
            }
        }
        tokens_.push_back(Token{Tok::End, "", pos_of(n)});
        return std::move(tokens_);
    }

  private:
    SourcePos pos_of(size_t offset) const {
        const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
        const size_t line = static_cast<size_t>(it - line_starts_.begin());
        SourcePos p;
        p.line = static_cast<int>(line);
        p.col = static_cast<int>(offset - line_starts_[line - 1]) + 1;
        return p;
    }

    [[noreturn]] void fail(size_t offset, const std::string& msg) const {
        throw Error(error_at(pos_of(offset), msg));
    }

    bool starts(size_t p, std::string_view what) const {
        return src_.compare(p, what.size(), what) == 0;
    }

    // Whitespace as Python's regex \s sees it; returns the byte length of the code point or 0.
    size_t ws_len(size_t p) const {
        const auto c = static_cast<unsigned char>(src_[p]);
        if (c < 0x80) return py_isspace(c) ? 1 : 0;
        size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        len = std::min(len, src_.size() - p);
        const std::u32string u = decode_utf8(std::string_view(src_).substr(p, len));
        return (u.size() == 1 && py_isspace(u[0])) ? len : 0;
    }

    size_t skip_ws(size_t p) const {
        while (p < src_.size()) {
            const size_t l = ws_len(p);
            if (l == 0) break;
            p += l;
        }
        return p;
    }

    void emit_text(std::string text, size_t offset) {
        if (text.empty()) return;
        tokens_.push_back(Token{Tok::Text, std::move(text), pos_of(offset)});
    }

    // `{%-` strips all whitespace before the tag; otherwise lstrip_blocks removes the indentation
    // of a block or comment tag that starts a line.
    void apply_left_strip(std::string& text, char sign, bool lstrip_candidate) const {
        if (sign == '-') {
            text = py_strip(text, nullptr, false, true);
        } else if (sign != '+' && opts_.lstrip_blocks && lstrip_candidate) {
            const size_t nl = text.rfind('\n');
            const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
            if ((l_pos > 0 || line_starting_) && l_pos < text.size()) {
                const std::u32string rest = decode_utf8(std::string_view(text).substr(l_pos));
                if (std::all_of(rest.begin(), rest.end(), py_isspace)) text.resize(l_pos);
            }
        }
    }

    // Block end: "-%}" eats the whitespace after it, "+%}" keeps it, "%}" eats one newline
    // under trim_blocks. Returns the offset after the end marker, or npos if none is here.
    size_t match_block_end(size_t p, std::string_view close, bool trim) const {
        if (starts(p, "-") && starts(p + 1, close)) return skip_ws(p + 1 + close.size());
        if (trim && starts(p, "+") && starts(p + 1, close)) return p + 1 + close.size();
        if (starts(p, close)) {
            size_t e = p + close.size();
            if (trim && opts_.trim_blocks && e < src_.size() && src_[e] == '\n') ++e;
            return e;
        }
        return std::string::npos;
    }

    size_t lex_comment(size_t begin, size_t p) {
        while (p < src_.size()) {
            const size_t e = match_block_end(p, "#}", true);
            if (e != std::string::npos) {
                line_starting_ = src_[e - 1] == '\n';
                return e;
            }
            ++p;
        }
        fail(begin, "missing end of comment tag");
    }

    bool is_raw_begin(size_t p, size_t* end) const {
        p = skip_ws(p);
        if (!starts(p, "raw")) return false;
        p = skip_ws(p + 3);
        if (starts(p, "-%}")) {
            *end = skip_ws(p + 3);
            return true;
        }
        if (starts(p, "%}")) {
            *end = p + 2;
            return true;
        }
        return false;
    }

    size_t lex_raw(size_t begin, size_t p) {
        line_starting_ = src_[p - 1] == '\n';
        for (size_t t = src_.find("{%", p); t != std::string::npos; t = src_.find("{%", t + 1)) {
            size_t q = t + 2;
            char sign = 0;
            if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) sign = src_[q++];
            q = skip_ws(q);
            if (!starts(q, "endraw")) continue;
            q = skip_ws(q + 6);
            const size_t e = match_block_end(q, "%}", true);
            if (e == std::string::npos) continue;
            std::string text = src_.substr(p, t - p);
            apply_left_strip(text, sign, true);
            emit_text(std::move(text), p);
            line_starting_ = src_[e - 1] == '\n';
            return e;
        }
        fail(begin, "missing end of raw directive");
    }

    size_t lex_tag(bool block, size_t begin, size_t p) {
        tokens_.push_back(Token{block ? Tok::BlockBegin : Tok::VarBegin, "", pos_of(begin)});
        std::vector<char> balance;
        const size_t n = src_.size();
        while (true) {
            if (p >= n)
                fail(begin, block ? "unexpected end of template, expected '%}'"
                                  : "unexpected end of template, expected '}}'");
            if (balance.empty()) {
                const size_t e = match_block_end(p, block ? "%}" : "}}", block);
                if (e != std::string::npos) {
                    tokens_.push_back(Token{block ? Tok::BlockEnd : Tok::VarEnd, "", pos_of(p)});
                    line_starting_ = src_[e - 1] == '\n';
                    return e;
                }
            }
            if (const size_t l = ws_len(p)) {
                p += l;
                continue;
            }
            const char c = src_[p];
            const SourcePos here = pos_of(p);
            if (c >= '0' && c <= '9') {
                p = lex_number(p, here);
            } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
                size_t e = p;
                while (e < n &&
                       (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_'))
                    ++e;
                tokens_.push_back(Token{Tok::Name, src_.substr(p, e - p), here});
                p = e;
            } else if (c == '\'' || c == '"') {
                p = lex_string(p, here);
            } else {
                p = lex_operator(p, here, balance);
            }
        }
    }

    size_t digits(size_t p, bool (*ok)(char)) const {
        // (\d+_)*\d+ style: digits with single '_' separators.
        size_t e = p;
        while (e < src_.size()) {
            if (ok(src_[e])) {
                ++e;
            } else if (src_[e] == '_' && e > p && e + 1 < src_.size() && ok(src_[e + 1])) {
                ++e;
            } else {
                break;
            }
        }
        return e;
    }

    size_t lex_number(size_t p, SourcePos here) {
        auto dec = [](char c) { return c >= '0' && c <= '9'; };
        auto clean = [&](size_t b, size_t e) {
            std::string s;
            for (size_t i = b; i < e; ++i) {
                if (src_[i] != '_') s.push_back(src_[i]);
            }
            return s;
        };
        const size_t n = src_.size();
        // Prefixed integers.
        if (src_[p] == '0' && p + 1 < n) {
            const char k = static_cast<char>(std::tolower(static_cast<unsigned char>(src_[p + 1])));
            bool (*ok)(char) = nullptr;
            if (k == 'x')
                ok = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
            if (k == 'o') ok = [](char c) { return c >= '0' && c <= '7'; };
            if (k == 'b') ok = [](char c) { return c == '0' || c == '1'; };
            if (ok) {
                size_t s = p + 2;
                if (s < n && src_[s] == '_') ++s;
                const size_t e = s < n && ok(src_[s]) ? digits(s, ok) : s;
                if (e > s) {
                    tokens_.push_back(Token{Tok::Int, clean(p, e), here});
                    return e;
                }
            }
        }
        const size_t int_end = digits(p, dec);
        const bool float_ok = p == 0 || src_[p - 1] != '.';
        if (float_ok) {
            size_t e = int_end;
            bool is_float = false;
            if (e + 1 < n && src_[e] == '.' && dec(src_[e + 1])) {
                e = digits(e + 1, dec);
                is_float = true;
            }
            if (e < n && (src_[e] == 'e' || src_[e] == 'E')) {
                size_t x = e + 1;
                if (x < n && (src_[x] == '+' || src_[x] == '-')) ++x;
                if (x < n && dec(src_[x])) {
                    e = digits(x, dec);
                    is_float = true;
                }
            }
            if (is_float) {
                tokens_.push_back(Token{Tok::Float, clean(p, e), here});
                return e;
            }
        }
        // Python's rule: a decimal integer other than 0 does not start with 0.
        size_t e = int_end;
        if (src_[p] == '0') {
            e = p + 1;
            while (e + 1 < n && (src_[e] == '0' || (src_[e] == '_' && src_[e + 1] == '0'))) ++e;
            if (e < n && src_[e] == '0') ++e;
        }
        tokens_.push_back(Token{Tok::Int, clean(p, e), here});
        return e;
    }

    size_t lex_string(size_t p, SourcePos here) {
        const char q = src_[p];
        const size_t n = src_.size();
        size_t e = p + 1;
        while (e < n && src_[e] != q) e += src_[e] == '\\' ? 2 : 1;
        if (e >= n) fail(p, std::string("unexpected char '") + q + "'");
        tokens_.push_back(Token{Tok::String, unescape(p + 1, e), here});
        return e + 1;
    }

    // Python's unicode-escape decoding, as Jinja applies it to string literals.
    std::string unescape(size_t b, size_t e) const {
        std::string out;
        auto hex = [&](size_t at, int count) -> char32_t {
            char32_t v = 0;
            for (int k = 0; k < count; ++k) {
                const size_t i = at + static_cast<size_t>(k);
                if (i >= e || !std::isxdigit(static_cast<unsigned char>(src_[i])))
                    fail(at - 2, "truncated escape sequence in string");
                const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(src_[i])));
                v = v * 16 + static_cast<char32_t>(c <= '9' ? c - '0' : c - 'a' + 10);
            }
            return v;
        };
        size_t i = b;
        while (i < e) {
            const char c = src_[i];
            if (c != '\\' || i + 1 >= e) {
                out.push_back(c);
                ++i;
                continue;
            }
            const char d = src_[i + 1];
            i += 2;
            switch (d) {
                case '\n':
                    break;
                case '\\':
                    out.push_back('\\');
                    break;
                case '\'':
                    out.push_back('\'');
                    break;
                case '"':
                    out.push_back('"');
                    break;
                case 'a':
                    out.push_back('\a');
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                case 'n':
                    out.push_back('\n');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'v':
                    out.push_back('\v');
                    break;
                case 'x':
                    append_utf8(out, hex(i, 2));
                    i += 2;
                    break;
                case 'u':
                    append_utf8(out, hex(i, 4));
                    i += 4;
                    break;
                case 'U': {
                    const char32_t v = hex(i, 8);
                    if (v > 0x10FFFF) fail(i - 2, "illegal Unicode character in string");
                    append_utf8(out, v);
                    i += 8;
                    break;
                }
                default:
                    if (d >= '0' && d <= '7') {
                        char32_t v = static_cast<char32_t>(d - '0');
                        for (int k = 0; k < 2 && i < e && src_[i] >= '0' && src_[i] <= '7'; ++k)
                            v = v * 8 + static_cast<char32_t>(src_[i++] - '0');
                        append_utf8(out, v);
                    } else {
                        out.push_back('\\');
                        out.push_back(d);
                    }
            }
        }
        return out;
    }

    size_t lex_operator(size_t p, SourcePos here, std::vector<char>& balance) {
        static constexpr std::string_view two[] = {"**", "//", "==", "!=", ">=", "<="};
        for (std::string_view op : two) {
            if (starts(p, op)) {
                tokens_.push_back(Token{Tok::Op, std::string(op), here});
                return p + 2;
            }
        }
        const char c = src_[p];
        if (std::string_view("+-*/%~[](){}><=.:|,;").find(c) == std::string_view::npos) {
            const auto u = static_cast<unsigned char>(c);
            const size_t len = u >= 0xF0 ? 4 : u >= 0xE0 ? 3 : u >= 0xC0 ? 2 : 1;
            fail(p, "unexpected char '" + src_.substr(p, len) + "'");
        }
        if (c == '(') balance.push_back(')');
        if (c == '[') balance.push_back(']');
        if (c == '{') balance.push_back('}');
        if (c == ')' || c == ']' || c == '}') {
            if (balance.empty()) fail(p, std::string("unexpected '") + c + "'");
            if (balance.back() != c)
                fail(p, std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
            balance.pop_back();
        }
        tokens_.push_back(Token{Tok::Op, std::string(1, c), here});
        return p + 1;
    }

    std::string src_;
    LexOptions opts_;
    std::vector<size_t> line_starts_;
    std::vector<Token> tokens_;
    bool line_starting_ = true;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const LexOptions& opts) {
    // Newlines are normalised to "\n" and one trailing newline is dropped, as Jinja does.
    std::string norm;
    norm.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\r') {
            norm.push_back('\n');
            if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
        } else {
            norm.push_back(source[i]);
        }
    }
    if (!norm.empty() && norm.back() == '\n') norm.pop_back();
    return Lexer(std::move(norm), opts).run();
}

}  // namespace uma::jinja
