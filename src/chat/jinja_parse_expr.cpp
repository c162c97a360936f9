// Expression rules of the Jinja parser (jinja2/parser.py's parse_expression and below).
#include "chat/jinja_parser.h"
#include "chat/jinja_text.h"

namespace uma::jinja {

ExprPtr Parser::parse_tuple(bool with_condexpr, std::initializer_list<std::string_view> extra_end,
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

bool Parser::is_tuple_end(std::initializer_list<std::string_view> extra_end) const {
    const Token& t = cur();
    if (t.type == Tok::VarEnd || t.type == Tok::BlockEnd || (t.type == Tok::Op && t.text == ")"))
        return true;
    for (auto e : extra_end) {
        if (t.type == Tok::Name && t.text == e) return true;
    }
    return false;
}

ExprPtr Parser::parse_expression(bool with_condexpr) {
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

ExprPtr Parser::parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
        const SourcePos pos = next().pos;
        left = pair(ExprKind::Or, pos, std::move(left), parse_and());
    }
    return left;
}

ExprPtr Parser::parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
        const SourcePos pos = next().pos;
        left = pair(ExprKind::And, pos, std::move(left), parse_not());
    }
    return left;
}

ExprPtr Parser::parse_not() {
    if (is_name("not")) {
        NestGuard guard(*this, cur());
        const SourcePos pos = next().pos;
        return unary(ExprKind::Not, pos, parse_not());
    }
    return parse_compare();
}

ExprPtr Parser::parse_compare() {
    const SourcePos pos = cur().pos;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
        CmpOp op;
        if (cur().type == Tok::Op && cur().text == "==")
            op = CmpOp::Eq;
        else if (is_op("!="))
            op = CmpOp::Ne;
        else if (is_op("<"))
            op = CmpOp::Lt;
        else if (is_op("<="))
            op = CmpOp::Le;
        else if (is_op(">"))
            op = CmpOp::Gt;
        else if (is_op(">="))
            op = CmpOp::Ge;
        else if (is_name("in"))
            op = CmpOp::In;
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

ExprPtr Parser::parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
        const Token& t = next();
        auto b = pair(ExprKind::Binary, t.pos, std::move(left), parse_concat());
        b->op = t.text == "+" ? BinOp::Add : BinOp::Sub;
        left = std::move(b);
    }
    return left;
}

ExprPtr Parser::parse_concat() {
    const SourcePos pos = cur().pos;
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto c = add(node(ExprKind::Concat, pos), std::move(first));
    while (skip_op("~")) c = add(std::move(c), parse_math2());
    return c;
}

ExprPtr Parser::parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
        const Token& t = next();
        auto b = pair(ExprKind::Binary, t.pos, std::move(left), parse_pow());
        b->op = t.text == "*"    ? BinOp::Mul
                : t.text == "/"  ? BinOp::Div
                : t.text == "//" ? BinOp::FloorDiv
                                 : BinOp::Mod;
        left = std::move(b);
    }
    return left;
}

ExprPtr Parser::parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
        const SourcePos pos = next().pos;
        auto b = pair(ExprKind::Binary, pos, std::move(left), parse_unary(true));
        b->op = BinOp::Pow;
        left = std::move(b);
    }
    return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
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

ExprPtr Parser::parse_primary() {
    const Token& t = cur();
    switch (t.type) {
        case Tok::Name: {
            next();
            auto n = node(ExprKind::Literal, t.pos);
            if (t.text == "true" || t.text == "True")
                n->literal = Value::boolean(true);
            else if (t.text == "false" || t.text == "False")
                n->literal = Value::boolean(false);
            else if (t.text == "none" || t.text == "None")
                n->literal = Value::none();
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
        default:
            break;
    }
    fail_at(t, "unexpected " + describe(t));
}

ExprPtr Parser::parse_postfix(ExprPtr n) {
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

ExprPtr Parser::parse_subscript(ExprPtr obj) {
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

ExprPtr Parser::parse_subscribed() {
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

void Parser::parse_call_args(Expr& call) {
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
            if (call.height > limits_.max_expr_height)
                fail_at(cur(), "expression nested too deeply");
            call.args.push_back(std::move(a));
        }
    }
    next();
}

ExprPtr Parser::parse_call(ExprPtr callee) {
    auto c = unary(ExprKind::Call, cur().pos, std::move(callee));
    parse_call_args(*c);
    return c;
}

std::string Parser::dotted_name() {
    std::string name = expect_name();
    while (is_op(".")) {
        next();
        name += "." + expect_name();
    }
    return name;
}

ExprPtr Parser::parse_filter(ExprPtr n, bool start_inline) {
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

ExprPtr Parser::parse_test(ExprPtr n) {
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
            c.type == Tok::Float ||
            (c.type == Tok::Op && (c.text == "(" || c.text == "[" || c.text == "{"));
        if (starts_arg &&
            !(c.type == Tok::Name && (c.text == "else" || c.text == "or" || c.text == "and"))) {
            if (c.type == Tok::Name && c.text == "is")
                fail_at(c, "You cannot chain multiple tests with is");
            t = add(std::move(t), parse_postfix(parse_primary()));
        }
    }
    return t;
}

ExprPtr Parser::parse_filter_expr(ExprPtr n) {
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

}  // namespace uma::jinja
