#include "chat/jinja_eval.h"

#include <cstdint>

#include "chat/jinja_builtins.h"
#include "uma/core/error.h"

namespace uma::jinja {

namespace {

enum class Flow { Normal, Break, Continue };

using FramePtr = std::shared_ptr<Frame>;

class Interpreter {
  public:
    Interpreter(Runtime& rt, size_t max_stack_bytes) : rt_(rt), max_stack_(max_stack_bytes) {}

    std::string render(const Program& prog, const Value& context) {
        stack_base_ = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
        auto globals = std::make_shared<Frame>();
        DictObj* g = rt_.new_dict();
        add_globals(rt_, *g);
        for (const auto& [k, v] : g->entries) globals->set(k.str(), v);
        auto top = std::make_shared<Frame>();
        top->parent = globals;
        if (context.is_dict()) {
            for (const auto& [k, v] : context.as_dict()->entries) {
                if (k.is_string()) top->set(k.str(), v);
            }
        }
        std::string out;
        out_ = &out;
        exec_body(prog.body, top);
        return out;
    }

  private:
    // ------------------------------------------------------------ helpers
    void guard() {
        rt_.charge();
        const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
        if (stack_base_ > here && stack_base_ - here > max_stack_)
            fail("template recursion too deep");
    }

    void emit(const std::string& s) {
        out_->append(s);
        if (out_->size() > rt_.limits().max_string_bytes)
            fail("rendered output exceeds the size limit");
    }

    [[noreturn]] static void rethrow_at(SourcePos pos, const RuntimeError& e) {
        throw Error(error_at(pos, e.what()));
    }

    std::string capture(const Body& body, const FramePtr& frame) {
        std::string buf;
        std::string* saved = out_;
        out_ = &buf;
        try {
            exec_body(body, frame);
        } catch (...) {
            out_ = saved;
            throw;
        }
        out_ = saved;
        return buf;
    }

    Value lookup(const Frame& f, const std::string& name) {
        if (const Value* v = f.find(name)) return *v;
        return Value::undefined("'" + name + "' is undefined");
    }

    // ------------------------------------------------------------ statements
    Flow exec_body(const Body& body, const FramePtr& frame) {
        for (const auto& s : body) {
            const Flow fl = exec(*s, frame);
            if (fl != Flow::Normal) return fl;
        }
        return Flow::Normal;
    }

    Flow exec(const Stmt& s, const FramePtr& frame) {
        try {
            guard();
            return exec_inner(s, frame);
        } catch (const RuntimeError& e) {
            rethrow_at(s.pos, e);
        }
    }

    Flow exec_inner(const Stmt& s, const FramePtr& frame) {
        switch (s.kind) {
            case StmtKind::Text:
                emit(s.text);
                return Flow::Normal;
            case StmtKind::Output:
                emit(to_str(eval(*s.expr, *frame)));
                return Flow::Normal;
            case StmtKind::If:
                for (const auto& [cond, body] : s.branches) {
                    if (truthy(eval(*cond, *frame))) return exec_body(body, frame);
                }
                return exec_body(s.else_body, frame);
            case StmtKind::For: {
                const Value iterable = eval(*s.expr, *frame);
                run_for(s, iterate(rt_, iterable), 1, frame);
                return Flow::Normal;
            }
            case StmtKind::Set:
                assign(s, eval(*s.expr, *frame), *frame);
                return Flow::Normal;
            case StmtKind::SetBlock: {
                Value v = rt_.new_string(capture(s.body, frame));
                if (s.expr) v = with_placeholder(std::move(v), *s.expr, *frame);
                assign(s, std::move(v), *frame);
                return Flow::Normal;
            }
            case StmtKind::Macro: {
                frame->set(s.macro->name, make_macro(*s.macro, frame));
                return Flow::Normal;
            }
            case StmtKind::CallBlock: {
                const Value caller = make_macro(*s.macro, frame);
                emit(to_str(call_expr(*s.expr, *frame, &caller)));
                return Flow::Normal;
            }
            case StmtKind::FilterBlock: {
                Value body = rt_.new_string(capture(s.body, frame));
                emit(to_str(with_placeholder(std::move(body), *s.expr, *frame)));
                return Flow::Normal;
            }
            case StmtKind::Break:
                return Flow::Break;
            case StmtKind::Continue:
                return Flow::Continue;
            case StmtKind::Do:
                eval(*s.expr, *frame);
                return Flow::Normal;
            case StmtKind::With: {
                auto inner = std::make_shared<Frame>();
                inner->parent = frame;
                std::vector<Value> values;
                for (const auto& [name, e] : s.assigns) values.push_back(eval(*e, *frame));
                for (size_t i = 0; i < values.size(); ++i)
                    inner->set(s.assigns[i].first, values[i]);
                return exec_body(s.body, inner);
            }
            case StmtKind::Scope:
                return exec_body(s.body, frame);
        }
        return Flow::Normal;
    }

    Value with_placeholder(Value v, const Expr& e, Frame& frame) {
        Value saved = std::exchange(placeholder_, std::move(v));
        try {
            Value r = eval(e, frame);
            placeholder_ = std::move(saved);
            return r;
        } catch (...) {
            placeholder_ = std::move(saved);
            throw;
        }
    }

    void unpack(const std::vector<std::string>& names, const Value& v, Frame& frame) {
        const auto items = iterate(rt_, v);
        if (items.size() != names.size()) {
            if (items.size() > names.size())
                fail("too many values to unpack (expected " + std::to_string(names.size()) + ")");
            fail("not enough values to unpack (expected " + std::to_string(names.size()) +
                 ", got " + std::to_string(items.size()) + ")");
        }
        for (size_t i = 0; i < names.size(); ++i) frame.set(names[i], items[i]);
    }

    void assign(const Stmt& s, Value v, Frame& frame) {
        if (!s.ns_attr.empty()) {
            const Value target = lookup(frame, s.targets[0]);
            if (!target.is_namespace()) fail("cannot assign attribute on non-namespace object");
            target.as_dict()->set(std::string_view(s.ns_attr), std::move(v));
        } else if (s.target_tuple) {
            unpack(s.targets, v, frame);
        } else {
            frame.set(s.targets[0], std::move(v));
        }
    }

    void bind_target(const Stmt& s, const Value& item, Frame& frame) {
        if (s.target_tuple) {
            unpack(s.targets, item, frame);
        } else {
            frame.set(s.targets[0], item);
        }
    }

    void run_for(const Stmt& s, std::vector<Value> items, int depth, const FramePtr& frame) {
        if (s.cond) {
            std::vector<Value> kept;
            for (Value& item : items) {
                Frame probe;
                probe.parent = frame;
                bind_target(s, item, probe);
                if (truthy(eval(*s.cond, probe))) kept.push_back(std::move(item));
            }
            items = std::move(kept);
        }
        if (items.empty()) {
            auto inner = std::make_shared<Frame>();
            inner->parent = frame;
            exec_body(s.else_body, inner);
            return;
        }
        LoopObj* loop = rt_.new_loop();
        loop->items = std::move(items);
        loop->depth = depth;
        if (s.recursive) {
            loop->node = &s;
            loop->frame = frame;
        }
        const Value loop_value = Value::loop(loop);
        for (size_t i = 0; i < loop->items.size(); ++i) {
            loop->index0 = i;
            auto iter = std::make_shared<Frame>();
            iter->parent = frame;
            bind_target(s, loop->items[i], *iter);
            iter->set("loop", loop_value);
            if (exec_body(s.body, iter) == Flow::Break) break;
        }
    }

    Value make_macro(const MacroDef& def, const FramePtr& closure) {
        FuncObj* f = rt_.new_func();
        f->type = FuncObj::Type::Macro;
        f->name = def.name;
        f->macro = &def;
        f->closure = closure;
        return Value::func(f);
    }

    // ------------------------------------------------------------ calls
    Args eval_args(const Expr& e, size_t first, Frame& frame) {
        Args a;
        for (size_t i = first; i < e.args.size(); ++i) a.pos.push_back(eval(*e.args[i], frame));
        if (e.dyn_args) {
            for (Value& v : iterate(rt_, eval(*e.dyn_args, frame))) a.pos.push_back(std::move(v));
        }
        for (const auto& [k, v] : e.kwargs) a.kw.emplace_back(k, eval(*v, frame));
        if (e.dyn_kwargs) {
            const Value d = eval(*e.dyn_kwargs, frame);
            if (!d.is_dict())
                fail("argument after ** must be a mapping, not " + std::string(type_name(d)));
            for (const auto& [k, v] : d.as_dict()->entries) {
                if (!k.is_string()) fail("keywords must be strings");
                a.kw.emplace_back(k.str(), v);
            }
        }
        return a;
    }

    Value call_expr(const Expr& e, Frame& frame, const Value* caller) {
        const Expr& callee = *e.args[0];
        if (callee.kind == ExprKind::Attr) {
            const Value obj = eval(*callee.args[0], frame);
            if (has_method(obj, callee.name)) {
                const Args args = eval_args(e, 1, frame);
                return call_method(rt_, obj, callee.name, args);
            }
            const Value fn = get_attr(rt_, obj, callee.name);
            return call_value(fn, eval_args(e, 1, frame), caller);
        }
        const Value fn = eval(callee, frame);
        return call_value(fn, eval_args(e, 1, frame), caller);
    }

    Value call_value(const Value& fn, const Args& args, const Value* caller) {
        if (fn.is_func()) {
            const FuncObj* f = fn.as_func();
            switch (f->type) {
                case FuncObj::Type::Builtin:
                    return f->fn(rt_, args);
                case FuncObj::Type::Method:
                    return call_method(rt_, f->self, f->name, args);
                case FuncObj::Type::Macro:
                    return call_macro(*f, args, caller);
            }
        }
        if (fn.is_loop()) {
            const LoopObj* l = fn.as_loop();
            if (!l->node)
                fail(
                    "Tried to call non recursive loop. Maybe you forgot the 'recursive' modifier.");
            if (args.pos.size() != 1) fail("loop() takes exactly one argument");
            CallDepth depth(*this);
            std::string buf;
            std::string* saved = out_;
            out_ = &buf;
            try {
                run_for(*static_cast<const Stmt*>(l->node), iterate(rt_, args.pos[0]), l->depth + 1,
                        l->frame);
            } catch (...) {
                out_ = saved;
                throw;
            }
            out_ = saved;
            return rt_.new_string(std::move(buf));
        }
        if (fn.is_undefined())
            fail(fn.hint().empty() ? "undefined value is not callable" : fn.hint());
        fail(std::string("'") + type_name(fn) + "' object is not callable");
    }

    struct CallDepth {
        Interpreter& in;
        explicit CallDepth(Interpreter& i) : in(i) {
            if (++in.call_depth_ > in.rt_.limits().max_call_depth)
                fail("maximum macro recursion depth exceeded");
        }
        ~CallDepth() { --in.call_depth_; }
    };

    Value call_macro(const FuncObj& f, const Args& args, const Value* caller) {
        CallDepth depth(*this);
        const MacroDef& m = *f.macro;
        auto frame = std::make_shared<Frame>();
        frame->parent = f.closure;
        const size_t np = m.params.size();
        std::vector<bool> bound(np, false);
        std::vector<Value> varargs;
        for (size_t i = 0; i < args.pos.size(); ++i) {
            if (i < np) {
                frame->set(m.params[i], args.pos[i]);
                bound[i] = true;
            } else {
                varargs.push_back(args.pos[i]);
            }
        }
        DictObj* kwargs = rt_.new_dict();
        for (const auto& [k, v] : args.kw) {
            size_t i = 0;
            while (i < np && m.params[i] != k) ++i;
            if (i == np) {
                kwargs->set(std::string_view(k), v);
                continue;
            }
            if (bound[i])
                fail("macro '" + m.name + "' got multiple values for argument '" + k + "'");
            frame->set(k, v);
            bound[i] = true;
        }
        for (size_t i = 0; i < np; ++i) {
            if (bound[i]) continue;
            if (m.defaults[i]) {
                frame->set(m.params[i], eval(*m.defaults[i], *frame));
            } else {
                frame->set(m.params[i], Value::undefined("'" + m.params[i] + "' is undefined"));
            }
        }
        frame->set("varargs", rt_.make_list(std::move(varargs), true));
        frame->set("kwargs", Value::dict(kwargs));
        if (caller) frame->set("caller", *caller);
        return rt_.new_string(capture(m.body, frame));
    }

    // ------------------------------------------------------------ expressions
    Value eval(const Expr& e, Frame& frame) {
        try {
            guard();
            return eval_inner(e, frame);
        } catch (const RuntimeError& err) {
            rethrow_at(e.pos, err);
        }
    }

    static bool compare_op(CmpOp op, const Value& a, const Value& b) {
        switch (op) {
            case CmpOp::Eq:
                return equals(a, b);
            case CmpOp::Ne:
                return !equals(a, b);
            case CmpOp::Lt:
                return py_order(Order::Lt, a, b);
            case CmpOp::Le:
                return py_order(Order::Le, a, b);
            case CmpOp::Gt:
                return py_order(Order::Gt, a, b);
            case CmpOp::Ge:
                return py_order(Order::Ge, a, b);
            case CmpOp::In:
                return contains(b, a);
            case CmpOp::NotIn:
                return !contains(b, a);
        }
        return false;
    }

    Value eval_inner(const Expr& e, Frame& frame) {
        switch (e.kind) {
            case ExprKind::Literal:
                return e.literal;
            case ExprKind::Name:
                return lookup(frame, e.name);
            case ExprKind::List:
            case ExprKind::Tuple: {
                std::vector<Value> items;
                items.reserve(e.args.size());
                for (const auto& a : e.args) items.push_back(eval(*a, frame));
                return rt_.make_list(std::move(items), e.kind == ExprKind::Tuple);
            }
            case ExprKind::Dict: {
                DictObj* d = rt_.new_dict();
                for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
                    Value k = eval(*e.args[i], frame);
                    if (k.is_list() && !k.as_list()->tuple) fail("unhashable type: 'list'");
                    if (k.is_dict() || k.is_namespace()) fail("unhashable type: 'dict'");
                    d->set(k, eval(*e.args[i + 1], frame));
                }
                return Value::dict(d);
            }
            case ExprKind::Attr:
                return get_attr(rt_, eval(*e.args[0], frame), e.name);
            case ExprKind::Item: {
                const Value obj = eval(*e.args[0], frame);
                const Expr& key = *e.args[1];
                if (key.kind == ExprKind::SliceSpec) {
                    auto part = [&](size_t i) {
                        return key.args[i] ? eval(*key.args[i], frame) : Value::none();
                    };
                    const Value a = part(0), b = part(1), c = part(2);
                    return slice(rt_, obj, a, b, c);
                }
                return get_item(rt_, obj, eval(key, frame));
            }
            case ExprKind::SliceSpec:
                fail("slice outside of a subscript");
            case ExprKind::Call:
                return call_expr(e, frame, nullptr);
            case ExprKind::Filter: {
                const Value input = eval(*e.args[0], frame);
                const Args args = eval_args(e, 1, frame);
                return apply_filter(rt_, e.name, input, args);
            }
            case ExprKind::Test: {
                const Value input = eval(*e.args[0], frame);
                const Args args = eval_args(e, 1, frame);
                return Value::boolean(apply_test(rt_, e.name, input, args) != e.negated);
            }
            case ExprKind::Not:
                return Value::boolean(!truthy(eval(*e.args[0], frame)));
            case ExprKind::Neg:
                return negate(eval(*e.args[0], frame));
            case ExprKind::Pos: {
                Value v = eval(*e.args[0], frame);
                if (!v.is_number())
                    fail(std::string("bad operand type for unary +: '") + type_name(v) + "'");
                return v.is_bool() ? Value::integer(v.as_int()) : v;
            }
            case ExprKind::Binary: {
                const Value a = eval(*e.args[0], frame);
                const Value b = eval(*e.args[1], frame);
                return binary(rt_, e.op, a, b);
            }
            case ExprKind::Concat: {
                std::string s;
                for (const auto& a : e.args) {
                    s += to_str(eval(*a, frame));
                    rt_.check_string(s.size());
                }
                return rt_.new_string(std::move(s));
            }
            case ExprKind::Compare: {
                Value left = eval(*e.args[0], frame);
                for (size_t i = 0; i < e.cmp_ops.size(); ++i) {
                    Value right = eval(*e.args[i + 1], frame);
                    if (!compare_op(e.cmp_ops[i], left, right)) return Value::boolean(false);
                    left = std::move(right);
                }
                return Value::boolean(true);
            }
            case ExprKind::And: {
                Value a = eval(*e.args[0], frame);
                return truthy(a) ? eval(*e.args[1], frame) : a;
            }
            case ExprKind::Or: {
                Value a = eval(*e.args[0], frame);
                return truthy(a) ? a : eval(*e.args[1], frame);
            }
            case ExprKind::Cond:
                if (truthy(eval(*e.args[1], frame))) return eval(*e.args[0], frame);
                if (e.args[2]) return eval(*e.args[2], frame);
                return Value::undefined(
                    "the inline if-expression evaluated to false and no else section was defined");
            case ExprKind::Placeholder:
                return placeholder_;
        }
        fail("unknown expression");
    }

    Runtime& rt_;
    size_t max_stack_;
    uintptr_t stack_base_ = 0;
    std::string* out_ = nullptr;
    Value placeholder_;
    int call_depth_ = 0;
};

}  // namespace

std::string render_program(const Program& program, Runtime& rt, const Value& context,
                           size_t max_stack_bytes) {
    RuntimeScope scope(rt);
    Interpreter in(rt, max_stack_bytes);
    try {
        return in.render(program, context);
    } catch (const RuntimeError& e) {
        throw Error(std::string("chat template: ") + e.what());
    } catch (const std::length_error&) {
        throw Error("chat template: string value exceeds the size limit");
    }
}

}  // namespace uma::jinja
