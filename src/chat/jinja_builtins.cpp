// Attribute / item access, slicing, the methods of built-in values and the global functions.
#include "chat/jinja_builtins.h"

#include <algorithm>
#include <ctime>

#include "chat/jinja_text.h"
#include "uma/core/error.h"

namespace uma::jinja {

int64_t to_index(const Value& v, const char* what) {
    if (v.is_number() && !v.is_float()) return v.as_int();
    fail(std::string(what) + " must be an integer, not " + type_name(v));
}

std::string need_string(const Value& v, const char* what) {
    if (v.is_string()) return v.str();
    if (v.is_undefined() && !v.hint().empty()) fail(v.hint());
    fail(std::string(what) + " must be str, not " + type_name(v));
}

namespace {

bool in_list(const std::string& name, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_string_method(const std::string& n) {
    return in_list(
        n, {"strip",        "lstrip",      "rstrip",    "split",     "rsplit",    "splitlines",
            "startswith",   "endswith",    "upper",     "lower",     "title",     "capitalize",
            "replace",      "find",        "rfind",     "index",     "rindex",    "count",
            "join",         "format",      "isdigit",   "isalpha",   "isalnum",   "isspace",
            "islower",      "isupper",     "isnumeric", "isdecimal", "casefold",  "swapcase",
            "zfill",        "center",      "ljust",     "rjust",     "partition", "rpartition",
            "removeprefix", "removesuffix"});
}
bool is_list_method(const std::string& n, bool tuple) {
    if (in_list(n, {"index", "count"})) return true;
    return !tuple && in_list(n, {"append", "pop", "extend", "insert", "reverse", "sort", "copy",
                                 "remove", "clear"});
}
bool is_dict_method(const std::string& n) {
    return in_list(
        n, {"items", "keys", "values", "get", "pop", "update", "copy", "setdefault", "clear"});
}

void slice_indices(int64_t len, const Value& start, const Value& stop, const Value& step,
                   int64_t& s, int64_t& st, int64_t& count) {
    auto as_opt = [](const Value& v) -> std::optional<int64_t> {
        if (v.is_none() || v.is_undefined()) return std::nullopt;
        if (v.is_number() && !v.is_float()) return v.as_int();
        fail("slice indices must be integers or None");
    };
    st = as_opt(step).value_or(1);
    if (st == 0) fail("slice step cannot be zero");
    const auto a = as_opt(start);
    const auto b = as_opt(stop);
    auto clamp = [&](int64_t v, int64_t lo, int64_t hi) {
        if (v < 0) v = (v < -len) ? lo : v + len;
        return std::clamp(v, lo, hi);
    };
    int64_t e;
    if (st > 0) {
        s = a ? clamp(*a, 0, len) : 0;
        e = b ? clamp(*b, 0, len) : len;
        count = e > s ? (e - s + st - 1) / st : 0;
    } else {
        s = a ? clamp(*a, -1, len - 1) : len - 1;
        e = b ? clamp(*b, -1, len - 1) : -1;
        count = s > e ? (s - e - 1) / (-st) + 1 : 0;
    }
}

std::string join_strings(Runtime& rt, const std::string& sep, const std::vector<Value>& items) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_string())
            fail("sequence item " + std::to_string(i) + ": expected str instance, " +
                 type_name(items[i]) + " found");
        if (i) out += sep;
        out += items[i].str();
        rt.check_string(out.size());
    }
    return out;
}

bool prefix_match(const std::string& s, const Value& arg, bool suffix) {
    auto one = [&](const Value& p) {
        const std::string x = need_string(p, suffix ? "endswith arg" : "startswith arg");
        if (x.size() > s.size()) return false;
        return suffix ? s.compare(s.size() - x.size(), x.size(), x) == 0
                      : s.compare(0, x.size(), x) == 0;
    };
    if (arg.is_list() && arg.as_list()->tuple) {
        for (const Value& p : arg.as_list()->items) {
            if (one(p)) return true;
        }
        return false;
    }
    return one(arg);
}

template <class Pred>
bool all_cps(const std::string& s, Pred pred) {
    const std::u32string u = decode_utf8(s);
    return !u.empty() && std::all_of(u.begin(), u.end(), pred);
}

std::string justify(Runtime& rt, const std::string& s, const Args& args, char how) {
    const int64_t width = to_index(args.get(0, "width"), "width");
    const std::string fill = args.pos.size() > 1 ? need_string(args.pos[1], "fillchar") : " ";
    const int64_t len = static_cast<int64_t>(utf8_length(s));
    if (width <= len) return s;
    rt.check_string(static_cast<size_t>(width) * fill.size());
    const int64_t n = width - len;
    auto rep = [&](int64_t k) {
        std::string r;
        for (int64_t i = 0; i < k; ++i) r += fill;
        return r;
    };
    if (how == '<') return s + rep(n);
    if (how == '>') return rep(n) + s;
    const int64_t left = n / 2 + (n & width & 1);
    return rep(left) + s + rep(n - left);
}

Value string_method(Runtime& rt, const std::string& s, const std::string& name, const Args& args) {
    auto opt_str = [&](size_t i, const char* kw) -> std::optional<std::string> {
        const Value v = args.get(i, kw);
        if (v.is_none() || v.is_undefined()) return std::nullopt;
        return need_string(v, kw);
    };
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        const auto chars = opt_str(0, "chars");
        return rt.new_string(
            py_strip(s, chars ? &*chars : nullptr, name != "rstrip", name != "lstrip"));
    }
    if (name == "split" || name == "rsplit") {
        const auto sep = opt_str(0, "sep");
        if (sep && sep->empty()) fail("empty separator");
        const Value m = args.get(1, "maxsplit", Value::integer(-1));
        const int64_t maxsplit = to_index(m, "maxsplit");
        auto parts = name == "split" ? py_split(s, sep ? &*sep : nullptr, maxsplit)
                                     : py_rsplit(s, sep ? &*sep : nullptr, maxsplit);
        std::vector<Value> items;
        for (auto& p : parts) items.push_back(Value::string(std::move(p)));
        return rt.make_list(std::move(items));
    }
    if (name == "splitlines") {
        std::vector<Value> items;
        for (auto& p : py_splitlines(s, truthy(args.get(0, "keepends"))))
            items.push_back(Value::string(std::move(p)));
        return rt.make_list(std::move(items));
    }
    if (name == "startswith" || name == "endswith") {
        return Value::boolean(prefix_match(
            s, args.get(0, name == "startswith" ? "prefix" : "suffix"), name == "endswith"));
    }
    if (name == "upper") return rt.new_string(py_upper(s));
    if (name == "lower" || name == "casefold") return rt.new_string(py_lower(s));
    if (name == "title") return rt.new_string(py_title(s));
    if (name == "capitalize") return rt.new_string(py_capitalize(s));
    if (name == "swapcase") {
        std::u32string u = decode_utf8(s);
        for (char32_t& c : u) c = cp_upper(c) != c ? cp_upper(c) : cp_lower(c);
        return rt.new_string(encode_utf8(u));
    }
    if (name == "replace") {
        const std::string old = need_string(args.get(0, "old"), "replace() argument 1");
        const std::string repl = need_string(args.get(1, "new"), "replace() argument 2");
        const int64_t count = to_index(args.get(2, "count", Value::integer(-1)), "count");
        return rt.new_string(py_replace(s, old, repl, count, rt.limits().max_string_bytes));
    }
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
        const std::string sub = need_string(args.get(0, "sub"), "substring");
        const int64_t at = py_find(s, sub, name[0] == 'r');
        if (at < 0 && (name == "index" || name == "rindex")) fail("substring not found");
        return Value::integer(at);
    }
    if (name == "count") {
        const std::string sub = need_string(args.get(0, "sub"), "substring");
        if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_length(s)) + 1);
        int64_t n = 0;
        for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
        return Value::integer(n);
    }
    if (name == "join")
        return rt.new_string(join_strings(rt, s, iterate(rt, args.get(0, "iterable"))));
    if (name == "format") return rt.new_string(str_format(rt, s, args));
    if (name == "isdigit" || name == "isnumeric" || name == "isdecimal")
        return Value::boolean(all_cps(s, cp_isdigit));
    if (name == "isalpha") return Value::boolean(all_cps(s, cp_isalpha));
    if (name == "isalnum")
        return Value::boolean(
            all_cps(s, [](char32_t c) { return cp_isalpha(c) || cp_isdigit(c); }));
    if (name == "isspace") return Value::boolean(all_cps(s, py_isspace));
    if (name == "islower" || name == "isupper") {
        const std::u32string u = decode_utf8(s);
        bool cased = false;
        for (char32_t c : u) {
            if (cp_upper(c) != c || cp_lower(c) != c) {
                cased = true;
                const bool lower = cp_upper(c) != c;
                if (lower != (name == "islower")) return Value::boolean(false);
            }
        }
        return Value::boolean(cased);
    }
    if (name == "zfill") {
        const int64_t width = to_index(args.get(0, "width"), "width");
        const int64_t len = static_cast<int64_t>(utf8_length(s));
        if (width <= len) return Value::string(s);
        rt.check_string(static_cast<size_t>(width));
        const size_t sign = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
        return rt.new_string(s.substr(0, sign) +
                             std::string(static_cast<size_t>(width - len), '0') + s.substr(sign));
    }
    if (name == "center") return rt.new_string(justify(rt, s, args, '^'));
    if (name == "ljust") return rt.new_string(justify(rt, s, args, '<'));
    if (name == "rjust") return rt.new_string(justify(rt, s, args, '>'));
    if (name == "partition" || name == "rpartition") {
        const std::string sep = need_string(args.get(0, "sep"), "separator");
        if (sep.empty()) fail("empty separator");
        const size_t at = name == "partition" ? s.find(sep) : s.rfind(sep);
        std::vector<Value> parts;
        if (at == std::string::npos) {
            parts =
                name == "partition"
                    ? std::vector<Value>{Value::string(s), Value::string(""), Value::string("")}
                    : std::vector<Value>{Value::string(""), Value::string(""), Value::string(s)};
        } else {
            parts = {Value::string(s.substr(0, at)), Value::string(sep),
                     Value::string(s.substr(at + sep.size()))};
        }
        return rt.make_list(std::move(parts), true);
    }
    if (name == "removeprefix" || name == "removesuffix") {
        const std::string x = need_string(args.get(0, "affix"), "argument");
        if (name == "removeprefix" && s.compare(0, x.size(), x) == 0)
            return Value::string(s.substr(x.size()));
        if (name == "removesuffix" && x.size() <= s.size() &&
            s.compare(s.size() - x.size(), x.size(), x) == 0)
            return Value::string(s.substr(0, s.size() - x.size()));
        return Value::string(s);
    }
    fail("'str' object has no attribute '" + name + "'");
}

// Methods of a Markup string escape their plain-string arguments and return Markup.
Value markup_method(Runtime& rt, const Value& self, const std::string& name, const Args& args) {
    auto esc = [](const Value& v) {
        return v.is_string() && !v.is_markup() ? Value::markup(html_escape(v.str())) : v;
    };
    Args escaped;
    for (const Value& v : args.pos) escaped.pos.push_back(esc(v));
    for (const auto& [k, v] : args.kw) escaped.kw.emplace_back(k, esc(v));
    if (name == "join" && !escaped.pos.empty()) {
        std::vector<Value> items;
        for (const Value& v : iterate(rt, escaped.pos[0])) items.push_back(esc(v));
        escaped.pos[0] = rt.make_list(std::move(items));
    }
    const Value r = string_method(rt, self.str(), name, escaped);
    if (r.is_string()) return Value::markup(r.str());
    if (r.is_list()) {
        for (Value& v : r.as_list()->items) {
            if (v.is_string()) v = Value::markup(v.str());
        }
    }
    return r;
}

Value list_method(Runtime& rt, ListObj& l, const std::string& name, const Args& args) {
    auto& items = l.items;
    auto find = [&](const Value& x) -> int64_t {
        for (size_t i = 0; i < items.size(); ++i) {
            if (equals(items[i], x)) return static_cast<int64_t>(i);
        }
        return -1;
    };
    if (name == "append") {
        rt.charge();
        items.push_back(args.get(0, "object"));
        return Value::none();
    }
    if (name == "extend") {
        for (Value& v : iterate(rt, args.get(0, "iterable"))) items.push_back(std::move(v));
        return Value::none();
    }
    if (name == "insert") {
        const int64_t len = static_cast<int64_t>(items.size());
        int64_t i = to_index(args.get(0, "index"), "index");
        if (i < 0) i = std::max<int64_t>(0, i + len);
        i = std::min(i, len);
        rt.charge();
        items.insert(items.begin() + i, args.get(1, "object"));
        return Value::none();
    }
    if (name == "pop") {
        if (items.empty()) fail("pop from empty list");
        const int64_t len = static_cast<int64_t>(items.size());
        int64_t i = to_index(args.get(0, "index", Value::integer(-1)), "index");
        if (i < 0) i += len;
        if (i < 0 || i >= len) fail("pop index out of range");
        Value v = items[static_cast<size_t>(i)];
        items.erase(items.begin() + i);
        return v;
    }
    if (name == "index") {
        const int64_t i = find(args.get(0, "value"));
        if (i < 0) fail("value is not in list");
        return Value::integer(i);
    }
    if (name == "count") {
        const Value x = args.get(0, "value");
        int64_t n = 0;
        for (const Value& v : items) n += equals(v, x) ? 1 : 0;
        return Value::integer(n);
    }
    if (name == "remove") {
        const int64_t i = find(args.get(0, "value"));
        if (i < 0) fail("list.remove(x): x not in list");
        items.erase(items.begin() + i);
        return Value::none();
    }
    if (name == "reverse") {
        std::reverse(items.begin(), items.end());
        return Value::none();
    }
    if (name == "sort") {
        const bool rev = truthy(args.get(0, "reverse"));
        std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
            return rev ? compare(b, a) < 0 : compare(a, b) < 0;
        });
        return Value::none();
    }
    if (name == "copy") return rt.make_list(items);
    if (name == "clear") {
        items.clear();
        return Value::none();
    }
    fail("'list' object has no attribute '" + name + "'");
}

Value items_list(Runtime& rt, const DictObj& d) {
    std::vector<Value> out;
    for (const auto& [k, v] : d.entries) out.push_back(rt.make_list({k, v}, true));
    return rt.make_list(std::move(out));
}

Value dict_method(Runtime& rt, DictObj& d, const std::string& name, const Args& args) {
    if (name == "items") return items_list(rt, d);
    if (name == "keys" || name == "values") {
        std::vector<Value> out;
        for (const auto& [k, v] : d.entries) out.push_back(name == "keys" ? k : v);
        return rt.make_list(std::move(out));
    }
    if (name == "get") {
        const int64_t i = d.find(args.get(0, "key"));
        return i >= 0 ? d.entries[static_cast<size_t>(i)].second
                      : args.get(1, "default", Value::none());
    }
    if (name == "pop") {
        const Value key = args.get(0, "key");
        const int64_t i = d.find(key);
        if (i < 0) {
            if (args.pos.size() > 1) return args.pos[1];
            fail("KeyError: " + repr(key));
        }
        Value v = d.entries[static_cast<size_t>(i)].second;
        d.entries.erase(d.entries.begin() + i);
        return v;
    }
    if (name == "setdefault") {
        const Value key = args.get(0, "key");
        const int64_t i = d.find(key);
        if (i >= 0) return d.entries[static_cast<size_t>(i)].second;
        const Value def = args.get(1, "default", Value::none());
        d.set(key, def);
        return def;
    }
    if (name == "update") {
        if (!args.pos.empty()) {
            const Value& other = args.pos[0];
            if (other.is_dict()) {
                const auto entries = other.as_dict()->entries;
                for (const auto& [k, v] : entries) d.set(k, v);
            } else {
                for (const Value& kv : iterate(rt, other)) {
                    if (!kv.is_list() || kv.as_list()->items.size() != 2)
                        fail("dictionary update sequence element has wrong length");
                    d.set(kv.as_list()->items[0], kv.as_list()->items[1]);
                }
            }
        }
        for (const auto& [k, v] : args.kw) d.set(std::string_view(k), v);
        rt.charge(d.entries.size());
        return Value::none();
    }
    if (name == "copy") {
        DictObj* c = rt.new_dict();
        c->entries = d.entries;
        rt.charge(c->entries.size());
        return Value::dict(c);
    }
    if (name == "clear") {
        d.entries.clear();
        return Value::none();
    }
    fail("'dict' object has no attribute '" + name + "'");
}

Value loop_method(LoopObj& l, const std::string& name, const Args& args) {
    if (name == "cycle") {
        if (args.pos.empty()) fail("no items for cycling given");
        return args.pos[l.index0 % args.pos.size()];
    }
    if (name == "changed") {
        const bool changed =
            !l.has_changed || l.last_changed.size() != args.pos.size() ||
            !std::equal(args.pos.begin(), args.pos.end(), l.last_changed.begin(),
                        [](const Value& a, const Value& b) { return equals(a, b); });
        l.last_changed = args.pos;
        l.has_changed = true;
        return Value::boolean(changed);
    }
    fail("'LoopContext' object has no attribute '" + name + "'");
}

Value loop_attr(const LoopObj& l, const std::string& name) {
    const auto len = static_cast<int64_t>(l.items.size());
    const auto i = static_cast<int64_t>(l.index0);
    if (name == "index") return Value::integer(i + 1);
    if (name == "index0") return Value::integer(i);
    if (name == "revindex") return Value::integer(len - i);
    if (name == "revindex0") return Value::integer(len - i - 1);
    if (name == "first") return Value::boolean(i == 0);
    if (name == "last") return Value::boolean(i == len - 1);
    if (name == "length") return Value::integer(len);
    if (name == "depth") return Value::integer(l.depth);
    if (name == "depth0") return Value::integer(l.depth - 1);
    if (name == "previtem") {
        return i > 0 ? l.items[static_cast<size_t>(i - 1)]
                     : Value::undefined("there is no previous item");
    }
    if (name == "nextitem") {
        return i + 1 < len ? l.items[static_cast<size_t>(i + 1)]
                           : Value::undefined("there is no next item");
    }
    return Value::undefined("'LoopContext object' has no attribute '" + name + "'");
}

}  // namespace

bool has_method(const Value& self, const std::string& name) {
    switch (self.kind()) {
        case Kind::String:
            return is_string_method(name);
        case Kind::List:
            return is_list_method(name, self.as_list()->tuple);
        case Kind::Dict:
            return is_dict_method(name);
        case Kind::Loop:
            return name == "cycle" || name == "changed";
        default:
            return false;
    }
}

Value call_method(Runtime& rt, const Value& self, const std::string& name, const Args& args) {
    rt.charge();
    switch (self.kind()) {
        case Kind::String:
            if (self.is_markup()) return markup_method(rt, self, name, args);
            return string_method(rt, self.str(), name, args);
        case Kind::List:
            return list_method(rt, *self.as_list(), name, args);
        case Kind::Dict:
            return dict_method(rt, *self.as_dict(), name, args);
        case Kind::Loop:
            return loop_method(*self.as_loop(), name, args);
        default:
            fail(std::string("'") + type_name(self) + "' object has no attribute '" + name + "'");
    }
}

Value get_attr(Runtime& rt, const Value& obj, const std::string& name) {
    if (has_method(obj, name)) return rt.make_method(obj, name);
    switch (obj.kind()) {
        case Kind::Dict:
        case Kind::Namespace:
            if (const Value* v = obj.as_dict()->get(name)) return *v;
            break;
        case Kind::Loop:
            return loop_attr(*obj.as_loop(), name);
        case Kind::Undefined:
            return Value::undefined(obj.hint());
        default:
            break;
    }
    return Value::undefined(std::string("'") + (obj.is_namespace() ? "Namespace" : type_name(obj)) +
                            " object' has no attribute '" + name + "'");
}

Value get_item(Runtime& rt, const Value& obj, const Value& key) {
    switch (obj.kind()) {
        case Kind::Dict: {
            const int64_t i = obj.as_dict()->find(key);
            if (i >= 0) return obj.as_dict()->entries[static_cast<size_t>(i)].second;
            break;
        }
        case Kind::List:
            if (key.is_number() && !key.is_float()) {
                const auto& items = obj.as_list()->items;
                int64_t i = key.as_int();
                if (i < 0) i += static_cast<int64_t>(items.size());
                if (i >= 0 && i < static_cast<int64_t>(items.size()))
                    return items[static_cast<size_t>(i)];
                return Value::undefined("list index out of range");
            }
            break;
        case Kind::String:
            if (key.is_number() && !key.is_float()) {
                const std::u32string u = decode_utf8(obj.str());
                int64_t i = key.as_int();
                if (i < 0) i += static_cast<int64_t>(u.size());
                if (i >= 0 && i < static_cast<int64_t>(u.size())) {
                    std::string s;
                    append_utf8(s, u[static_cast<size_t>(i)]);
                    return Value::string(std::move(s));
                }
                return Value::undefined("string index out of range");
            }
            break;
        case Kind::Undefined:
            return Value::undefined(obj.hint());
        default:
            break;
    }
    if (key.is_string()) return get_attr(rt, obj, key.str());
    return Value::undefined(std::string("'") + type_name(obj) + " object' has no element " +
                            repr(key));
}

Value slice(Runtime& rt, const Value& obj, const Value& start, const Value& stop,
            const Value& step) {
    if (obj.is_list()) {
        const auto& items = obj.as_list()->items;
        int64_t s, st, count;
        slice_indices(static_cast<int64_t>(items.size()), start, stop, step, s, st, count);
        std::vector<Value> out;
        out.reserve(static_cast<size_t>(count));
        for (int64_t k = 0; k < count; ++k) out.push_back(items[static_cast<size_t>(s + k * st)]);
        return rt.make_list(std::move(out), obj.as_list()->tuple);
    }
    if (obj.is_string()) {
        const std::u32string u = decode_utf8(obj.str());
        int64_t s, st, count;
        slice_indices(static_cast<int64_t>(u.size()), start, stop, step, s, st, count);
        std::u32string out;
        for (int64_t k = 0; k < count; ++k) out.push_back(u[static_cast<size_t>(s + k * st)]);
        return rt.new_string(encode_utf8(out));
    }
    return Value::undefined(obj.is_undefined() ? obj.hint()
                                               : std::string("'") + type_name(obj) +
                                                     "' object is not subscriptable");
}

// ---------------------------------------------------------------- globals

namespace {

Value g_range(Runtime& rt, const Args& args) {
    int64_t start = 0, stop = 0, step = 1;
    if (args.pos.size() == 1) {
        stop = to_index(args.pos[0], "range() argument");
    } else if (args.pos.size() == 2 || args.pos.size() == 3) {
        start = to_index(args.pos[0], "range() argument");
        stop = to_index(args.pos[1], "range() argument");
        if (args.pos.size() == 3) step = to_index(args.pos[2], "range() argument");
    } else {
        fail("range expected 1 to 3 arguments, got " + std::to_string(args.pos.size()));
    }
    if (step == 0) fail("range() arg 3 must not be zero");
    const __int128 span =
        step > 0 ? static_cast<__int128>(stop) - start : static_cast<__int128>(start) - stop;
    const __int128 count = span <= 0
                               ? 0
                               : (span + (step > 0 ? step : -static_cast<__int128>(step)) - 1) /
                                     (step > 0 ? step : -static_cast<__int128>(step));
    if (count > rt.limits().max_range)
        fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (" +
             std::to_string(rt.limits().max_range) + ").");
    std::vector<Value> out;
    for (__int128 k = 0; k < count; ++k)
        out.push_back(Value::integer(static_cast<int64_t>(start + k * step)));
    return rt.make_list(std::move(out));
}

void fill_dict(Runtime& rt, DictObj& d, const Args& args) {
    if (args.pos.size() > 1) fail("expected at most 1 positional argument");
    if (!args.pos.empty()) {
        const Value& src = args.pos[0];
        if (src.is_dict() || src.is_namespace()) {
            d.entries = src.as_dict()->entries;
        } else {
            for (const Value& kv : iterate(rt, src)) {
                if (!kv.is_list() || kv.as_list()->items.size() != 2)
                    fail("dictionary update sequence element has wrong length");
                d.set(kv.as_list()->items[0], kv.as_list()->items[1]);
            }
        }
    }
    for (const auto& [k, v] : args.kw) d.set(std::string_view(k), v);
    rt.charge(d.entries.size());
}

Value g_namespace(Runtime& rt, const Args& args) {
    DictObj* d = rt.new_dict();
    fill_dict(rt, *d, args);
    return Value::ns(d);
}

Value g_dict(Runtime& rt, const Args& args) {
    DictObj* d = rt.new_dict();
    fill_dict(rt, *d, args);
    return Value::dict(d);
}

Value g_raise_exception(Runtime&, const Args& args) {
    throw Error(to_str(args.get(0, "message")));
}

Value g_strftime_now(Runtime& rt, const Args& args) {
    const std::string fmt = need_string(args.get(0, "format"), "strftime_now() argument");
    if (fmt.size() > 1024) fail("strftime format too long");
    if (fmt.empty()) return Value::string("");
    const std::tm tm = rt.now();
    std::string buf(fmt.size() * 64 + 64, '\0');
    const size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
    buf.resize(n);
    return Value::string(std::move(buf));
}

}  // namespace

void add_globals(Runtime& rt, DictObj& globals) {
    globals.set("range", rt.make_builtin("range", g_range));
    globals.set("namespace", rt.make_builtin("namespace", g_namespace));
    globals.set("dict", rt.make_builtin("dict", g_dict));
    globals.set("raise_exception", rt.make_builtin("raise_exception", g_raise_exception));
    globals.set("strftime_now", rt.make_builtin("strftime_now", g_strftime_now));
}

}  // namespace uma::jinja
