#include "chat/jinja_value.h"

#include <algorithm>
#include <cmath>

#include "chat/jinja_text.h"

namespace uma::jinja {

void fail(const std::string& msg) {
    throw RuntimeError(msg);
}

// ---------------------------------------------------------------- construction

Value Value::undefined(std::string hint) {
    Value v;
    if (!hint.empty()) v.s_ = std::make_shared<const std::string>(std::move(hint));
    return v;
}
Value Value::none() {
    Value v;
    v.kind_ = Kind::None;
    return v;
}
Value Value::boolean(bool b) {
    Value v;
    v.kind_ = Kind::Bool;
    v.b_ = b;
    return v;
}
Value Value::integer(int64_t i) {
    Value v;
    v.kind_ = Kind::Int;
    v.i_ = i;
    return v;
}
Value Value::number(double f) {
    Value v;
    v.kind_ = Kind::Float;
    v.f_ = f;
    return v;
}
Value Value::string(std::string s) {
    return string_shared(std::make_shared<const std::string>(std::move(s)));
}
Value Value::string_shared(std::shared_ptr<const std::string> s) {
    Value v;
    v.kind_ = Kind::String;
    v.s_ = std::move(s);
    return v;
}
Value Value::markup(std::string s) {
    Value v = string(std::move(s));
    v.markup_ = true;
    return v;
}
Value Value::list(ListObj* l) {
    Value v;
    v.kind_ = Kind::List;
    v.obj_ = l;
    return v;
}
Value Value::dict(DictObj* d) {
    Value v;
    v.kind_ = Kind::Dict;
    v.obj_ = d;
    return v;
}
Value Value::ns(DictObj* d) {
    Value v;
    v.kind_ = Kind::Namespace;
    v.obj_ = d;
    return v;
}
Value Value::func(FuncObj* f) {
    Value v;
    v.kind_ = Kind::Func;
    v.obj_ = f;
    return v;
}
Value Value::loop(LoopObj* l) {
    Value v;
    v.kind_ = Kind::Loop;
    v.obj_ = l;
    return v;
}

// ---------------------------------------------------------------- containers

int64_t DictObj::find(const Value& key) const {
    if (key.is_string()) return find(std::string_view(key.str()));
    for (size_t i = 0; i < entries.size(); ++i) {
        if (equals(entries[i].first, key)) return static_cast<int64_t>(i);
    }
    return -1;
}

int64_t DictObj::find(std::string_view key) const {
    for (size_t i = 0; i < entries.size(); ++i) {
        const Value& k = entries[i].first;
        if (k.is_string() && k.str() == key) return static_cast<int64_t>(i);
    }
    return -1;
}

const Value* DictObj::get(std::string_view key) const {
    const int64_t i = find(key);
    return i < 0 ? nullptr : &entries[static_cast<size_t>(i)].second;
}

void DictObj::set(const Value& key, Value v) {
    const int64_t i = find(key);
    if (i >= 0) {
        entries[static_cast<size_t>(i)].second = std::move(v);
    } else {
        entries.emplace_back(key, std::move(v));
    }
}

void DictObj::set(std::string_view key, Value v) {
    const int64_t i = find(key);
    if (i >= 0) {
        entries[static_cast<size_t>(i)].second = std::move(v);
    } else {
        entries.emplace_back(Value::string(std::string(key)), std::move(v));
    }
}

Value Args::get(size_t index, std::string_view name, Value def) const {
    if (const Value* v = kwarg(name)) return *v;
    if (index < pos.size()) return pos[index];
    return def;
}

const Value* Args::kwarg(std::string_view name) const {
    for (const auto& [k, v] : kw) {
        if (k == name) return &v;
    }
    return nullptr;
}

// ---------------------------------------------------------------- runtime

namespace {
thread_local Runtime* tl_runtime = nullptr;
const Limits kDefaultLimits;
const Limits& active_limits() {
    return tl_runtime ? tl_runtime->limits() : kDefaultLimits;
}
}  // namespace

template <class T>
T* Runtime::track(std::unique_ptr<T> p) {
    if (objects_.size() >= limits_.max_objects) fail("render object limit exceeded");
    charge();
    T* raw = p.get();
    objects_.push_back(std::move(p));
    return raw;
}

ListObj* Runtime::new_list(bool tuple) {
    auto* l = track(std::make_unique<ListObj>());
    l->tuple = tuple;
    return l;
}
DictObj* Runtime::new_dict() {
    return track(std::make_unique<DictObj>());
}
FuncObj* Runtime::new_func() {
    return track(std::make_unique<FuncObj>());
}
LoopObj* Runtime::new_loop() {
    return track(std::make_unique<LoopObj>());
}

Value Runtime::make_list(std::vector<Value> items, bool tuple) {
    charge(items.size());
    ListObj* l = new_list(tuple);
    l->items = std::move(items);
    return Value::list(l);
}

Value Runtime::make_builtin(std::string name, BuiltinFn fn) {
    FuncObj* f = new_func();
    f->type = FuncObj::Type::Builtin;
    f->name = std::move(name);
    f->fn = fn;
    return Value::func(f);
}

Value Runtime::make_method(Value self, std::string name) {
    FuncObj* f = new_func();
    f->type = FuncObj::Type::Method;
    f->name = std::move(name);
    f->self = std::move(self);
    return Value::func(f);
}

std::tm Runtime::now() const {
    if (clock_) return clock_();
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    localtime_r(&t, &tm);
    return tm;
}

RuntimeScope::RuntimeScope(Runtime& rt) : prev_(tl_runtime) {
    tl_runtime = &rt;
}
RuntimeScope::~RuntimeScope() {
    tl_runtime = prev_;
}

// ---------------------------------------------------------------- Python semantics

const char* type_name(const Value& v) {
    switch (v.kind()) {
        case Kind::Undefined:
            return "Undefined";
        case Kind::None:
            return "NoneType";
        case Kind::Bool:
            return "bool";
        case Kind::Int:
            return "int";
        case Kind::Float:
            return "float";
        case Kind::String:
            return "str";
        case Kind::List:
            return v.as_list()->tuple ? "tuple" : "list";
        case Kind::Dict:
            return "dict";
        case Kind::Namespace:
            return "Namespace";
        case Kind::Func:
            return "function";
        case Kind::Loop:
            return "LoopContext";
    }
    return "object";
}

[[noreturn]] static void fail_undefined(const Value& v) {
    fail(v.hint().empty() ? std::string("value is undefined") : v.hint());
}

bool truthy(const Value& v) {
    switch (v.kind()) {
        case Kind::Undefined:
        case Kind::None:
            return false;
        case Kind::Bool:
            return v.as_bool();
        case Kind::Int:
            return v.as_int() != 0;
        case Kind::Float:
            return v.as_float() != 0.0;
        case Kind::String:
            return !v.str().empty();
        case Kind::List:
            return !v.as_list()->items.empty();
        case Kind::Dict:
            return !v.as_dict()->entries.empty();
        default:
            return true;
    }
}

namespace {

struct Printer {
    std::string out;
    size_t limit;
    int max_depth;

    void check(int depth) {
        if (depth > max_depth) fail("value nested too deeply to print");
        if (out.size() > limit) fail("string value exceeds the size limit");
    }

    void str(const Value& v, int depth) {
        switch (v.kind()) {
            case Kind::Undefined:
                return;
            case Kind::String:
                out += v.str();
                return;
            default:
                repr(v, depth);
        }
    }

    void repr(const Value& v, int depth) {
        check(depth);
        switch (v.kind()) {
            case Kind::Undefined:
                out += "Undefined";
                return;
            case Kind::None:
                out += "None";
                return;
            case Kind::Bool:
                out += v.as_bool() ? "True" : "False";
                return;
            case Kind::Int:
                out += std::to_string(v.as_int());
                return;
            case Kind::Float:
                out += py_float_repr(v.as_float());
                return;
            case Kind::String:
                if (v.is_markup()) {
                    out += "Markup(" + py_str_repr(v.str()) + ")";
                } else {
                    out += py_str_repr(v.str());
                }
                return;
            case Kind::List: {
                const ListObj* l = v.as_list();
                out.push_back(l->tuple ? '(' : '[');
                for (size_t i = 0; i < l->items.size(); ++i) {
                    if (i) out += ", ";
                    repr(l->items[i], depth + 1);
                }
                if (l->tuple && l->items.size() == 1) out.push_back(',');
                out.push_back(l->tuple ? ')' : ']');
                return;
            }
            case Kind::Dict:
            case Kind::Namespace: {
                if (v.is_namespace()) out += "<Namespace ";
                out.push_back('{');
                const DictObj* d = v.as_dict();
                for (size_t i = 0; i < d->entries.size(); ++i) {
                    if (i) out += ", ";
                    repr(d->entries[i].first, depth + 1);
                    out += ": ";
                    repr(d->entries[i].second, depth + 1);
                }
                out.push_back('}');
                if (v.is_namespace()) out.push_back('>');
                return;
            }
            case Kind::Func: {
                const FuncObj* f = v.as_func();
                out += f->type == FuncObj::Type::Macro ? "<Macro '" + f->name + "'>"
                                                       : "<built-in function " + f->name + ">";
                return;
            }
            case Kind::Loop: {
                const LoopObj* l = v.as_loop();
                out += "<LoopContext " + std::to_string(l->index0 + 1) + "/" +
                       std::to_string(l->items.size()) + ">";
                return;
            }
        }
    }
};

}  // namespace

std::string to_str(const Value& v) {
    if (v.is_string()) return v.str();
    const Limits& l = active_limits();
    Printer p{{}, l.max_string_bytes, l.max_value_depth};
    p.str(v, 0);
    p.check(0);
    return std::move(p.out);
}

std::string repr(const Value& v) {
    const Limits& l = active_limits();
    Printer p{{}, l.max_string_bytes, l.max_value_depth};
    p.repr(v, 0);
    p.check(0);
    return std::move(p.out);
}

bool equals(const Value& a, const Value& b, int depth) {
    if (depth > active_limits().max_value_depth) fail("value nested too deeply to compare");
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
        return a.as_int() == b.as_int();
    }
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case Kind::Undefined:
        case Kind::None:
            return true;
        case Kind::String:
            return a.str() == b.str();
        case Kind::List: {
            const ListObj* x = a.as_list();
            const ListObj* y = b.as_list();
            if (x == y) return true;
            if (x->tuple != y->tuple || x->items.size() != y->items.size()) return false;
            for (size_t i = 0; i < x->items.size(); ++i) {
                if (!equals(x->items[i], y->items[i], depth + 1)) return false;
            }
            return true;
        }
        case Kind::Dict: {
            const DictObj* x = a.as_dict();
            const DictObj* y = b.as_dict();
            if (x == y) return true;
            if (x->entries.size() != y->entries.size()) return false;
            for (const auto& [k, v] : x->entries) {
                const int64_t j = y->find(k);
                if (j < 0 || !equals(v, y->entries[static_cast<size_t>(j)].second, depth + 1))
                    return false;
            }
            return true;
        }
        case Kind::Func: {
            const FuncObj* x = a.as_func();
            const FuncObj* y = b.as_func();
            return x == y || (x->type == FuncObj::Type::Builtin && x->fn == y->fn);
        }
        default:
            return a.object() == b.object();
    }
}

int compare(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) {
            const double x = a.as_float();
            const double y = b.as_float();
            if (std::isnan(x) || std::isnan(y)) return std::isnan(x) - std::isnan(y);
            return x < y ? -1 : (x > y ? 1 : 0);
        }
        const int64_t x = a.as_int();
        const int64_t y = b.as_int();
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (a.is_string() && b.is_string()) {
        const int c = a.str().compare(b.str());
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    if (a.is_list() && b.is_list() && a.as_list()->tuple == b.as_list()->tuple) {
        const auto& x = a.as_list()->items;
        const auto& y = b.as_list()->items;
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            const int c = compare(x[i], y[i]);
            if (c != 0) return c;
        }
        return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
    }
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    fail(std::string("'<' not supported between instances of '") + type_name(a) + "' and '" +
         type_name(b) + "'");
}

bool py_order(Order op, const Value& a, const Value& b) {
    if (a.is_number() && b.is_number() && (a.is_float() || b.is_float())) {
        const double x = a.as_float();
        const double y = b.as_float();
        switch (op) {
            case Order::Lt:
                return x < y;
            case Order::Le:
                return x <= y;
            case Order::Gt:
                return x > y;
            case Order::Ge:
                return x >= y;
        }
    }
    const int c = compare(a, b);
    switch (op) {
        case Order::Lt:
            return c < 0;
        case Order::Le:
            return c <= 0;
        case Order::Gt:
            return c > 0;
        case Order::Ge:
            return c >= 0;
    }
    return false;
}

bool contains(const Value& container, const Value& item) {
    switch (container.kind()) {
        case Kind::String:
            if (!item.is_string()) {
                if (item.is_undefined()) fail_undefined(item);
                fail(std::string("'in <string>' requires string as left operand, not ") +
                     type_name(item));
            }
            return container.str().find(item.str()) != std::string::npos;
        case Kind::List:
            for (const Value& v : container.as_list()->items) {
                if (equals(v, item)) return true;
            }
            return false;
        case Kind::Dict:
            return container.as_dict()->find(item) >= 0;
        case Kind::Undefined:
            return false;
        default:
            fail(std::string("argument of type '") + type_name(container) + "' is not iterable");
    }
}

int64_t length(const Value& v) {
    switch (v.kind()) {
        case Kind::String:
            return static_cast<int64_t>(utf8_length(v.str()));
        case Kind::List:
            return static_cast<int64_t>(v.as_list()->items.size());
        case Kind::Dict:
            return static_cast<int64_t>(v.as_dict()->entries.size());
        case Kind::Undefined:
            return 0;
        case Kind::Loop:
            return static_cast<int64_t>(v.as_loop()->items.size());
        default:
            fail(std::string("object of type '") + type_name(v) + "' has no len()");
    }
}

std::vector<Value> iterate(Runtime& rt, const Value& v) {
    std::vector<Value> out;
    switch (v.kind()) {
        case Kind::List:
            out = v.as_list()->items;
            break;
        case Kind::Dict:
            out.reserve(v.as_dict()->entries.size());
            for (const auto& e : v.as_dict()->entries) out.push_back(e.first);
            break;
        case Kind::String:
            for (char32_t cp : decode_utf8(v.str())) {
                std::string s;
                append_utf8(s, cp);
                out.push_back(Value::string(std::move(s)));
            }
            break;
        case Kind::Undefined:
            break;
        case Kind::Loop:
            out = v.as_loop()->items;
            break;
        default:
            fail(std::string("'") + type_name(v) + "' object is not iterable");
    }
    rt.charge(out.size());
    return out;
}

// ---------------------------------------------------------------- arithmetic

[[noreturn]] static void bad_operands(const char* op, const Value& a, const Value& b) {
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    fail(std::string("unsupported operand type(s) for ") + op + ": '" + type_name(a) + "' and '" +
         type_name(b) + "'");
}

static Value int_pow(int64_t base, int64_t exp) {
    int64_t result = 1;
    int64_t b = base;
    bool overflow = false;
    while (exp > 0) {
        if (exp & 1) overflow |= __builtin_mul_overflow(result, b, &result);
        exp >>= 1;
        if (exp > 0) overflow |= __builtin_mul_overflow(b, b, &b);
        if (overflow) fail("integer overflow");
    }
    return Value::integer(result);
}

static Value repeat(Runtime& rt, const Value& seq, int64_t n) {
    if (n < 0) n = 0;
    if (seq.is_string()) {
        const std::string& s = seq.str();
        if (n > 0 && s.size() > rt.limits().max_string_bytes / static_cast<uint64_t>(n))
            fail("string value exceeds the size limit");
        std::string out;
        out.reserve(s.size() * static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) out += s;
        rt.charge(out.size() / 64);
        return seq.is_markup() ? Value::markup(std::move(out)) : rt.new_string(std::move(out));
    }
    const auto& items = seq.as_list()->items;
    if (n > 0 && items.size() > rt.limits().max_steps / static_cast<uint64_t>(n))
        fail("list value exceeds the size limit");
    std::vector<Value> out;
    for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
    return rt.make_list(std::move(out), seq.as_list()->tuple);
}

// Markup % args escapes the string arguments (markupsafe's _MarkupEscapeHelper).
static Value escape_args(Runtime& rt, const Value& args) {
    auto esc = [](const Value& v) {
        return v.is_string() && !v.is_markup() ? Value::markup(html_escape(v.str())) : v;
    };
    if (args.is_list() && args.as_list()->tuple) {
        std::vector<Value> items;
        for (const Value& v : args.as_list()->items) items.push_back(esc(v));
        return rt.make_list(std::move(items), true);
    }
    if (args.is_dict()) {
        DictObj* d = rt.new_dict();
        for (const auto& [k, v] : args.as_dict()->entries) d->set(k, esc(v));
        return Value::dict(d);
    }
    return esc(args);
}

Value binary(Runtime& rt, BinOp op, const Value& a, const Value& b) {
    const bool nums = a.is_number() && b.is_number();
    const bool ints = nums && !a.is_float() && !b.is_float();
    switch (op) {
        case BinOp::Add: {
            if (ints) {
                int64_t r;
                if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) fail("integer overflow");
                return Value::integer(r);
            }
            if (nums) return Value::number(a.as_float() + b.as_float());
            if (a.is_string() && b.is_string()) {
                if (a.is_markup() || b.is_markup()) {
                    std::string s = a.is_markup() ? a.str() : html_escape(a.str());
                    s += b.is_markup() ? b.str() : html_escape(b.str());
                    rt.check_string(s.size());
                    rt.charge(s.size() / 64);
                    return Value::markup(std::move(s));
                }
                rt.check_string(a.str().size() + b.str().size());
                return rt.new_string(a.str() + b.str());
            }
            if (a.is_list() && b.is_list() && a.as_list()->tuple == b.as_list()->tuple) {
                std::vector<Value> items = a.as_list()->items;
                const auto& more = b.as_list()->items;
                items.insert(items.end(), more.begin(), more.end());
                return rt.make_list(std::move(items), a.as_list()->tuple);
            }
            bad_operands("+", a, b);
        }
        case BinOp::Sub: {
            if (ints) {
                int64_t r;
                if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) fail("integer overflow");
                return Value::integer(r);
            }
            if (nums) return Value::number(a.as_float() - b.as_float());
            bad_operands("-", a, b);
        }
        case BinOp::Mul: {
            if (ints) {
                int64_t r;
                if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) fail("integer overflow");
                return Value::integer(r);
            }
            if (nums) return Value::number(a.as_float() * b.as_float());
            const bool a_seq = a.is_string() || a.is_list();
            const bool b_seq = b.is_string() || b.is_list();
            if (a_seq && b.is_number() && !b.is_float()) return repeat(rt, a, b.as_int());
            if (b_seq && a.is_number() && !a.is_float()) return repeat(rt, b, a.as_int());
            bad_operands("*", a, b);
        }
        case BinOp::Div: {
            if (!nums) bad_operands("/", a, b);
            if (b.as_float() == 0.0) fail("division by zero");
            return Value::number(a.as_float() / b.as_float());
        }
        case BinOp::FloorDiv: {
            if (!nums) bad_operands("//", a, b);
            if (ints) {
                const int64_t x = a.as_int();
                const int64_t y = b.as_int();
                if (y == 0) fail("integer division or modulo by zero");
                if (x == INT64_MIN && y == -1) fail("integer overflow");
                int64_t q = x / y;
                if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
                return Value::integer(q);
            }
            if (b.as_float() == 0.0) fail("float floor division by zero");
            return Value::number(std::floor(a.as_float() / b.as_float()));
        }
        case BinOp::Mod: {
            if (a.is_string()) {
                if (!a.is_markup()) return rt.new_string(percent_format(rt, a.str(), b));
                return Value::markup(percent_format(rt, a.str(), escape_args(rt, b)));
            }
            if (!nums) bad_operands("%", a, b);
            if (ints) {
                const int64_t x = a.as_int();
                const int64_t y = b.as_int();
                if (y == 0) fail("integer division or modulo by zero");
                if (y == -1) return Value::integer(0);
                int64_t r = x % y;
                if (r != 0 && ((r < 0) != (y < 0))) r += y;
                return Value::integer(r);
            }
            const double y = b.as_float();
            if (y == 0.0) fail("float modulo");
            double r = std::fmod(a.as_float(), y);
            if (r != 0 && ((r < 0) != (y < 0))) r += y;
            return Value::number(r);
        }
        case BinOp::Pow: {
            if (!nums) bad_operands("** or pow()", a, b);
            if (ints && b.as_int() >= 0) return int_pow(a.as_int(), b.as_int());
            const double x = a.as_float();
            const double y = b.as_float();
            if (x == 0.0 && y < 0) fail("0.0 cannot be raised to a negative power");
            if (x < 0 && y != std::floor(y))
                fail("negative number cannot be raised to a fractional power");
            return Value::number(std::pow(x, y));
        }
    }
    fail("bad operator");
}

Value negate(const Value& v) {
    if (v.is_float()) return Value::number(-v.as_float());
    if (v.is_number()) {
        if (v.as_int() == INT64_MIN) fail("integer overflow");
        return Value::integer(-v.as_int());
    }
    if (v.is_undefined()) fail_undefined(v);
    fail(std::string("bad operand type for unary -: '") + type_name(v) + "'");
}

}  // namespace uma::jinja
