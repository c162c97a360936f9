#pragma once
// Private to the parser: the recursive-descent Parser class. Statement rules are defined in
// jinja_parser.cpp, expression rules in jinja_parse_expr.cpp. The grammar and operator
// precedence follow jinja2/parser.py so that templates bind exactly as Jinja binds them.
#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/jinja_ast.h"
#include "uma/core/error.h"

namespace uma::jinja {

// How a token is named in error messages.
std::string describe(const Token& t);

class Parser {
  public:
    Parser(std::vector<Token> tokens, const ParseLimits& limits)
        : toks_(std::move(tokens)), limits_(limits) {}

    std::unique_ptr<Program> run();

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
        if (!skip_op(op))
            fail_at(cur(), "expected '" + std::string(op) + "', got " + describe(cur()));
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
    Body subparse(std::initializer_list<std::string_view> ends);

    struct DepthGuard {
        Parser& p;
        explicit DepthGuard(Parser& parser, const Token& at) : p(parser) {
            if (++p.depth_ > p.limits_.max_block_depth) p.fail_at(at, "blocks nested too deeply");
        }
        ~DepthGuard() { --p.depth_; }
    };

    StmtPtr parse_statement();

    StmtPtr finish_block(StmtPtr s, std::string_view end);

    StmtPtr parse_if(StmtPtr s);

    // Assignment target: a name, a tuple of names, or (with_namespace) name.attr.
    void parse_target(Stmt& s, bool with_namespace, std::string_view end_name);

    StmtPtr parse_for(StmtPtr s);

    StmtPtr parse_set(StmtPtr s);

    std::unique_ptr<MacroDef> parse_signature(std::string name, SourcePos pos);

    StmtPtr parse_macro(StmtPtr s);

    StmtPtr parse_call_block(StmtPtr s);

    // ------------------------------------------------------------ expressions
    bool is_tuple_end(std::initializer_list<std::string_view> extra_end) const;

    ExprPtr parse_tuple(bool with_condexpr, std::initializer_list<std::string_view> extra_end,
                        bool explicit_parens);

    // Every recursive path of the expression grammar passes through one of these guards.
    struct NestGuard {
        Parser& p;
        NestGuard(Parser& parser, const Token& at) : p(parser) {
            if (++p.nest_ > p.limits_.max_expr_nesting)
                p.fail_at(at, "expression nested too deeply");
        }
        ~NestGuard() { --p.nest_; }
    };

    ExprPtr parse_expression(bool with_condexpr);

    ExprPtr parse_or();

    ExprPtr parse_and();

    ExprPtr parse_not();

    ExprPtr parse_compare();

    ExprPtr parse_math1();

    ExprPtr parse_concat();

    ExprPtr parse_math2();

    ExprPtr parse_pow();

    ExprPtr parse_unary(bool with_filter);

    ExprPtr parse_primary();

    ExprPtr parse_postfix(ExprPtr n);

    ExprPtr parse_subscript(ExprPtr obj);

    ExprPtr parse_subscribed();

    // Parses "( args )" into `call`, whose args[0] is already set.
    void parse_call_args(Expr& call);

    ExprPtr parse_call(ExprPtr callee);

    std::string dotted_name();

    ExprPtr parse_filter(ExprPtr n, bool start_inline);

    ExprPtr parse_test(ExprPtr n);

    ExprPtr parse_filter_expr(ExprPtr n);

    std::vector<Token> toks_;
    ParseLimits limits_;
    size_t i_ = 0;
    int depth_ = 0;
    int loop_depth_ = 0;
    int nest_ = 0;
};

}  // namespace uma::jinja
