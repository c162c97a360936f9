// Jinja's built-in filters, with the semantics of jinja2/filters.py (3.1). `tojson` renders as
// Hugging Face transformers defines it: json.dumps(x, ensure_ascii=False, indent=None,
// separators=None, sort_keys=False).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "chat/jinja_builtins.h"
#include "chat/jinja_text.h"

namespace uma::jinja {

namespace {

using FilterFn = Value (*)(Runtime&, const Value&, const Args&);

// Jinja's make_attrgetter: "a.b.0" walks items (dict keys, list indices) part by part.
Value attr_path(Runtime& rt, const Value& v, const Value& attribute) {
    if (attribute.is_number() && !attribute.is_float()) return get_item(rt, v, attribute);
    const std::string path = need_string(attribute, "attribute");
    Value cur = v;
    size_t start = 0;
    while (true) {
        const size_t dot = path.find('.', start);
        const std::string part =
            path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        const auto idx = !part.empty() && std::all_of(part.begin(), part.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; })
                             ? parse_py_int(part, 10)
                             : std::nullopt;
        cur = get_item(rt, cur, idx ? Value::integer(*idx) : Value::string(part));
        if (dot == std::string::npos) return cur;
        start = dot + 1;
    }
}

// String filters keep a Markup input Markup (soft_str semantics).
Value like(Runtime& rt, const Value& in, std::string s) {
    if (in.is_markup()) {
        rt.check_string(s.size());
        return Value::markup(std::move(s));
    }
    return rt.new_string(std::move(s));
}

Value ignore_case(const Value& v) {
    return v.is_string() ? Value::string(py_lower(v.str())) : v;
}

// Sort key of an item for sort / unique / min / max / dictsort.
Value sort_key(Runtime& rt, const Value& item, const Value& attribute, bool case_sensitive) {
    Value k =
        attribute.is_none() || attribute.is_undefined() ? item : attr_path(rt, item, attribute);
    return case_sensitive ? k : ignore_case(k);
}

Value f_abs(Runtime&, const Value& v, const Args&) {
    if (v.is_float()) return Value::number(std::fabs(v.as_float()));
    if (v.is_number()) {
        if (v.as_int() == INT64_MIN) fail("integer overflow");
        return Value::integer(std::llabs(v.as_int()));
    }
    fail(std::string("bad operand type for abs(): '") + type_name(v) + "'");
}

Value f_attr(Runtime& rt, const Value& v, const Args& a) {
    return get_attr(rt, v, need_string(a.get(0, "name"), "attribute name"));
}

Value f_batch(Runtime& rt, const Value& v, const Args& a) {
    const int64_t n = to_index(a.get(0, "linecount"), "linecount");
    if (n <= 0) fail("batch size must be positive");
    const Value fill = a.get(1, "fill_with", Value::none());
    std::vector<Value> out;
    std::vector<Value> cur;
    for (Value& item : iterate(rt, v)) {
        cur.push_back(std::move(item));
        if (static_cast<int64_t>(cur.size()) == n)
            out.push_back(rt.make_list(std::exchange(cur, {})));
    }
    if (!cur.empty()) {
        if (!fill.is_none()) {
            while (static_cast<int64_t>(cur.size()) < n) cur.push_back(fill);
        }
        out.push_back(rt.make_list(std::move(cur)));
    }
    return rt.make_list(std::move(out));
}

Value f_capitalize(Runtime& rt, const Value& v, const Args&) {
    return like(rt, v, py_capitalize(to_str(v)));
}

Value f_center(Runtime& rt, const Value& v, const Args& a) {
    Args args;
    args.pos.push_back(a.get(0, "width", Value::integer(80)));
    return call_method(rt, v.is_markup() ? v : Value::string(to_str(v)), "center", args);
}

Value f_length(Runtime&, const Value& v, const Args&) {
    return Value::integer(length(v));
}

Value f_default(Runtime&, const Value& v, const Args& a) {
    const bool boolean = truthy(a.get(1, "boolean", Value::boolean(false)));
    if (v.is_undefined() || (boolean && !truthy(v)))
        return a.get(0, "default_value", Value::string(""));
    return v;
}

Value f_dictsort(Runtime& rt, const Value& v, const Args& a) {
    if (!v.is_dict()) fail("dictsort filter requires a mapping");
    const bool cs = truthy(a.get(0, "case_sensitive"));
    const std::string by = to_str(a.get(1, "by", Value::string("key")));
    if (by != "key" && by != "value") fail("You can only sort by either 'key' or 'value'");
    const bool rev = truthy(a.get(2, "reverse"));
    auto entries = v.as_dict()->entries;
    const size_t pos = by == "key" ? 0 : 1;
    std::stable_sort(entries.begin(), entries.end(), [&](const auto& x, const auto& y) {
        const Value kx = cs ? (pos ? x.second : x.first) : ignore_case(pos ? x.second : x.first);
        const Value ky = cs ? (pos ? y.second : y.first) : ignore_case(pos ? y.second : y.first);
        return rev ? compare(ky, kx) < 0 : compare(kx, ky) < 0;
    });
    std::vector<Value> out;
    for (auto& [k, val] : entries) out.push_back(rt.make_list({k, val}, true));
    return rt.make_list(std::move(out));
}

Value f_escape(Runtime& rt, const Value& v, const Args&) {
    if (v.is_markup()) return v;
    std::string out = html_escape(to_str(v));
    rt.check_string(out.size());
    return Value::markup(std::move(out));
}

Value f_forceescape(Runtime& rt, const Value& v, const Args&) {
    std::string out = html_escape(to_str(v));
    rt.check_string(out.size());
    return Value::markup(std::move(out));
}

Value f_first(Runtime& rt, const Value& v, const Args&) {
    if (v.is_list()) {
        const auto& items = v.as_list()->items;
        return items.empty() ? Value::undefined("No first item, sequence was empty.")
                             : items.front();
    }
    auto items = iterate(rt, v);
    return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value f_last(Runtime& rt, const Value& v, const Args&) {
    auto items = iterate(rt, v);
    return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value f_float(Runtime&, const Value& v, const Args& a) {
    if (v.is_number()) return Value::number(v.as_float());
    if (v.is_string()) {
        if (auto f = parse_py_float(v.str())) return Value::number(*f);
    }
    return a.get(0, "default", Value::number(0.0));
}

Value f_int(Runtime&, const Value& v, const Args& a) {
    const Value def = a.get(0, "default", Value::integer(0));
    const int64_t base = to_index(a.get(1, "base", Value::integer(10)), "base");
    if (v.is_float()) {
        const double f = v.as_float();
        if (!std::isfinite(f) || std::fabs(f) >= 9.2e18) return def;
        return Value::integer(static_cast<int64_t>(f));
    }
    if (v.is_number()) return Value::integer(v.as_int());
    if (v.is_string()) {
        if (base == 0 || (base >= 2 && base <= 36)) {
            if (auto i = parse_py_int(v.str(), static_cast<int>(base))) return Value::integer(*i);
        }
        if (auto f = parse_py_float(v.str())) {
            if (std::isfinite(*f) && std::fabs(*f) < 9.2e18)
                return Value::integer(static_cast<int64_t>(*f));
        }
    }
    return def;
}

Value f_format(Runtime& rt, const Value& v, const Args& a) {
    if (!a.pos.empty() && !a.kw.empty())
        fail("can't handle positional and keyword arguments at the same time");
    Value args;
    if (!a.kw.empty()) {
        DictObj* d = rt.new_dict();
        for (const auto& [k, x] : a.kw) d->set(std::string_view(k), x);
        args = Value::dict(d);
    } else {
        args = rt.make_list(a.pos, true);
    }
    return rt.new_string(percent_format(rt, to_str(v), args));
}

Value f_indent(Runtime& rt, const Value& v, const Args& a) {
    const Value w = a.get(0, "width", Value::integer(4));
    std::string ind;
    if (w.is_string()) {
        ind = w.str();
    } else {
        const int64_t n = to_index(w, "width");
        if (n > 10000) fail("indent width too large");
        ind.assign(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
    }
    const bool first = truthy(a.get(1, "first"));
    const bool blank = truthy(a.get(2, "blank"));
    const std::string s = to_str(v) + "\n";
    const auto lines = py_splitlines(s, false);
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i) {
            out += "\n";
            if (blank || !lines[i].empty()) out += ind;
        }
        out += lines[i];
        rt.check_string(out.size());
    }
    if (first) out = ind + out;
    return like(rt, v, std::move(out));
}

Value f_items(Runtime& rt, const Value& v, const Args&) {
    if (v.is_undefined()) return rt.make_list({});
    if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
    Args none;
    return call_method(rt, v, "items", none);
}

Value f_join(Runtime& rt, const Value& v, const Args& a) {
    const std::string sep = to_str(a.get(0, "d", Value::string("")));
    const Value attribute = a.get(1, "attribute", Value::none());
    std::string out;
    bool firstp = true;
    for (const Value& item : iterate(rt, v)) {
        if (!firstp) out += sep;
        firstp = false;
        out += to_str(attribute.is_none() ? item : attr_path(rt, item, attribute));
        rt.check_string(out.size());
    }
    return rt.new_string(std::move(out));
}

Value f_list(Runtime& rt, const Value& v, const Args&) {
    return rt.make_list(iterate(rt, v));
}

Value f_lower(Runtime& rt, const Value& v, const Args&) {
    return like(rt, v, py_lower(to_str(v)));
}
Value f_upper(Runtime& rt, const Value& v, const Args&) {
    return like(rt, v, py_upper(to_str(v)));
}

Value f_map(Runtime& rt, const Value& v, const Args& a) {
    std::vector<Value> out;
    if (!truthy(v)) return rt.make_list({});
    if (const Value* attribute = a.kwarg("attribute")) {
        const Value* def = a.kwarg("default");
        for (const Value& item : iterate(rt, v)) {
            Value x = attr_path(rt, item, *attribute);
            if (x.is_undefined() && def) x = *def;
            out.push_back(std::move(x));
        }
        return rt.make_list(std::move(out));
    }
    if (a.pos.empty()) fail("map requires a filter argument");
    const std::string name = need_string(a.pos[0], "filter name");
    Args rest;
    rest.pos.assign(a.pos.begin() + 1, a.pos.end());
    rest.kw = a.kw;
    for (const Value& item : iterate(rt, v)) out.push_back(apply_filter(rt, name, item, rest));
    return rt.make_list(std::move(out));
}

Value min_max(Runtime& rt, const Value& v, const Args& a, bool want_max) {
    const bool cs = truthy(a.get(0, "case_sensitive"));
    const Value attribute = a.get(1, "attribute", Value::none());
    const auto items = iterate(rt, v);
    if (items.empty())
        return Value::undefined(std::string("No aggregated item, sequence was empty."));
    size_t best = 0;
    Value best_key = sort_key(rt, items[0], attribute, cs);
    for (size_t i = 1; i < items.size(); ++i) {
        Value k = sort_key(rt, items[i], attribute, cs);
        const int c = compare(k, best_key);
        if (want_max ? c > 0 : c < 0) {
            best = i;
            best_key = std::move(k);
        }
    }
    return items[best];
}
Value f_max(Runtime& rt, const Value& v, const Args& a) {
    return min_max(rt, v, a, true);
}
Value f_min(Runtime& rt, const Value& v, const Args& a) {
    return min_max(rt, v, a, false);
}

// select / reject / selectattr / rejectattr
Value select_impl(Runtime& rt, const Value& v, const Args& a, bool use_attr, bool want) {
    size_t k = 0;
    Value attribute;
    if (use_attr) {
        if (a.pos.empty()) fail("Missing parameter for attribute name");
        attribute = a.pos[k++];
    }
    std::string test;
    if (k < a.pos.size()) test = need_string(a.pos[k++], "test name");
    Args rest;
    rest.pos.assign(a.pos.begin() + static_cast<std::ptrdiff_t>(std::min(k, a.pos.size())),
                    a.pos.end());
    rest.kw = a.kw;
    std::vector<Value> out;
    if (!truthy(v)) return rt.make_list({});
    for (const Value& item : iterate(rt, v)) {
        const Value x = use_attr ? attr_path(rt, item, attribute) : item;
        const bool ok = test.empty() ? truthy(x) : apply_test(rt, test, x, rest);
        if (ok == want) out.push_back(item);
    }
    return rt.make_list(std::move(out));
}
Value f_select(Runtime& rt, const Value& v, const Args& a) {
    return select_impl(rt, v, a, false, true);
}
Value f_reject(Runtime& rt, const Value& v, const Args& a) {
    return select_impl(rt, v, a, false, false);
}
Value f_selectattr(Runtime& rt, const Value& v, const Args& a) {
    return select_impl(rt, v, a, true, true);
}
Value f_rejectattr(Runtime& rt, const Value& v, const Args& a) {
    return select_impl(rt, v, a, true, false);
}

Value f_replace(Runtime& rt, const Value& v, const Args& a) {
    const std::string old = to_str(a.get(0, "old"));
    const std::string repl = to_str(a.get(1, "new"));
    const Value c = a.get(2, "count", Value::none());
    const int64_t count = c.is_none() ? -1 : to_index(c, "count");
    return rt.new_string(py_replace(to_str(v), old, repl, count, rt.limits().max_string_bytes));
}

Value f_reverse(Runtime& rt, const Value& v, const Args&) {
    if (v.is_string()) {
        std::u32string u = decode_utf8(v.str());
        std::reverse(u.begin(), u.end());
        return rt.new_string(encode_utf8(u));
    }
    auto items = iterate(rt, v);
    std::reverse(items.begin(), items.end());
    return rt.make_list(std::move(items));
}

Value f_round(Runtime&, const Value& v, const Args& a) {
    const int64_t precision = to_index(a.get(0, "precision", Value::integer(0)), "precision");
    const std::string method = to_str(a.get(1, "method", Value::string("common")));
    if (method != "common" && method != "ceil" && method != "floor")
        fail("method must be common, ceil or floor");
    if (!v.is_number())
        fail(std::string("type ") + type_name(v) + " doesn't define __round__ method");
    if (method == "common" && !v.is_float() && precision >= 0) return Value::integer(v.as_int());
    const double x = v.as_float();
    if (!std::isfinite(x)) return Value::number(x);
    const int p = static_cast<int>(std::clamp<int64_t>(precision, -308, 308));
    if (method == "common") {
        if (p >= 0 && p <= 17) {
            char buf[512];
            std::snprintf(buf, sizeof buf, "%.*f", p, x);  // exact decimal rounding, half to even
            return Value::number(std::strtod(buf, nullptr));
        }
        if (p > 17) return Value::number(x);
        const double scale = std::pow(10.0, -p);
        return Value::number(std::nearbyint(x / scale) * scale);
    }
    const double scale = std::pow(10.0, p);
    const double r = method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale);
    return Value::number(r / scale);
}

Value f_safe(Runtime&, const Value& v, const Args&) {
    return v.is_markup() ? v : Value::markup(to_str(v));
}

Value f_slice(Runtime& rt, const Value& v, const Args& a) {
    const int64_t slices = to_index(a.get(0, "slices"), "slices");
    if (slices <= 0 || slices > 100000) fail("slices must be positive");
    const Value fill = a.get(1, "fill_with", Value::none());
    const auto items = iterate(rt, v);
    const size_t n = items.size();
    const size_t per = n / static_cast<size_t>(slices);
    const size_t extra = n % static_cast<size_t>(slices);
    size_t offset = 0;
    std::vector<Value> out;
    for (size_t i = 0; i < static_cast<size_t>(slices); ++i) {
        const size_t start = offset + i * per;
        if (i < extra) ++offset;
        const size_t end = offset + (i + 1) * per;
        std::vector<Value> part(items.begin() + static_cast<std::ptrdiff_t>(start),
                                items.begin() + static_cast<std::ptrdiff_t>(end));
        if (!fill.is_none() && i >= extra) part.push_back(fill);
        out.push_back(rt.make_list(std::move(part)));
    }
    return rt.make_list(std::move(out));
}

Value f_sort(Runtime& rt, const Value& v, const Args& a) {
    const bool rev = truthy(a.get(0, "reverse"));
    const bool cs = truthy(a.get(1, "case_sensitive"));
    const Value attribute = a.get(2, "attribute", Value::none());
    auto items = iterate(rt, v);
    std::vector<std::pair<Value, Value>> keyed;
    for (Value& item : items) {
        Value k = sort_key(rt, item, attribute, cs);
        keyed.emplace_back(std::move(k), std::move(item));
    }
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
        return rev ? compare(y.first, x.first) < 0 : compare(x.first, y.first) < 0;
    });
    std::vector<Value> out;
    for (auto& kv : keyed) out.push_back(std::move(kv.second));
    return rt.make_list(std::move(out));
}

Value f_string(Runtime& rt, const Value& v, const Args&) {
    return v.is_string() ? v : rt.new_string(to_str(v));
}
// (a Markup stays Markup: `is_string()` covers it)

Value f_sum(Runtime& rt, const Value& v, const Args& a) {
    const Value attribute = a.get(0, "attribute", Value::none());
    Value total = a.get(1, "start", Value::integer(0));
    for (const Value& item : iterate(rt, v)) {
        total = binary(rt, BinOp::Add, total,
                       attribute.is_none() ? item : attr_path(rt, item, attribute));
    }
    return total;
}

Value f_title(Runtime& rt, const Value& v, const Args&) {
    return like(rt, v, jinja_title(to_str(v)));
}

Value f_tojson(Runtime& rt, const Value& v, const Args& a) {
    JsonOptions o;
    o.ensure_ascii = truthy(a.get(0, "ensure_ascii", Value::boolean(false)));
    const Value indent = a.get(1, "indent", Value::none());
    if (!indent.is_none()) {
        o.pretty = true;
        o.item_sep = ",";
        if (indent.is_string()) {
            o.indent_str = indent.str();
        } else {
            const int64_t n = to_index(indent, "indent");
            if (n > 1000) fail("indent too large");
            o.indent_str.assign(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
        }
    }
    const Value seps = a.get(2, "separators", Value::none());
    if (!seps.is_none()) {
        if (!seps.is_list() || seps.as_list()->items.size() != 2)
            fail("separators must be a pair of strings");
        o.item_sep = need_string(seps.as_list()->items[0], "separator");
        o.key_sep = need_string(seps.as_list()->items[1], "separator");
    }
    o.sort_keys = truthy(a.get(3, "sort_keys"));
    return rt.new_string(to_json(rt, v, o));
}

Value f_trim(Runtime& rt, const Value& v, const Args& a) {
    const Value chars = a.get(0, "chars", Value::none());
    if (chars.is_none()) return like(rt, v, py_strip(to_str(v), nullptr, true, true));
    const std::string c = need_string(chars, "chars");
    return like(rt, v, py_strip(to_str(v), &c, true, true));
}

Value f_truncate(Runtime& rt, const Value& v, const Args& a) {
    const std::u32string s = decode_utf8(to_str(v));
    const int64_t len = to_index(a.get(0, "length", Value::integer(255)), "length");
    const bool killwords = truthy(a.get(1, "killwords"));
    const std::u32string end = decode_utf8(to_str(a.get(2, "end", Value::string("..."))));
    const int64_t leeway = to_index(a.get(3, "leeway", Value::integer(5)), "leeway");
    if (len < static_cast<int64_t>(end.size()))
        fail("expected length >= " + std::to_string(end.size()));
    if (static_cast<int64_t>(s.size()) <= len + leeway) return rt.new_string(encode_utf8(s));
    std::u32string head = s.substr(0, static_cast<size_t>(len - static_cast<int64_t>(end.size())));
    if (!killwords) {
        const size_t sp = head.rfind(U' ');
        if (sp != std::u32string::npos) head.resize(sp);
    }
    return rt.new_string(encode_utf8(head + end));
}

Value f_unique(Runtime& rt, const Value& v, const Args& a) {
    const bool cs = truthy(a.get(0, "case_sensitive"));
    const Value attribute = a.get(1, "attribute", Value::none());
    std::vector<Value> out;
    std::vector<Value> seen;
    for (const Value& item : iterate(rt, v)) {
        Value k = sort_key(rt, item, attribute, cs);
        rt.charge(seen.size());
        if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) {
            seen.push_back(std::move(k));
            out.push_back(item);
        }
    }
    return rt.make_list(std::move(out));
}

Value f_wordcount(Runtime&, const Value& v, const Args&) {
    int64_t n = 0;
    bool in_word = false;
    for (char32_t c : decode_utf8(to_str(v))) {
        const bool w = cp_isalpha(c) || cp_isdigit(c) || c == '_' || (c >= 0x80 && !py_isspace(c));
        if (w && !in_word) ++n;
        in_word = w;
    }
    return Value::integer(n);
}

Value f_pprint(Runtime& rt, const Value& v, const Args&) {
    return rt.new_string(repr(v));
}

const std::unordered_map<std::string, FilterFn>& filter_table() {
    static const std::unordered_map<std::string, FilterFn> table = {
        {"abs", f_abs},
        {"attr", f_attr},
        {"batch", f_batch},
        {"capitalize", f_capitalize},
        {"center", f_center},
        {"count", f_length},
        {"d", f_default},
        {"default", f_default},
        {"dictsort", f_dictsort},
        {"e", f_escape},
        {"escape", f_escape},
        {"first", f_first},
        {"float", f_float},
        {"forceescape", f_forceescape},
        {"format", f_format},
        {"indent", f_indent},
        {"int", f_int},
        {"items", f_items},
        {"join", f_join},
        {"last", f_last},
        {"length", f_length},
        {"list", f_list},
        {"lower", f_lower},
        {"map", f_map},
        {"max", f_max},
        {"min", f_min},
        {"pprint", f_pprint},
        {"reject", f_reject},
        {"rejectattr", f_rejectattr},
        {"replace", f_replace},
        {"reverse", f_reverse},
        {"round", f_round},
        {"safe", f_safe},
        {"select", f_select},
        {"selectattr", f_selectattr},
        {"slice", f_slice},
        {"sort", f_sort},
        {"string", f_string},
        {"sum", f_sum},
        {"title", f_title},
        {"tojson", f_tojson},
        {"trim", f_trim},
        {"truncate", f_truncate},
        {"unique", f_unique},
        {"upper", f_upper},
        {"wordcount", f_wordcount},
    };
    return table;
}

}  // namespace

bool filter_exists(const std::string& name) {
    return filter_table().count(name) != 0;
}

Value apply_filter(Runtime& rt, const std::string& name, const Value& input, const Args& args) {
    const auto& table = filter_table();
    const auto it = table.find(name);
    if (it == table.end()) fail("No filter named '" + name + "'.");
    rt.charge();
    return it->second(rt, input, args);
}

}  // namespace uma::jinja
