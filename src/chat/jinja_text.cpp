#include "chat/jinja_text.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace uma::jinja {

std::u32string decode_utf8(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            out.push_back(c);
            ++i;
            continue;
        }
        int len = 0;
        char32_t cp = 0;
        char32_t min = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        }
        bool ok = len > 0 && i + static_cast<size_t>(len) <= n;
        for (int k = 1; ok && k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
            if ((cc & 0xC0) != 0x80) {
                ok = false;
            } else {
                cp = (cp << 6) | (cc & 0x3F);
            }
        }
        if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
        if (!ok) {
            out.push_back(0xDC00 + c);  // surrogateescape: keeps the byte
            ++i;
            continue;
        }
        out.push_back(cp);
        i += static_cast<size_t>(len);
    }
    return out;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp >= 0xDC80 && cp <= 0xDCFF) {
        out.push_back(static_cast<char>(cp - 0xDC00));
    } else if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::string encode_utf8(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t cp : s) append_utf8(out, cp);
    return out;
}

bool is_ascii(std::string_view s) {
    for (char c : s) {
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

size_t utf8_length(std::string_view s) {
    if (is_ascii(s)) return s.size();
    return decode_utf8(s).size();
}

bool py_isspace(char32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right) {
    const std::u32string u = decode_utf8(s);
    std::u32string set;
    if (chars) set = decode_utf8(*chars);
    auto strip_it = [&](char32_t cp) {
        return chars ? set.find(cp) != std::u32string::npos : py_isspace(cp);
    };
    size_t b = 0;
    size_t e = u.size();
    if (left) {
        while (b < e && strip_it(u[b])) ++b;
    }
    if (right) {
        while (e > b && strip_it(u[e - 1])) --e;
    }
    return encode_utf8(std::u32string_view(u).substr(b, e - b));
}

std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit) {
    std::vector<std::string> out;
    if (sep) {
        size_t pos = 0;
        while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
            const size_t at = s.find(*sep, pos);
            if (at == std::string_view::npos) break;
            out.emplace_back(s.substr(pos, at - pos));
            pos = at + sep->size();
        }
        out.emplace_back(s.substr(pos));
        return out;
    }
    const std::u32string u = decode_utf8(s);
    size_t i = 0;
    const size_t n = u.size();
    while (true) {
        while (i < n && py_isspace(u[i])) ++i;
        if (i >= n) break;
        if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
            out.push_back(encode_utf8(std::u32string_view(u).substr(i)));
            break;
        }
        const size_t start = i;
        while (i < n && !py_isspace(u[i])) ++i;
        out.push_back(encode_utf8(std::u32string_view(u).substr(start, i - start)));
    }
    return out;
}

std::vector<std::string> py_rsplit(std::string_view s, const std::string* sep, int64_t maxsplit) {
    std::vector<std::string> out;
    if (sep) {
        size_t end = s.size();
        while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
            if (end < sep->size()) break;
            const size_t at = s.rfind(*sep, end - sep->size());
            if (at == std::string_view::npos) break;
            out.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
            end = at;
        }
        out.emplace_back(s.substr(0, end));
        return {out.rbegin(), out.rend()};
    }
    const std::u32string u = decode_utf8(s);
    size_t i = u.size();
    while (true) {
        while (i > 0 && py_isspace(u[i - 1])) --i;
        if (i == 0) break;
        if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
            out.push_back(encode_utf8(std::u32string_view(u).substr(0, i)));
            break;
        }
        const size_t end = i;
        while (i > 0 && !py_isspace(u[i - 1])) --i;
        out.push_back(encode_utf8(std::u32string_view(u).substr(i, end - i)));
    }
    return {out.rbegin(), out.rend()};
}

static bool is_line_break(char32_t cp) {
    return cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C || cp == 0x1D ||
           cp == 0x1E || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

std::vector<std::string> py_splitlines(std::string_view s, bool keepends) {
    const std::u32string u = decode_utf8(s);
    std::vector<std::string> out;
    size_t i = 0;
    const size_t n = u.size();
    while (i < n) {
        const size_t start = i;
        while (i < n && !is_line_break(u[i])) ++i;
        size_t eol = i;
        if (i < n) {
            if (u[i] == '\r' && i + 1 < n && u[i + 1] == '\n') {
                i += 2;
            } else {
                ++i;
            }
            if (keepends) eol = i;
        }
        out.push_back(encode_utf8(std::u32string_view(u).substr(start, eol - start)));
    }
    return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view repl,
                       int64_t count, size_t max_bytes) {
    std::string out;
    auto check = [&] {
        if (out.size() > max_bytes) throw std::length_error("string too long");
    };
    if (old.empty()) {
        // Python inserts `repl` before every code point and at the end.
        const std::u32string u = decode_utf8(s);
        int64_t done = 0;
        for (char32_t cp : u) {
            if (count < 0 || done < count) {
                out.append(repl);
                ++done;
            }
            append_utf8(out, cp);
            check();
        }
        if (count < 0 || done < count) out.append(repl);
        check();
        return out;
    }
    size_t pos = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        const size_t at = s.find(old, pos);
        if (at == std::string_view::npos) break;
        out.append(s.substr(pos, at - pos));
        out.append(repl);
        check();
        pos = at + old.size();
        ++done;
    }
    out.append(s.substr(pos));
    check();
    return out;
}

int64_t py_find(std::string_view s, std::string_view sub, bool reverse) {
    const size_t at = reverse ? s.rfind(sub) : s.find(sub);
    if (at == std::string_view::npos) return -1;
    return static_cast<int64_t>(utf8_length(s.substr(0, at)));
}

// Simple case mapping: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic.
char32_t cp_upper(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
    if (c == 0xB5) return 0x39C;
    if (c == 0xFF) return 0x178;
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
    if (c >= 0x100 && c <= 0x17F) {
        if (c == 0x131) return 'I';
        if (c == 0x17F) return 'S';
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
            return (c % 2 == 0) ? c - 1 : c;
        if (c == 0x130 || c == 0x138 || c == 0x149) return c;
        return (c % 2 == 1) ? c - 1 : c;
    }
    if (c >= 0x3B1 && c <= 0x3C9) return c == 0x3C2 ? 0x3A3 : c - 32;
    if (c >= 0x3AC && c <= 0x3AF) return c == 0x3AC ? 0x386 : c - 37;
    if (c >= 0x430 && c <= 0x44F) return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    return c;
}

char32_t cp_lower(char32_t c) {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
    if (c == 0x178) return 0xFF;
    if (c >= 0x100 && c <= 0x17F) {
        if (c == 0x130) return 'i';
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
            return (c % 2 == 1) ? c + 1 : c;
        if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
        return (c % 2 == 0) ? c + 1 : c;
    }
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    if (c == 0x386) return 0x3AC;
    if (c >= 0x388 && c <= 0x38A) return c + 37;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    return c;
}

bool cp_isalpha(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return cp_upper(c) != c || cp_lower(c) != c || (c >= 0x4E00 && c <= 0x9FFF) ||
           (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7A3);
}

bool cp_isdigit(char32_t c) {
    return c >= '0' && c <= '9';
}

static std::string map_cps(std::string_view s, char32_t (*f)(char32_t)) {
    if (is_ascii(s)) {
        std::string out(s);
        for (char& c : out) c = static_cast<char>(f(static_cast<unsigned char>(c)));
        return out;
    }
    std::u32string u = decode_utf8(s);
    for (char32_t& c : u) c = f(c);
    return encode_utf8(u);
}

std::string py_upper(std::string_view s) {
    return map_cps(s, cp_upper);
}
std::string py_lower(std::string_view s) {
    return map_cps(s, cp_lower);
}

std::string py_capitalize(std::string_view s) {
    std::u32string u = decode_utf8(s);
    for (size_t i = 0; i < u.size(); ++i) u[i] = i == 0 ? cp_upper(u[i]) : cp_lower(u[i]);
    return encode_utf8(u);
}

std::string jinja_title(std::string_view s) {
    std::u32string u = decode_utf8(s);
    auto is_sep = [](char32_t c) {
        return py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    };
    bool start = true;
    for (char32_t& c : u) {
        if (is_sep(c)) {
            start = true;
            continue;
        }
        c = start ? cp_upper(c) : cp_lower(c);
        start = false;
    }
    return encode_utf8(u);
}

std::string py_title(std::string_view s) {
    std::u32string u = decode_utf8(s);
    bool prev_cased = false;
    for (char32_t& c : u) {
        const bool cased = cp_upper(c) != c || cp_lower(c) != c;
        if (cased) {
            c = prev_cased ? cp_lower(c) : cp_upper(c);
        }
        prev_cased = cased;
    }
    return encode_utf8(u);
}

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&#34;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out.push_back(c);
        }
    }
    return out;
}

static bool py_isprintable(char32_t c) {
    if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) return false;
    if ((c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
        (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB))
        return false;
    if ((c >= 0xD800 && c <= 0xDFFF) || (c >= 0xE000 && c <= 0xF8FF)) return false;
    return true;
}

std::string py_str_repr(std::string_view s) {
    const std::u32string u = decode_utf8(s);
    const bool has_single = u.find(U'\'') != std::u32string::npos;
    const bool has_double = u.find(U'"') != std::u32string::npos;
    const char quote = (has_single && !has_double) ? '"' : '\'';
    std::string out;
    out.reserve(s.size() + 2);
    out.push_back(quote);
    for (char32_t c : u) {
        char buf[16];
        if (c == static_cast<char32_t>(quote) || c == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(c));
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (py_isprintable(c)) {
            append_utf8(out, c);
        } else if (c <= 0xFF) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
            out += buf;
        } else if (c <= 0xFFFF) {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
        } else {
            std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
            out += buf;
        }
    }
    out.push_back(quote);
    return out;
}

std::string py_float_repr(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
    std::string out;
    if (sci.front() == '-') {
        out.push_back('-');
        sci.remove_prefix(1);
    }
    const size_t e = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e)) {
        if (c != '.') digits.push_back(c);
    }
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    int exp = 0;
    std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp);
    const int decpt = exp + 1;
    const int nd = static_cast<int>(digits.size());
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out += "0.";
            out.append(static_cast<size_t>(-decpt), '0');
            out += digits;
        } else if (decpt >= nd) {
            out += digits;
            out.append(static_cast<size_t>(decpt - nd), '0');
            out += ".0";
        } else {
            out += digits.substr(0, static_cast<size_t>(decpt));
            out.push_back('.');
            out += digits.substr(static_cast<size_t>(decpt));
        }
    } else {
        out.push_back(digits[0]);
        if (nd > 1) {
            out.push_back('.');
            out += digits.substr(1);
        }
        std::snprintf(buf, sizeof buf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        out += buf;
    }
    return out;
}

void json_escape(std::string& out, std::string_view s, bool ensure_ascii) {
    out.push_back('"');
    char buf[16];
    auto escape_simple = [&](char32_t c) -> bool {
        switch (c) {
            case '"':
                out += "\\\"";
                return true;
            case '\\':
                out += "\\\\";
                return true;
            case '\n':
                out += "\\n";
                return true;
            case '\r':
                out += "\\r";
                return true;
            case '\t':
                out += "\\t";
                return true;
            case '\b':
                out += "\\b";
                return true;
            case '\f':
                out += "\\f";
                return true;
            default:
                return false;
        }
    };
    if (!ensure_ascii) {
        for (char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            if (escape_simple(c)) continue;
            if (c < 0x20) {
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                out += buf;
            } else {
                out.push_back(ch);
            }
        }
    } else {
        for (char32_t c : decode_utf8(s)) {
            if (escape_simple(c)) continue;
            if (c >= 0x20 && c < 0x7F) {
                out.push_back(static_cast<char>(c));
            } else if (c <= 0xFFFF) {
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                out += buf;
            } else {
                const char32_t v = c - 0x10000;
                std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x",
                              static_cast<unsigned>(0xD800 + (v >> 10)),
                              static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
                out += buf;
            }
        }
    }
    out.push_back('"');
}

static std::string strip_ascii_ws(std::string_view s) {
    size_t b = 0;
    size_t e = s.size();
    while (b < e && (s[b] == ' ' || (s[b] >= '\t' && s[b] <= '\r'))) ++b;
    while (e > b && (s[e - 1] == ' ' || (s[e - 1] >= '\t' && s[e - 1] <= '\r'))) --e;
    return std::string(s.substr(b, e - b));
}

// Removes '_' separators that sit between two digits; false if one sits anywhere else.
static bool remove_underscores(std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '_') {
            if (i == 0 || i + 1 >= s.size() ||
                !std::isxdigit(static_cast<unsigned char>(s[i - 1])) ||
                !std::isxdigit(static_cast<unsigned char>(s[i + 1])))
                return false;
            continue;
        }
        out.push_back(s[i]);
    }
    s = out;
    return true;
}

std::optional<int64_t> parse_py_int(std::string_view text, int base) {
    std::string s = strip_ascii_ws(text);
    bool neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s.erase(0, 1);
    }
    auto prefixed = [&](char p) {
        return s.size() > 2 && s[0] == '0' && (s[1] == p || s[1] == p - 32);
    };
    if (base == 0) {
        if (prefixed('x'))
            base = 16;
        else if (prefixed('o'))
            base = 8;
        else if (prefixed('b'))
            base = 2;
        else
            base = 10;
    }
    if ((base == 16 && prefixed('x')) || (base == 8 && prefixed('o')) ||
        (base == 2 && prefixed('b'))) {
        s.erase(0, 2);
        if (!s.empty() && s[0] == '_') s.erase(0, 1);
    }
    if (s.empty() || base < 2 || base > 36 || !remove_underscores(s)) return std::nullopt;
    uint64_t v = 0;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
    if (neg) {
        if (v > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
        return static_cast<int64_t>(0 - v);
    }
    if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v);
}

std::optional<double> parse_py_float(std::string_view text) {
    std::string s = strip_ascii_ws(text);
    bool neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s.erase(0, 1);
    }
    std::string lower;
    for (char c : s)
        lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    double v = 0;
    if (lower == "inf" || lower == "infinity") {
        v = INFINITY;
    } else if (lower == "nan") {
        v = NAN;
    } else {
        if (s.empty() || !remove_underscores(s)) return std::nullopt;
        for (char c : s) {
            if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
                  c == '+' || c == '-'))
                return std::nullopt;
        }
        const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
        if (res.ec == std::errc::result_out_of_range) {
            v = std::strtod(s.c_str(), nullptr);
        } else if (res.ec != std::errc() || res.ptr != s.data() + s.size()) {
            return std::nullopt;
        }
    }
    return neg ? -v : v;
}

}  // namespace uma::jinja
