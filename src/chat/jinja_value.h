#pragma once
// Values of the Jinja interpreter, with Python semantics: undefined, None, bool, int, float, str,
// list/tuple, dict (insertion ordered), namespace, callables and the `loop` object.
//
// Containers live in a per-render Heap and values point at them without owning them, so that
// reference cycles (`ns.self = ns`, `l.append(l)`) can neither leak nor make destruction recurse;
// everything is freed at once when the render ends. Strings are immutable and shared.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace uma::jinja {

// A runtime error without position; the interpreter adds "chat template: L:C: " to it.
class RuntimeError : public std::runtime_error {
  public:
    explicit RuntimeError(const std::string& msg) : std::runtime_error(msg) {}
};

[[noreturn]] void fail(const std::string& msg);

enum class Kind : uint8_t {
    Undefined,
    None,
    Bool,
    Int,
    Float,
    String,
    List,
    Dict,
    Namespace,
    Func,
    Loop
};

struct Object {
    virtual ~Object() = default;
};
struct ListObj;
struct DictObj;
struct FuncObj;
struct LoopObj;

class Value {
  public:
    Value() = default;  // undefined
    static Value undefined(std::string hint = {});
    static Value none();
    static Value boolean(bool b);
    static Value integer(int64_t i);
    static Value number(double f);
    static Value string(std::string s);
    static Value string_shared(std::shared_ptr<const std::string> s);
    // A markupsafe.Markup string (from `|safe` / `|escape`): adding a plain string to it
    // HTML-escapes the plain one, as Jinja does.
    static Value markup(std::string s);
    static Value list(ListObj* l);
    static Value dict(DictObj* d);
    static Value ns(DictObj* d);
    static Value func(FuncObj* f);
    static Value loop(LoopObj* l);

    Kind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == Kind::Undefined; }
    bool is_none() const { return kind_ == Kind::None; }
    bool is_bool() const { return kind_ == Kind::Bool; }
    bool is_int() const { return kind_ == Kind::Int; }
    bool is_float() const { return kind_ == Kind::Float; }
    // int, float or bool (Python numbers; bool is an int subclass)
    bool is_number() const {
        return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool;
    }
    bool is_string() const { return kind_ == Kind::String; }
    bool is_markup() const { return kind_ == Kind::String && markup_; }
    bool is_list() const { return kind_ == Kind::List; }
    bool is_dict() const { return kind_ == Kind::Dict; }
    bool is_namespace() const { return kind_ == Kind::Namespace; }
    bool is_func() const { return kind_ == Kind::Func; }
    bool is_loop() const { return kind_ == Kind::Loop; }

    bool as_bool() const { return b_; }
    int64_t as_int() const { return kind_ == Kind::Bool ? (b_ ? 1 : 0) : i_; }
    double as_float() const { return kind_ == Kind::Float ? f_ : static_cast<double>(as_int()); }
    const std::string& str() const { return *s_; }
    const std::shared_ptr<const std::string>& shared_str() const { return s_; }
    // For undefined values: the name that was looked up, if known.
    std::string hint() const { return s_ ? *s_ : std::string(); }
    ListObj* as_list() const;
    DictObj* as_dict() const;
    FuncObj* as_func() const;
    LoopObj* as_loop() const;
    const Object* object() const { return obj_; }

  private:
    Kind kind_ = Kind::Undefined;
    bool markup_ = false;
    union {
        bool b_;
        int64_t i_ = 0;
        double f_;
    };
    std::shared_ptr<const std::string> s_;
    Object* obj_ = nullptr;
};

struct ListObj : Object {
    std::vector<Value> items;
    bool tuple = false;
};

struct DictObj : Object {
    std::vector<std::pair<Value, Value>> entries;
    // Index of `key` in entries or -1 (Python key equality: 1 == 1.0 == True).
    int64_t find(const Value& key) const;
    int64_t find(std::string_view key) const;
    const Value* get(std::string_view key) const;
    void set(const Value& key, Value v);
    void set(std::string_view key, Value v);
};

struct Args {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;
    // Python-style binding: keyword `name` wins, else positional `index`, else `def`.
    Value get(size_t index, std::string_view name, Value def = Value()) const;
    const Value* kwarg(std::string_view name) const;
};

struct Limits {
    size_t max_string_bytes = 64u << 20;  // any single string value (and the output)
    uint64_t max_steps = 50'000'000;      // evaluation steps (nodes, iterations, elements)
    size_t max_objects = 4'000'000;       // containers and callables created in one render
    int max_call_depth = 200;             // macro / recursive-loop nesting
    int max_value_depth = 500;            // nesting depth printed by repr / tojson
    int64_t max_range = 100'000;          // range() length, as Jinja's sandbox
};

class Runtime;
using BuiltinFn = Value (*)(Runtime&, const Args&);

struct Frame;
struct MacroDef;

struct FuncObj : Object {
    enum class Type { Macro, Builtin, Method } type = Type::Builtin;
    std::string name;
    // Macro / caller
    const MacroDef* macro = nullptr;
    std::shared_ptr<Frame> closure;
    Value caller;  // the `caller` a call block passes to its macro
    // Builtin
    BuiltinFn fn = nullptr;
    // Method: self.name(...)
    Value self;
};

struct LoopObj : Object {
    std::vector<Value> items;
    size_t index0 = 0;
    int depth = 1;
    const void* node = nullptr;  // the recursive for statement, or null
    std::shared_ptr<Frame> frame;
    std::vector<Value> last_changed;
    bool has_changed = false;
};

inline ListObj* Value::as_list() const {
    return static_cast<ListObj*>(obj_);
}
inline DictObj* Value::as_dict() const {
    return static_cast<DictObj*>(obj_);
}
inline FuncObj* Value::as_func() const {
    return static_cast<FuncObj*>(obj_);
}
inline LoopObj* Value::as_loop() const {
    return static_cast<LoopObj*>(obj_);
}

// Per-render state shared by the value operations: the heap, the limits and the clock.
class Runtime {
  public:
    explicit Runtime(Limits limits, std::function<std::tm()> clock = {})
        : limits_(limits), clock_(std::move(clock)) {}
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    ListObj* new_list(bool tuple = false);
    DictObj* new_dict();
    FuncObj* new_func();
    LoopObj* new_loop();
    Value make_list(std::vector<Value> items, bool tuple = false);
    Value make_builtin(std::string name, BuiltinFn fn);
    Value make_method(Value self, std::string name);

    // Counts work; throws when the step budget is spent.
    void charge(uint64_t n = 1) {
        steps_ += n;
        if (steps_ > limits_.max_steps) fail("render step limit exceeded (infinite loop?)");
    }
    void check_string(size_t bytes) const {
        if (bytes > limits_.max_string_bytes) fail("string value exceeds the size limit");
    }
    Value new_string(std::string s) {
        check_string(s.size());
        charge(1 + s.size() / 64);
        return Value::string(std::move(s));
    }
    const Limits& limits() const { return limits_; }
    std::tm now() const;

  private:
    template <class T>
    T* track(std::unique_ptr<T> p);
    Limits limits_;
    std::function<std::tm()> clock_;
    std::vector<std::unique_ptr<Object>> objects_;
    uint64_t steps_ = 0;
};

// Makes `rt` the runtime whose limits to_str / repr / equals use on this thread.
class RuntimeScope {
  public:
    explicit RuntimeScope(Runtime& rt);
    ~RuntimeScope();
    RuntimeScope(const RuntimeScope&) = delete;
    RuntimeScope& operator=(const RuntimeScope&) = delete;

  private:
    Runtime* prev_;
};

// ---- Python semantics ----
const char* type_name(const Value& v);
bool truthy(const Value& v);
std::string to_str(const Value& v);  // str()
std::string repr(const Value& v);    // repr()
bool equals(const Value& a, const Value& b, int depth = 0);
// Total order for sorting: <0, 0, >0 (NaN sorts last); throws for unorderable types.
int compare(const Value& a, const Value& b);
// Python's <, <=, >, >= (IEEE semantics for NaN).
enum class Order { Lt, Le, Gt, Ge };
bool py_order(Order op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
int64_t length(const Value& v);  // len(); throws for values without one
// Iteration as Python's iter(): lists, tuple, dict keys, string code points, undefined (empty).
std::vector<Value> iterate(Runtime& rt, const Value& v);

enum class BinOp { Add, Sub, Mul, Div, FloorDiv, Mod, Pow };
Value binary(Runtime& rt, BinOp op, const Value& a, const Value& b);
Value negate(const Value& v);

// Attribute (`a.b`) and item (`a[b]`) access with Jinja's fallbacks; missing gives undefined.
Value get_attr(Runtime& rt, const Value& obj, const std::string& name);
Value get_item(Runtime& rt, const Value& obj, const Value& key);
Value slice(Runtime& rt, const Value& obj, const Value& start, const Value& stop,
            const Value& step);

// Python's "%" operator on a format string.
std::string percent_format(Runtime& rt, const std::string& fmt, const Value& args);
// Python's str.format (positional / keyword fields, common format specs).
std::string str_format(Runtime& rt, const std::string& fmt, const Args& args);

// json.dumps(v, ensure_ascii, indent, separators, sort_keys).
struct JsonOptions {
    bool pretty = false;  // indent given: newlines and `indent_str` per level
    std::string indent_str;
    std::string item_sep = ", ";
    std::string key_sep = ": ";
    bool sort_keys = false;
    bool ensure_ascii = false;
};
std::string to_json(Runtime& rt, const Value& v, const JsonOptions& opts);

Value from_json(Runtime& rt, const nlohmann::ordered_json& j);

}  // namespace uma::jinja
