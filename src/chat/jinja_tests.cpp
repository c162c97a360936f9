// Jinja's built-in tests (`x is defined`, `x is divisibleby 3`, ...), as jinja2/tests.py.
#include <cmath>
#include <unordered_map>

#include "chat/jinja_builtins.h"
#include "chat/jinja_text.h"

namespace uma::jinja {

namespace {

using TestFn = bool (*)(Runtime&, const Value&, const Args&);

const Value& arg0(const Args& a) {
    static const Value undefined{};
    if (!a.pos.empty()) return a.pos[0];
    if (!a.kw.empty()) return a.kw[0].second;
    return undefined;
}

bool is_zero_mod(Runtime& rt, const Value& v, const Value& divisor, int64_t expect) {
    const Value r = binary(rt, BinOp::Mod, v, divisor);
    return r.is_number() && r.as_float() == static_cast<double>(expect);
}

bool t_defined(Runtime&, const Value& v, const Args&) {
    return !v.is_undefined();
}
bool t_undefined(Runtime&, const Value& v, const Args&) {
    return v.is_undefined();
}
bool t_none(Runtime&, const Value& v, const Args&) {
    return v.is_none();
}
bool t_boolean(Runtime&, const Value& v, const Args&) {
    return v.is_bool();
}
bool t_true(Runtime&, const Value& v, const Args&) {
    return v.is_bool() && v.as_bool();
}
bool t_false(Runtime&, const Value& v, const Args&) {
    return v.is_bool() && !v.as_bool();
}
bool t_integer(Runtime&, const Value& v, const Args&) {
    return v.is_int();
}
bool t_float(Runtime&, const Value& v, const Args&) {
    return v.is_float();
}
bool t_number(Runtime&, const Value& v, const Args&) {
    return v.is_number();
}
bool t_string(Runtime&, const Value& v, const Args&) {
    return v.is_string();
}
bool t_mapping(Runtime&, const Value& v, const Args&) {
    return v.is_dict();
}
bool t_iterable(Runtime&, const Value& v, const Args&) {
    return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined() || v.is_loop();
}
bool t_sequence(Runtime&, const Value& v, const Args&) {
    return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
// Jinja's Undefined defines __call__, so it counts as callable.
bool t_callable(Runtime&, const Value& v, const Args&) {
    return v.is_func() || v.is_loop() || v.is_undefined();
}
bool t_escaped(Runtime&, const Value& v, const Args&) {
    return v.is_markup();
}
bool t_odd(Runtime& rt, const Value& v, const Args&) {
    return is_zero_mod(rt, v, Value::integer(2), 1);
}
bool t_even(Runtime& rt, const Value& v, const Args&) {
    return is_zero_mod(rt, v, Value::integer(2), 0);
}
bool t_divisibleby(Runtime& rt, const Value& v, const Args& a) {
    return is_zero_mod(rt, v, a.get(0, "num"), 0);
}
bool t_lower(Runtime&, const Value& v, const Args&) {
    const std::string s = to_str(v);
    bool cased = false;
    for (char32_t c : decode_utf8(s)) {
        if (cp_upper(c) != c)
            cased = true;
        else if (cp_lower(c) != c)
            return false;
    }
    return cased;
}
bool t_upper(Runtime&, const Value& v, const Args&) {
    const std::string s = to_str(v);
    bool cased = false;
    for (char32_t c : decode_utf8(s)) {
        if (cp_lower(c) != c)
            cased = true;
        else if (cp_upper(c) != c)
            return false;
    }
    return cased;
}
bool t_sameas(Runtime&, const Value& v, const Args& a) {
    const Value& o = arg0(a);
    if (v.kind() != o.kind()) return false;
    if (v.object() || o.object()) return v.object() == o.object();
    return equals(v, o);
}
bool t_in(Runtime&, const Value& v, const Args& a) {
    return contains(arg0(a), v);
}
bool t_eq(Runtime&, const Value& v, const Args& a) {
    return equals(v, arg0(a));
}
bool t_ne(Runtime&, const Value& v, const Args& a) {
    return !equals(v, arg0(a));
}
bool t_lt(Runtime&, const Value& v, const Args& a) {
    return py_order(Order::Lt, v, arg0(a));
}
bool t_le(Runtime&, const Value& v, const Args& a) {
    return py_order(Order::Le, v, arg0(a));
}
bool t_gt(Runtime&, const Value& v, const Args& a) {
    return py_order(Order::Gt, v, arg0(a));
}
bool t_ge(Runtime&, const Value& v, const Args& a) {
    return py_order(Order::Ge, v, arg0(a));
}
bool t_filter(Runtime&, const Value& v, const Args&) {
    return v.is_string() && filter_exists(v.str());
}
bool t_test(Runtime&, const Value& v, const Args&) {
    return v.is_string() && test_exists(v.str());
}

const std::unordered_map<std::string, TestFn>& test_table() {
    static const std::unordered_map<std::string, TestFn> table = {
        {"defined", t_defined},
        {"undefined", t_undefined},
        {"none", t_none},
        {"boolean", t_boolean},
        {"true", t_true},
        {"false", t_false},
        {"integer", t_integer},
        {"float", t_float},
        {"number", t_number},
        {"string", t_string},
        {"mapping", t_mapping},
        {"iterable", t_iterable},
        {"sequence", t_sequence},
        {"callable", t_callable},
        {"escaped", t_escaped},
        {"odd", t_odd},
        {"even", t_even},
        {"divisibleby", t_divisibleby},
        {"lower", t_lower},
        {"upper", t_upper},
        {"sameas", t_sameas},
        {"in", t_in},
        {"eq", t_eq},
        {"equalto", t_eq},
        {"==", t_eq},
        {"ne", t_ne},
        {"!=", t_ne},
        {"lt", t_lt},
        {"lessthan", t_lt},
        {"<", t_lt},
        {"le", t_le},
        {"<=", t_le},
        {"gt", t_gt},
        {"greaterthan", t_gt},
        {">", t_gt},
        {"ge", t_ge},
        {">=", t_ge},
        {"filter", t_filter},
        {"test", t_test},
    };
    return table;
}

}  // namespace

bool test_exists(const std::string& name) {
    return test_table().count(name) != 0;
}

bool apply_test(Runtime& rt, const std::string& name, const Value& input, const Args& args) {
    const auto& table = test_table();
    const auto it = table.find(name);
    if (it == table.end()) fail("No test named '" + name + "'.");
    rt.charge();
    return it->second(rt, input, args);
}

}  // namespace uma::jinja
