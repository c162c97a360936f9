// Value formatting: Python's `%` operator and str.format, json.dumps, and the conversion of the
// JSON render context into values.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chat/jinja_text.h"
#include "chat/jinja_value.h"

namespace uma::jinja {

namespace {

struct Spec {
    char fill = ' ';
    char align = 0;  // < > ^ =
    char sign = '-';
    bool alt = false;
    int width = -1;
    int precision = -1;
    char grouping = 0;
    char type = 0;
};

std::string pad(const std::string& body, const Spec& s, char default_align) {
    const int64_t len = static_cast<int64_t>(utf8_length(body));
    if (s.width <= len) return body;
    const size_t n = static_cast<size_t>(s.width - len);
    const char align = s.align ? s.align : default_align;
    if (align == '<') return body + std::string(n, s.fill);
    if (align == '^') return std::string(n / 2, s.fill) + body + std::string(n - n / 2, s.fill);
    if (align == '=') {
        size_t k = 0;
        if (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) k = 1;
        if (body.size() > k + 1 && body[k] == '0' &&
            std::string("xXob").find(body[k + 1]) != std::string::npos)
            k += 2;
        return body.substr(0, k) + std::string(n, s.fill) + body.substr(k);
    }
    return std::string(n, s.fill) + body;
}

std::string group_digits(const std::string& digits, char sep) {
    if (!sep) return digits;
    std::string out;
    const size_t n = digits.size();
    for (size_t i = 0; i < n; ++i) {
        if (i && (n - i) % 3 == 0) out.push_back(sep);
        out.push_back(digits[i]);
    }
    return out;
}

std::string int_body(int64_t v, char type, bool alt, char sign, int min_digits, char grouping) {
    const bool neg = v < 0;
    uint64_t mag = neg ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    int base = 10;
    const char* prefix = "";
    if (type == 'x' || type == 'X') {
        base = 16;
        prefix = type == 'x' ? "0x" : "0X";
    } else if (type == 'o') {
        base = 8;
        prefix = "0o";
    } else if (type == 'b') {
        base = 2;
        prefix = "0b";
    }
    std::string digits;
    do {
        const int d = static_cast<int>(mag % static_cast<uint64_t>(base));
        digits.push_back(static_cast<char>(d < 10 ? '0' + d : (type == 'X' ? 'A' : 'a') + d - 10));
        mag /= static_cast<uint64_t>(base);
    } while (mag);
    while (static_cast<int>(digits.size()) < min_digits) digits.push_back('0');
    std::reverse(digits.begin(), digits.end());
    std::string out;
    if (neg)
        out.push_back('-');
    else if (sign == '+' || sign == ' ')
        out.push_back(sign);
    if (alt) out += prefix;
    out += group_digits(digits, grouping);
    return out;
}

std::string float_body(double v, char type, int precision, char sign, bool alt, char grouping) {
    if (type == 0 && precision < 0) {
        std::string r = py_float_repr(v);
        if (sign != '-' && !std::signbit(v)) r.insert(r.begin(), sign);
        return r;
    }
    double x = v;
    std::string suffix;
    char conv = type ? type : 'g';
    if (type == '%') {
        x *= 100;
        conv = 'f';
        suffix = "%";
    }
    if (type == 'n') conv = 'g';
    if (precision < 0) precision = 6;
    std::string fmt = "%";
    if (sign == '+' || sign == ' ') fmt.push_back(sign);
    if (alt) fmt.push_back('#');
    fmt += "." + std::to_string(std::min(precision, 100)) + conv;
    char buf[512];
    std::snprintf(buf, sizeof buf, fmt.c_str(), x);
    std::string out = buf;
    if (grouping) {
        size_t b = (out[0] == '-' || out[0] == '+' || out[0] == ' ') ? 1 : 0;
        size_t e = b;
        while (e < out.size() && std::isdigit(static_cast<unsigned char>(out[e]))) ++e;
        out = out.substr(0, b) + group_digits(out.substr(b, e - b), grouping) + out.substr(e);
    }
    return out + suffix;
}

Spec parse_spec(const std::string& t) {
    Spec s;
    size_t i = 0;
    auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
    if (t.size() >= 2 && is_align(t[1])) {
        s.fill = t[0];
        s.align = t[1];
        i = 2;
    } else if (!t.empty() && is_align(t[0])) {
        s.align = t[0];
        i = 1;
    }
    if (i < t.size() && (t[i] == '+' || t[i] == '-' || t[i] == ' ')) s.sign = t[i++];
    if (i < t.size() && t[i] == '#') {
        s.alt = true;
        ++i;
    }
    if (i < t.size() && t[i] == '0') {
        if (!s.align) {
            s.fill = '0';
            s.align = '=';
        }
        ++i;
    }
    auto number = [&]() {
        int v = 0;
        bool any = false;
        while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) {
            v = std::min(v * 10 + (t[i++] - '0'), 100000);
            any = true;
        }
        return any ? v : -1;
    };
    s.width = number();
    if (i < t.size() && (t[i] == ',' || t[i] == '_')) s.grouping = t[i++];
    if (i < t.size() && t[i] == '.') {
        ++i;
        s.precision = number();
        if (s.precision < 0) fail("Format specifier missing precision");
    }
    if (i < t.size()) s.type = t[i++];
    if (i != t.size()) fail("Invalid format specifier '" + t + "'");
    return s;
}

std::string apply_spec(const Value& v, const std::string& spec_text) {
    if (spec_text.empty()) return to_str(v);
    const Spec s = parse_spec(spec_text);
    if (v.is_float() ||
        (v.is_number() && s.type && std::string("eEfFgG%").find(s.type) != std::string::npos)) {
        if (s.type && std::string("eEfFgGn%").find(s.type) == std::string::npos)
            fail(std::string("Unknown format code '") + s.type + "' for object of type 'float'");
        return pad(float_body(v.as_float(), s.type, s.precision, s.sign, s.alt, s.grouping), s,
                   '>');
    }
    if (v.is_number()) {
        if (s.type == 'c') {
            std::string out;
            append_utf8(out, static_cast<char32_t>(v.as_int() & 0x1FFFFF));
            return pad(out, s, '<');
        }
        if (s.type && std::string("dxXobn").find(s.type) == std::string::npos)
            fail(std::string("Unknown format code '") + s.type + "' for object of type 'int'");
        return pad(int_body(v.as_int(), s.type, s.alt, s.sign, 0, s.grouping), s, '>');
    }
    if (s.type && s.type != 's')
        fail(std::string("Unknown format code '") + s.type + "' for object of type '" +
             type_name(v) + "'");
    std::string body = to_str(v);
    if (s.precision >= 0) {
        const std::u32string u = decode_utf8(body);
        if (u.size() > static_cast<size_t>(s.precision))
            body = encode_utf8(std::u32string_view(u).substr(0, static_cast<size_t>(s.precision)));
    }
    return pad(body, s, '<');
}

}  // namespace

std::string percent_format(Runtime& rt, const std::string& fmt, const Value& args) {
    std::vector<Value> list;
    const DictObj* mapping = nullptr;
    if (args.is_list() && args.as_list()->tuple) {
        list = args.as_list()->items;
    } else {
        if (args.is_dict()) mapping = args.as_dict();
        list.push_back(args);
    }
    size_t next = 0;
    bool used_mapping = false;
    auto take = [&]() -> Value {
        if (next >= list.size()) fail("not enough arguments for format string");
        return list[next++];
    };
    std::string out;
    const size_t n = fmt.size();
    for (size_t i = 0; i < n; ++i) {
        if (fmt[i] != '%') {
            out.push_back(fmt[i]);
            continue;
        }
        if (++i >= n) fail("incomplete format");
        std::optional<Value> keyed;
        if (fmt[i] == '(') {
            const size_t close = fmt.find(')', i);
            if (close == std::string::npos) fail("incomplete format key");
            if (!mapping) fail("format requires a mapping");
            const Value* v = mapping->get(std::string_view(fmt).substr(i + 1, close - i - 1));
            if (!v) fail("KeyError: '" + fmt.substr(i + 1, close - i - 1) + "'");
            keyed = *v;
            used_mapping = true;
            i = close + 1;
        }
        Spec s;
        bool zero = false;
        for (; i < n && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos; ++i) {
            if (fmt[i] == '-') s.align = '<';
            if (fmt[i] == '+') s.sign = '+';
            if (fmt[i] == ' ' && s.sign != '+') s.sign = ' ';
            if (fmt[i] == '#') s.alt = true;
            if (fmt[i] == '0') zero = true;
        }
        auto number = [&]() -> int {
            if (i < n && fmt[i] == '*') {
                ++i;
                const Value w = take();
                if (!w.is_number() || w.is_float()) fail("* wants int");
                return static_cast<int>(std::clamp<int64_t>(w.as_int(), -100000, 100000));
            }
            int v = -1;
            while (i < n && std::isdigit(static_cast<unsigned char>(fmt[i])))
                v = std::min((v < 0 ? 0 : v * 10) + (fmt[i++] - '0'), 100000);
            return v;
        };
        s.width = number();
        if (s.width < -1) {
            s.align = '<';
            s.width = -s.width;
        }
        if (i < n && fmt[i] == '.') {
            ++i;
            s.precision = std::max(number(), 0);
        }
        while (i < n && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
        if (i >= n) fail("incomplete format");
        const char conv = fmt[i];
        if (conv == '%') {
            out.push_back('%');
            continue;
        }
        const Value v = keyed ? *keyed : take();
        if (zero && s.align != '<' && conv != 's' && conv != 'r' && conv != 'a' && conv != 'c') {
            s.fill = '0';
            s.align = '=';
        }
        std::string body;
        switch (conv) {
            case 's':
            case 'r':
            case 'a': {
                body = conv == 's' ? to_str(v) : repr(v);
                if (s.precision >= 0) {
                    const std::u32string u = decode_utf8(body);
                    if (u.size() > static_cast<size_t>(s.precision))
                        body = encode_utf8(
                            std::u32string_view(u).substr(0, static_cast<size_t>(s.precision)));
                }
                out += pad(body, s, '>');
                break;
            }
            case 'd':
            case 'i':
            case 'u':
            case 'x':
            case 'X':
            case 'o': {
                if (!v.is_number()) {
                    fail(std::string("%") + conv + " format: a real number is required, not " +
                         type_name(v));
                }
                if (v.is_float() && conv != 'd' && conv != 'i' && conv != 'u')
                    fail(std::string("%") + conv + " format: an integer is required, not float");
                const double f = v.as_float();
                if (v.is_float() && !(std::fabs(f) < 9.2e18))
                    fail("cannot convert float to integer");
                const int64_t iv = v.is_float() ? static_cast<int64_t>(f) : v.as_int();
                const char t = (conv == 'x' || conv == 'X' || conv == 'o') ? conv : 'd';
                out += pad(int_body(iv, t, s.alt, s.sign, s.precision, 0), s, '>');
                break;
            }
            case 'e':
            case 'E':
            case 'f':
            case 'F':
            case 'g':
            case 'G': {
                if (!v.is_number()) fail(std::string("must be real number, not ") + type_name(v));
                out += pad(float_body(v.as_float(), conv, s.precision, s.sign, s.alt, 0), s, '>');
                break;
            }
            case 'c': {
                if (v.is_string() && utf8_length(v.str()) == 1) {
                    body = v.str();
                } else if (v.is_number() && !v.is_float() && v.as_int() >= 0 &&
                           v.as_int() <= 0x10FFFF) {
                    append_utf8(body, static_cast<char32_t>(v.as_int()));
                } else {
                    fail("%c requires int or char");
                }
                out += pad(body, s, '>');
                break;
            }
            default:
                fail(std::string("unsupported format character '") + conv + "'");
        }
        rt.check_string(out.size());
    }
    // Like CPython, a lone list or dict argument (a "mapping") may go unused.
    const bool mapping_like = args.is_dict() || (args.is_list() && !args.as_list()->tuple);
    if (!used_mapping && !mapping_like && next < list.size())
        fail("not all arguments converted during string formatting");
    return out;
}

std::string str_format(Runtime& rt, const std::string& fmt, const Args& args) {
    std::string out;
    size_t auto_index = 0;
    const size_t n = fmt.size();
    for (size_t i = 0; i < n; ++i) {
        const char c = fmt[i];
        if (c == '}') {
            if (i + 1 < n && fmt[i + 1] == '}') {
                out.push_back('}');
                ++i;
                continue;
            }
            fail("Single '}' encountered in format string");
        }
        if (c != '{') {
            out.push_back(c);
            continue;
        }
        if (i + 1 < n && fmt[i + 1] == '{') {
            out.push_back('{');
            ++i;
            continue;
        }
        const size_t close = fmt.find('}', i);
        if (close == std::string::npos) fail("Single '{' encountered in format string");
        std::string field = fmt.substr(i + 1, close - i - 1);
        i = close;
        std::string spec;
        char conversion = 0;
        if (const size_t colon = field.find(':'); colon != std::string::npos) {
            spec = field.substr(colon + 1);
            field.resize(colon);
        }
        if (const size_t bang = field.find('!'); bang != std::string::npos) {
            if (bang + 2 != field.size()) fail("expected ':' after conversion specifier");
            conversion = field[bang + 1];
            field.resize(bang);
        }
        // field name: arg_name ("." attr | "[" key "]")*
        size_t end = field.find_first_of(".[");
        const std::string head = field.substr(0, end);
        Value v;
        if (head.empty()) {
            if (auto_index >= args.pos.size())
                fail("Replacement index " + std::to_string(auto_index) +
                     " out of range for positional args tuple");
            v = args.pos[auto_index++];
        } else if (std::all_of(head.begin(), head.end(), [](char d) {
                       return std::isdigit(static_cast<unsigned char>(d));
                   })) {
            const size_t k = static_cast<size_t>(std::stoull(head.substr(0, 9)));
            if (k >= args.pos.size())
                fail("Replacement index " + head + " out of range for positional args tuple");
            v = args.pos[k];
        } else {
            const Value* kv = args.kwarg(head);
            if (!kv) fail("KeyError: '" + head + "'");
            v = *kv;
        }
        while (end != std::string::npos && end < field.size()) {
            if (field[end] == '.') {
                const size_t next = field.find_first_of(".[", end + 1);
                v = get_attr(rt, v,
                             field.substr(end + 1, next == std::string::npos ? std::string::npos
                                                                             : next - end - 1));
                end = next;
            } else {
                const size_t rb = field.find(']', end);
                if (rb == std::string::npos) fail("Missing ']' in format string");
                const std::string key = field.substr(end + 1, rb - end - 1);
                const auto idx = parse_py_int(key, 10);
                v = get_item(rt, v, idx ? Value::integer(*idx) : Value::string(key));
                end = rb + 1 < field.size() ? rb + 1 : std::string::npos;
            }
        }
        if (conversion == 'r' || conversion == 'a')
            v = Value::string(repr(v));
        else if (conversion == 's')
            v = Value::string(to_str(v));
        else if (conversion)
            fail(std::string("Unknown conversion specifier ") + conversion);
        out += apply_spec(v, spec);
        rt.check_string(out.size());
    }
    return out;
}

// ---------------------------------------------------------------- JSON

namespace {

struct JsonWriter {
    Runtime& rt;
    const JsonOptions& o;
    std::string out;

    void newline(int level) {
        out.push_back('\n');
        for (int i = 0; i < level; ++i) out += o.indent_str;
    }

    void key(const Value& k) {
        switch (k.kind()) {
            case Kind::String:
                json_escape(out, k.str(), o.ensure_ascii);
                return;
            case Kind::Int:
                out += "\"" + std::to_string(k.as_int()) + "\"";
                return;
            case Kind::Bool:
                out += k.as_bool() ? "\"true\"" : "\"false\"";
                return;
            case Kind::None:
                out += "\"null\"";
                return;
            case Kind::Float: {
                const double f = k.as_float();
                out += "\"";
                out += std::isnan(f)   ? "NaN"
                       : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity")
                                       : py_float_repr(f);
                out += "\"";
                return;
            }
            default:
                fail(std::string("keys must be str, int, float, bool or None, not ") +
                     type_name(k));
        }
    }

    void write(const Value& v, int depth) {
        if (depth > rt.limits().max_value_depth) fail("Circular reference detected");
        rt.check_string(out.size());
        rt.charge();
        switch (v.kind()) {
            case Kind::None:
                out += "null";
                return;
            case Kind::Bool:
                out += v.as_bool() ? "true" : "false";
                return;
            case Kind::Int:
                out += std::to_string(v.as_int());
                return;
            case Kind::Float: {
                const double f = v.as_float();
                out += std::isnan(f)   ? "NaN"
                       : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity")
                                       : py_float_repr(f);
                return;
            }
            case Kind::String:
                json_escape(out, v.str(), o.ensure_ascii);
                return;
            case Kind::List: {
                const auto& items = v.as_list()->items;
                if (items.empty()) {
                    out += "[]";
                    return;
                }
                out.push_back('[');
                for (size_t i = 0; i < items.size(); ++i) {
                    if (i) out += o.item_sep;
                    if (o.pretty) newline(depth + 1);
                    write(items[i], depth + 1);
                }
                if (o.pretty) newline(depth);
                out.push_back(']');
                return;
            }
            case Kind::Dict: {
                const auto& entries = v.as_dict()->entries;
                if (entries.empty()) {
                    out += "{}";
                    return;
                }
                std::vector<size_t> order(entries.size());
                for (size_t i = 0; i < order.size(); ++i) order[i] = i;
                if (o.sort_keys) {
                    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
                        return compare(entries[a].first, entries[b].first) < 0;
                    });
                }
                out.push_back('{');
                for (size_t i = 0; i < order.size(); ++i) {
                    if (i) out += o.item_sep;
                    if (o.pretty) newline(depth + 1);
                    key(entries[order[i]].first);
                    out += o.key_sep;
                    write(entries[order[i]].second, depth + 1);
                }
                if (o.pretty) newline(depth);
                out.push_back('}');
                return;
            }
            default:
                fail(std::string("Object of type ") + type_name(v) + " is not JSON serializable");
        }
    }
};

Value convert(Runtime& rt, const nlohmann::ordered_json& j, int depth) {
    if (depth > rt.limits().max_value_depth) fail("render context nested too deeply");
    using T = nlohmann::ordered_json::value_t;
    switch (j.type()) {
        case T::null:
            return Value::none();
        case T::boolean:
            return Value::boolean(j.get<bool>());
        case T::number_integer:
            return Value::integer(j.get<int64_t>());
        case T::number_unsigned: {
            const auto u = j.get<uint64_t>();
            if (u > static_cast<uint64_t>(INT64_MAX)) return Value::number(static_cast<double>(u));
            return Value::integer(static_cast<int64_t>(u));
        }
        case T::number_float:
            return Value::number(j.get<double>());
        case T::string:
            return Value::string(j.get<std::string>());
        case T::array: {
            std::vector<Value> items;
            items.reserve(j.size());
            for (const auto& e : j) items.push_back(convert(rt, e, depth + 1));
            return rt.make_list(std::move(items));
        }
        case T::object: {
            DictObj* d = rt.new_dict();
            for (auto it = j.begin(); it != j.end(); ++it) {
                rt.charge();
                d->set(std::string_view(it.key()), convert(rt, it.value(), depth + 1));
            }
            return Value::dict(d);
        }
        default:
            fail("unsupported value in the render context");
    }
}

}  // namespace

std::string to_json(Runtime& rt, const Value& v, const JsonOptions& opts) {
    JsonWriter w{rt, opts, {}};
    w.write(v, 0);
    rt.check_string(w.out.size());
    return std::move(w.out);
}

Value from_json(Runtime& rt, const nlohmann::ordered_json& j) {
    return convert(rt, j, 0);
}

}  // namespace uma::jinja
