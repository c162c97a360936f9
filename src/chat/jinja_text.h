#pragma once
// Text helpers for the Jinja interpreter: UTF-8 <-> code points and the Python `str` operations
// that chat templates rely on (strip, split, splitlines, case mapping, repr, float repr, JSON
// string escaping). Strings are kept as UTF-8; invalid bytes decode to U+DC80..U+DCFF (Python's
// "surrogateescape") so that decoding and re-encoding any byte string is lossless.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uma::jinja {

std::u32string decode_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view s);
// Number of code points (Python len()).
size_t utf8_length(std::string_view s);
bool is_ascii(std::string_view s);

// Python str.isspace() for one code point.
bool py_isspace(char32_t cp);
// Python str.strip/lstrip/rstrip; `chars` null means whitespace.
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
// Python str.split / rsplit; `sep` null means runs of whitespace. maxsplit < 0: no limit.
std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::string* sep, int64_t maxsplit);
// Python str.splitlines (all of Python's line boundaries).
std::vector<std::string> py_splitlines(std::string_view s, bool keepends);
// Python str.replace; count < 0: all.
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl,
                       int64_t count, size_t max_bytes);
// Python str.find / rfind, returning a code point index or -1.
int64_t py_find(std::string_view s, std::string_view sub, bool reverse);

char32_t cp_upper(char32_t cp);
char32_t cp_lower(char32_t cp);
bool cp_isalpha(char32_t cp);
bool cp_isdigit(char32_t cp);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);
// Jinja's `title` filter (words start after whitespace, '-', '(', '{', '[' or '<').
std::string jinja_title(std::string_view s);
// Python str.title().
std::string py_title(std::string_view s);

// markupsafe.escape: & < > " ' as &amp; &lt; &gt; &#34; &#39;.
std::string html_escape(std::string_view s);

// Python repr() of a str, including the quotes.
std::string py_str_repr(std::string_view s);
// Python repr() of a float ("1.0", "1e-05", "inf", "nan").
std::string py_float_repr(double v);
// JSON string (with quotes) as Python's json.dumps writes it.
void json_escape(std::string& out, std::string_view s, bool ensure_ascii);

// Python int(str, base) / float(str): surrounding whitespace and '_' separators accepted.
std::optional<int64_t> parse_py_int(std::string_view s, int base);
std::optional<double> parse_py_float(std::string_view s);

}  // namespace uma::jinja
