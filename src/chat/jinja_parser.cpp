// Recursive-descent parser for the Jinja subset chat templates use. The grammar and operator
// precedence follow jinja2/parser.py so that templates bind exactly as Jinja binds them.
#include <charconv>
#include <initializer_list>

#include "chat/jinja_ast.h"
#include "chat/jinja_text.h"
#include "uma/core/error.h"

namespace uma::jinja {

namespace {

std::string describe(const Token& t) {
    switch (t.type) {
        case Tok::Text: return "template data";
        case Tok::VarBegin: return "'{{'";
        case Tok::VarEnd: return "end of print statement";
        case Tok::BlockBegin: return "'{%'";
        case Tok::BlockEnd: return "end of statement block";
        case Tok::Name: return "'" + t.text + "'";
        case Tok::String: return "string";
        case Tok::Int: return "integer";
        case Tok::Float: return "float";
        case Tok::Op: return "'" + t.text + "'";
        case Tok::End: return "end of template";
    }
    return "token";
}

class Parser {
public:
    Parser(std::vector<Token> tokens, const ParseLimits& limits)
        : toks_(std::move(tokens)), limits_(limits) {}

    std::unique_ptr<Program> run() {
        auto prog = std::make_unique<Program>();
        prog->body = subparse({});
        if (cur().type != Tok::End) {
            // subparse only stops early on an end tag with no open block.
            fail_at(cur(), "unexpected " + describe(cur()));
        }
        return prog;
    }

private:
    // ------------------------------------------------------------ token helpers
    const Token& cur() const { return toks_[i_]; }
    const Token& peek(size_t k = 1) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
    const Token& next() {
        const Token& t = toks_[i_];
        if (i_ + 1 < toks_.size()) ++i_;
        return t;
    }
    bool is_op(std::string_view op) const { return cur().type == Tok::Op && cur().text == op; }
    bool is_name(std::string_view n) const { return cur().type == Tok::Name && cur().text == n; }
    bool skip_op(std::string_view op) {
        if (!is_op(op)) return false;
        next();
        return true;
    }
    bool skip_name(std::string_view n) {
        if (!is_name(n)) return false;
        next();
        return true;
    }

    [[noreturn]] void fail_at(const Token& t, const std::string& msg) const {
        throw Error(error_at(t.pos, msg));
    }

    void expect_op(std::string_view op) {
        if (!skip_op(op)) fail_at(cur(), "expected '" + std::string(op) + "', got " + describe(cur()));
    }
    std::string expect_name() {
        if (cur().type != Tok::Name) fail_at(cur(), "expected a name, got " + describe(cur()));
        return next().text;
    }
    void expect_block_end() {
        if (cur().type != Tok::BlockEnd)
            fail_at(cur(), "expected end of statement block, got " + describe(cur()));
        next();
    }

    // ------------------------------------------------------------ node helpers
    ExprPtr node(ExprKind k, SourcePos pos) {
        auto e = std::make_unique<Expr>();
        e->kind = k;
        e->pos = pos;
        return e;
    }
    ExprPtr add(ExprPtr parent, ExprPtr child) {
        if (child) {
            parent->height = std::max(parent->height, child->height + 1);
            if (parent->height > limits_.max_expr_height)
                throw Error(error_at(parent->pos, "expression nested too deeply"));
        }
        parent->args.push_back(std::move(child));
        return parent;
    }
    void add_kw(Expr& parent, std::string name, ExprPtr child) {
        parent.height = std::max(parent.height, child->height + 1);
        if (parent.height > limits_.max_expr_height)
            throw Error(error_at(parent.pos, "expression nested too deeply"));
        parent.kwargs.emplace_back(std::move(name), std::move(child));
    }
    ExprPtr unary(ExprKind k, SourcePos pos, ExprPtr x) { return add(node(k, pos), std::move(x)); }
    ExprPtr pair(ExprKind k, SourcePos pos, ExprPtr a, ExprPtr b) {
        return add(add(node(k, pos), std::move(a)), std::move(b));
    }

    // ------------------------------------------------------------ statements
    // Parses until a block tag whose name is in `ends`; stops on its name token.
    Body subparse(std::initializer_list<std::string_view> ends) {
        Body body;
        while (true) {
            const Token& t = cur();
            if (t.type == Tok::End) {
                if (ends.size() == 0) return body;
                std::string want;
                for (auto e : ends) want += (want.empty() ? "'" : " or '") + std::string(e) + "'";
                fail_at(t, "unexpected end of template, expected " + want);
            }
            if (t.type == Tok::Text) {
                auto s = std::make_unique<Stmt>();
                s->kind = StmtKind::Text;
                s->pos = t.pos;
                s->text = t.text;
                body.push_back(std::move(s));
                next();
            } else if (t.type == Tok::VarBegin) {
                auto s = std::make_unique<Stmt>();
                s->kind = StmtKind::Output;
                s->pos = t.pos;
                next();
                s->expr = parse_tuple(true, {}, false);
                if (cur().type != Tok::VarEnd)
                    fail_at(cur(), "expected end of print statement, got " + describe(cur()));
                next();
                body.push_back(std::move(s));
            } else if (t.type == Tok::BlockBegin) {
                next();
                if (cur().type != Tok::Name) fail_at(cur(), "tag name expected");
                for (auto e : ends) {
                    if (cur().text == e) return body;
                }
                body.push_back(parse_statement());
            } else {
                fail_at(t, "unexpected " + describe(t));
            }
        }
    }

    struct DepthGuard {
        Parser& p;
        explicit DepthGuard(Parser& parser, const Token& at) : p(parser) {
            if (++p.depth_ > p.limits_.max_block_depth) p.fail_at(at, "blocks nested too deeply");
        }
        ~DepthGuard() { --p.depth_; }
    };

    StmtPtr parse_statement() {
        const Token& t = cur();
        DepthGuard guard(*this, t);
        auto s = std::make_unique<Stmt>();
        s->pos = t.pos;
        const std::string tag = next().text;
        if (tag == "if") return parse_if(std::move(s));
        if (tag == "for") return parse_for(std::move(s));
        if (tag == "set") return parse_set(std::move(s));
        if (tag == "macro") return parse_macro(std::move(s));
        if (tag == "call") return parse_call_block(std::move(s));
        if (tag == "filter") {
            s->kind = StmtKind::FilterBlock;
            s->expr = parse_filter(node(ExprKind::Placeholder, t.pos), true);
            return finish_block(std::move(s), "endfilter");
        }
        if (tag == "break" || tag == "continue") {
            if (loop_depth_ == 0) fail_at(t, "'" + tag + "' outside of a loop");
            s->kind = tag == "break" ? StmtKind::Break : StmtKind::Continue;
            expect_block_end();
            return s;
        }
        if (tag == "do") {
            s->kind = StmtKind::Do;
            s->expr = parse_tuple(true, {}, false);
            expect_block_end();
            return s;
        }
        if (tag == "with") {
            s->kind = StmtKind::With;
            while (cur().type != Tok::BlockEnd) {
                if (!s->assigns.empty()) expect_op(",");
                std::string name = expect_name();
                expect_op("=");
                s->assigns.emplace_back(std::move(name), parse_expression(true));
            }
            return finish_block(std::move(s), "endwith");
        }
        if (tag == "generation" || tag == "block") {
            s->kind = StmtKind::Scope;
            if (tag == "block") {
                expect_name();
                skip_name("scoped");
                skip_name("required");
            }
            expect_block_end();
            s->body = subparse({tag == "block" ? "endblock" : "endgeneration"});
            next();
            if (tag == "block" && cur().type == Tok::Name) next();
            expect_block_end();
            return s;
        }
        static const char* const kEnds[] = {"endif", "endfor", "endset", "endmacro", "endcall",
                                            "endfilter", "endwith", "endraw", "else", "elif",
                                            "endgeneration", "endblock"};
        for (const char* e : kEnds) {
            if (tag == e) fail_at(t, "unexpected '" + tag + "'");
        }
        if (tag == "include" || tag == "import" || tag == "from" || tag == "extends")
            fail_at(t, "unsupported tag '" + tag + "' (templates must be self-contained)");
        fail_at(t, "encountered unknown tag '" + tag + "'");
    }

    StmtPtr finish_block(StmtPtr s, std::string_view end) {
        expect_block_end();
        s->body = subparse({end});
        next();
        expect_block_end();
        return s;
    }

    StmtPtr parse_if(StmtPtr s) {
        s->kind = StmtKind::If;
        while (true) {
            ExprPtr cond = parse_tuple(false, {}, false);
            expect_block_end();
            Body body = subparse({"elif", "else", "endif"});
            s->branches.emplace_back(std::move(cond), std::move(body));
            const std::string tag = next().text;
            if (tag == "elif") continue;
            if (tag == "else") {
                expect_block_end();
                s->else_body = subparse({"endif"});
                next();
            }
            expect_block_end();
            return s;
        }
    }

    // Assignment target: a name, a tuple of names, or (with_namespace) name.attr.
    void parse_target(Stmt& s, bool with_namespace, std::string_view end_name) {
        if (with_namespace && cur().type == Tok::Name && peek().type == Tok::Op && peek().text == ".") {
            s.targets.push_back(next().text);
            next();
            s.ns_attr = expect_name();
            return;
        }
        const bool paren = skip_op("(");
        while (true) {
            const Token& t = cur();
            if (t.type != Tok::Name || t.text == "true" || t.text == "false" || t.text == "none" ||
                t.text == "True" || t.text == "False" || t.text == "None")
                fail_at(t, "can't assign to " + describe(t));
            s.targets.push_back(next().text);
            if (!skip_op(",")) break;
            s.target_tuple = true;
            if ((paren && is_op(")")) || (!end_name.empty() && is_name(end_name)) ||
                cur().type == Tok::BlockEnd || is_op("="))
                break;
        }
        if (paren) {
            expect_op(")");
            s.target_tuple = true;
        }
    }

    StmtPtr parse_for(StmtPtr s) {
        s->kind = StmtKind::For;
        parse_target(*s, false, "in");
        if (!skip_name("in")) fail_at(cur(), "expected 'in', got " + describe(cur()));
        s->expr = parse_tuple(false, {"recursive"}, false);
        if (skip_name("if")) s->cond = parse_expression(true);
        s->recursive = skip_name("recursive");
        expect_block_end();
        ++loop_depth_;
        s->body = subparse({"endfor", "else"});
        --loop_depth_;
        if (next().text == "else") {
            expect_block_end();
            s->else_body = subparse({"endfor"});
            next();
        }
        expect_block_end();
        return s;
    }

    StmtPtr parse_set(StmtPtr s) {
        parse_target(*s, true, "");
        if (skip_op("=")) {
            s->kind = StmtKind::Set;
            s->expr = parse_tuple(true, {}, false);
            expect_block_end();
            return s;
        }
        if (!s->ns_attr.empty() || s->target_tuple) fail_at(cur(), "expected '='");
        s->kind = StmtKind::SetBlock;
        if (is_op("|")) s->expr = parse_filter(node(ExprKind::Placeholder, cur().pos), false);
        return finish_block(std::move(s), "endset");
    }

    std::unique_ptr<MacroDef> parse_signature(std::string name, SourcePos pos) {
        auto m = std::make_unique<MacroDef>();
        m->name = std::move(name);
        m->pos = pos;
        expect_op("(");
        while (!is_op(")")) {
            if (!m->params.empty()) expect_op(",");
            if (is_op(")")) break;
            m->params.push_back(expect_name());
            if (skip_op("=")) {
                m->defaults.push_back(parse_expression(true));
            } else {
                for (const auto& d : m->defaults) {
                    if (d) fail_at(cur(), "non-default argument follows default argument");
                }
                m->defaults.push_back(nullptr);
            }
        }
        next();
        return m;
    }

    StmtPtr parse_macro(StmtPtr s) {
        s->kind = StmtKind::Macro;
        const Token& name_tok = cur();
        s->macro = parse_signature(expect_name(), name_tok.pos);
        expect_block_end();
        const int saved = loop_depth_;
        loop_depth_ = 0;
        s->macro->body = subparse({"endmacro"});
        loop_depth_ = saved;
        next();
        if (cur().type == Tok::Name) next();
        expect_block_end();
        return s;
    }

    StmtPtr parse_call_block(StmtPtr s) {
        s->kind = StmtKind::CallBlock;
        if (is_op("(")) {
            s->macro = parse_signature("caller", s->pos);
        } else {
            s->macro = std::make_unique<MacroDef>();
            s->macro->name = "caller";
            s->macro->pos = s->pos;
        }
        s->expr = parse_expression(true);
        if (s->expr->kind != ExprKind::Call) fail_at(cur(), "expected call");
        expect_block_end();
        const int saved = loop_depth_;
        loop_depth_ = 0;
        s->macro->body = subparse({"endcall"});
        loop_depth_ = saved;
        next();
        expect_block_end();
        return s;
    }

    // ------------------------------------------------------------ expressions
    bool is_tuple_end(std::initializer_list<std::string_view> extra_end) const {
        const Token& t = cur();
        if (t.type == Tok::VarEnd || t.type == Tok::BlockEnd || (t.type == Tok::Op && t.text == ")"))
            return true;
        for (auto e : extra_end) {
            if (t.type == Tok::Name && t.text == e) return true;
        }
        return false;
    }

    ExprPtr parse_tuple(bool with_condexpr, std::initializer_list<std::string_view> extra_end,
                        bool explicit_parens) {
        const SourcePos pos = cur().pos;
        std::vector<ExprPtr> items;
        bool is_tuple = false;
        while (true) {
            if (!items.empty()) expect_op(",");
            if (is_tuple_end(extra_end)) break;
            items.push_back(parse_expression(with_condexpr));
            if (is_op(",")) {
                is_tuple = true;
            } else {
                break;
            }
        }
        if (!is_tuple) {
            if (!items.empty()) return std::move(items[0]);
            if (!explicit_parens) fail_at(cur(), "expected an expression, got " + describe(cur()));
        }
        auto t = node(ExprKind::Tuple, pos);
        for (auto& it : items) t = add(std::move(t), std::move(it));
        return t;
    }

    // Every recursive path of the expression grammar passes through one of these guards.
    struct NestGuard {
        Parser& p;
        NestGuard(Parser& parser, const Token& at) : p(parser) {
            if (++p.nest_ > p.limits_.max_expr_nesting) p.fail_at(at, "expression nested too deeply");
        }
        ~NestGuard() { --p.nest_; }
    };

    ExprPtr parse_expression(bool with_condexpr) {
        NestGuard guard(*this, cur());
        if (!with_condexpr) return parse_or();
        ExprPtr expr = parse_or();
        while (is_name("if")) {
            const SourcePos pos = next().pos;
            ExprPtr cond = parse_or();
            ExprPtr other;
            if (skip_name("else")) other = parse_expression(true);
            auto c = node(ExprKind::Cond, pos);
            c = add(std::move(c), std::move(expr));
            c = add(std::move(c), std::move(cond));
            c = add(std::move(c), std::move(other));
            expr = std::move(c);
        }
        return expr;
    }

    ExprPtr parse_or() {
        ExprPtr left = parse_and();
        while (is_name("or")) {
            const SourcePos pos = next().pos;
            left = pair(ExprKind::Or, pos, std::move(left), parse_and());
        }
        return left;
    }

    ExprPtr parse_and() {
        ExprPtr left = parse_not();
        while (is_name("and")) {
            const SourcePos pos = next().pos;
            left = pair(ExprKind::And, pos, std::move(left), parse_not());
        }
        return left;
    }

    ExprPtr parse_not() {
        if (is_name("not")) {
            NestGuard guard(*this, cur());
            const SourcePos pos = next().pos;
            return unary(ExprKind::Not, pos, parse_not());
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        const SourcePos pos = cur().pos;
        ExprPtr first = parse_math1();
        ExprPtr cmp;
        while (true) {
            CmpOp op;
            if (cur().type == Tok::Op && cur().text == "==") op = CmpOp::Eq;
            else if (is_op("!=")) op = CmpOp::Ne;
            else if (is_op("<")) op = CmpOp::Lt;
            else if (is_op("<=")) op = CmpOp::Le;
            else if (is_op(">")) op = CmpOp::Gt;
            else if (is_op(">=")) op = CmpOp::Ge;
            else if (is_name("in")) op = CmpOp::In;
            else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
                next();
                op = CmpOp::NotIn;
            } else {
                break;
            }
            next();
            if (!cmp) cmp = add(node(ExprKind::Compare, pos), std::move(first));
            cmp->cmp_ops.push_back(op);
            cmp = add(std::move(cmp), parse_math1());
        }
        return cmp ? std::move(cmp) : std::move(first);
    }

    ExprPtr parse_math1() {
        ExprPtr left = parse_concat();
        while (is_op("+") || is_op("-")) {
            const Token& t = next();
            auto b = pair(ExprKind::Binary, t.pos, std::move(left), parse_concat());
            b->op = t.text == "+" ? BinOp::Add : BinOp::Sub;
            left = std::move(b);
        }
        return left;
    }

    ExprPtr parse_concat() {
        const SourcePos pos = cur().pos;
        ExprPtr first = parse_math2();
        if (!is_op("~")) return first;
        auto c = add(node(ExprKind::Concat, pos), std::move(first));
        while (skip_op("~")) c = add(std::move(c), parse_math2());
        return c;
    }

    ExprPtr parse_math2() {
        ExprPtr left = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const Token& t = next();
            auto b = pair(ExprKind::Binary, t.pos, std::move(left), parse_pow());
            b->op = t.text == "*" ? BinOp::Mul : t.text == "/" ? BinOp::Div
                  : t.text == "//" ? BinOp::FloorDiv : BinOp::Mod;
            left = std::move(b);
        }
        return left;
    }

    ExprPtr parse_pow() {
        ExprPtr left = parse_unary(true);
        while (is_op("**")) {
            const SourcePos pos = next().pos;
            auto b = pair(ExprKind::Binary, pos, std::move(left), parse_unary(true));
            b->op = BinOp::Pow;
            left = std::move(b);
        }
        return left;
    }

    ExprPtr parse_unary(bool with_filter) {
        ExprPtr n;
        if (is_op("-") || is_op("+")) {
            NestGuard guard(*this, cur());
            const Token& t = next();
            n = unary(t.text == "-" ? ExprKind::Neg : ExprKind::Pos, t.pos, parse_unary(false));
        } else {
            n = parse_primary();
        }
        n = parse_postfix(std::move(n));
        if (with_filter) n = parse_filter_expr(std::move(n));
        return n;
    }

    ExprPtr parse_primary() {
        const Token& t = cur();
        switch (t.type) {
            case Tok::Name: {
                next();
                auto n = node(ExprKind::Literal, t.pos);
                if (t.text == "true" || t.text == "True") n->literal = Value::boolean(true);
                else if (t.text == "false" || t.text == "False") n->literal = Value::boolean(false);
                else if (t.text == "none" || t.text == "None") n->literal = Value::none();
                else {
                    n->kind = ExprKind::Name;
                    n->name = t.text;
                }
                return n;
            }
            case Tok::String: {
                auto n = node(ExprKind::Literal, t.pos);
                std::string s;
                while (cur().type == Tok::String) s += next().text;
                n->literal = Value::string(std::move(s));
                return n;
            }
            case Tok::Int: {
                next();
                const auto v = parse_py_int(t.text, 0);
                if (!v) fail_at(t, "integer literal too large");
                auto n = node(ExprKind::Literal, t.pos);
                n->literal = Value::integer(*v);
                return n;
            }
            case Tok::Float: {
                next();
                const auto v = parse_py_float(t.text);
                if (!v) fail_at(t, "bad float literal");
                auto n = node(ExprKind::Literal, t.pos);
                n->literal = Value::number(*v);
                return n;
            }
            case Tok::Op:
                if (t.text == "(") {
                    next();
                    ExprPtr e = parse_tuple(true, {}, true);
                    expect_op(")");
                    return e;
                }
                if (t.text == "[") {
                    next();
                    auto n = node(ExprKind::List, t.pos);
                    while (!is_op("]")) {
                        if (!n->args.empty()) expect_op(",");
                        if (is_op("]")) break;
                        n = add(std::move(n), parse_expression(true));
                    }
                    next();
                    return n;
                }
                if (t.text == "{") {
                    next();
                    auto n = node(ExprKind::Dict, t.pos);
                    while (!is_op("}")) {
                        if (!n->args.empty()) expect_op(",");
                        if (is_op("}")) break;
                        n = add(std::move(n), parse_expression(true));
                        expect_op(":");
                        n = add(std::move(n), parse_expression(true));
                    }
                    next();
                    return n;
                }
                break;
            default: break;
        }
        fail_at(t, "unexpected " + describe(t));
    }

    ExprPtr parse_postfix(ExprPtr n) {
        while (true) {
            if (is_op(".")) {
                const SourcePos pos = next().pos;
                if (cur().type == Tok::Name) {
                    auto a = unary(ExprKind::Attr, pos, std::move(n));
                    a->name = next().text;
                    n = std::move(a);
                } else if (cur().type == Tok::Int) {
                    auto key = node(ExprKind::Literal, cur().pos);
                    const auto v = parse_py_int(next().text, 0);
                    key->literal = Value::integer(v.value_or(0));
                    n = pair(ExprKind::Item, pos, std::move(n), std::move(key));
                } else {
                    fail_at(cur(), "expected name or number after '.'");
                }
            } else if (is_op("[")) {
                n = parse_subscript(std::move(n));
            } else if (is_op("(")) {
                n = parse_call(std::move(n));
            } else {
                return n;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr obj) {
        const SourcePos pos = next().pos;
        std::vector<ExprPtr> keys;
        while (!is_op("]")) {
            if (!keys.empty()) expect_op(",");
            keys.push_back(parse_subscribed());
        }
        next();
        if (keys.empty()) fail_at(cur(), "expected a subscript");
        ExprPtr key;
        if (keys.size() == 1) {
            key = std::move(keys[0]);
        } else {
            key = node(ExprKind::Tuple, pos);
            for (auto& k : keys) key = add(std::move(key), std::move(k));
        }
        return pair(ExprKind::Item, pos, std::move(obj), std::move(key));
    }

    ExprPtr parse_subscribed() {
        const SourcePos pos = cur().pos;
        ExprPtr start;
        if (!is_op(":")) {
            start = parse_expression(true);
            if (!is_op(":")) return start;
        }
        next();  // ':'
        auto s = node(ExprKind::SliceSpec, pos);
        s = add(std::move(s), std::move(start));
        ExprPtr stop;
        if (!is_op(":") && !is_op("]") && !is_op(",")) stop = parse_expression(true);
        s = add(std::move(s), std::move(stop));
        ExprPtr step;
        if (skip_op(":")) {
            if (!is_op("]") && !is_op(",")) step = parse_expression(true);
        }
        return add(std::move(s), std::move(step));
    }

    // Parses "( args )" into `call`, whose args[0] is already set.
    void parse_call_args(Expr& call) {
        expect_op("(");
        bool first = true;
        while (!is_op(")")) {
            if (!first) {
                expect_op(",");
                if (is_op(")")) break;
            }
            first = false;
            if (skip_op("*")) {
                call.dyn_args = parse_expression(true);
            } else if (skip_op("**")) {
                call.dyn_kwargs = parse_expression(true);
            } else if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
                std::string key = next().text;
                next();
                add_kw(call, std::move(key), parse_expression(true));
            } else {
                if (!call.kwargs.empty() || call.dyn_args || call.dyn_kwargs)
                    fail_at(cur(), "invalid syntax for function call expression");
                ExprPtr a = parse_expression(true);
                call.height = std::max(call.height, a->height + 1);
                if (call.height > limits_.max_expr_height) fail_at(cur(), "expression nested too deeply");
                call.args.push_back(std::move(a));
            }
        }
        next();
    }

    ExprPtr parse_call(ExprPtr callee) {
        auto c = unary(ExprKind::Call, cur().pos, std::move(callee));
        parse_call_args(*c);
        return c;
    }

    std::string dotted_name() {
        std::string name = expect_name();
        while (is_op(".")) {
            next();
            name += "." + expect_name();
        }
        return name;
    }

    ExprPtr parse_filter(ExprPtr n, bool start_inline) {
        while (is_op("|") || start_inline) {
            if (!start_inline) next();
            start_inline = false;
            const SourcePos pos = cur().pos;
            auto f = unary(ExprKind::Filter, pos, std::move(n));
            f->name = dotted_name();
            if (is_op("(")) parse_call_args(*f);
            n = std::move(f);
        }
        return n;
    }

    ExprPtr parse_test(ExprPtr n) {
        next();  // 'is'
        const bool negated = skip_name("not");
        const SourcePos pos = cur().pos;
        auto t = unary(ExprKind::Test, pos, std::move(n));
        t->name = dotted_name();
        t->negated = negated;
        if (is_op("(")) {
            parse_call_args(*t);
        } else {
            const Token& c = cur();
            const bool starts_arg =
                c.type == Tok::Name || c.type == Tok::String || c.type == Tok::Int ||
                c.type == Tok::Float || (c.type == Tok::Op && (c.text == "(" || c.text == "[" || c.text == "{"));
            if (starts_arg && !(c.type == Tok::Name && (c.text == "else" || c.text == "or" || c.text == "and"))) {
                if (c.type == Tok::Name && c.text == "is") fail_at(c, "You cannot chain multiple tests with is");
                t = add(std::move(t), parse_postfix(parse_primary()));
            }
        }
        return t;
    }

    ExprPtr parse_filter_expr(ExprPtr n) {
        while (true) {
            if (is_op("|")) {
                n = parse_filter(std::move(n), false);
            } else if (is_name("is")) {
                n = parse_test(std::move(n));
            } else if (is_op("(")) {
                n = parse_call(std::move(n));
            } else {
                return n;
            }
        }
    }

    std::vector<Token> toks_;
    ParseLimits limits_;
    size_t i_ = 0;
    int depth_ = 0;
    int loop_depth_ = 0;
    int nest_ = 0;
};

}  // namespace

std::unique_ptr<Program> parse_template(std::string_view source, const ParseLimits& limits) {
    return Parser(tokenize(source), limits).run();
}

}  // namespace uma::jinja
