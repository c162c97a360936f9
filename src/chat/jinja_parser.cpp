// Statement rules of the Jinja parser and its entry point.
#include "chat/jinja_parser.h"

namespace uma::jinja {

std::string describe(const Token& t) {
    switch (t.type) {
        case Tok::Text:
            return "template data";
        case Tok::VarBegin:
            return "'{{'";
        case Tok::VarEnd:
            return "end of print statement";
        case Tok::BlockBegin:
            return "'{%'";
        case Tok::BlockEnd:
            return "end of statement block";
        case Tok::Name:
            return "'" + t.text + "'";
        case Tok::String:
            return "string";
        case Tok::Int:
            return "integer";
        case Tok::Float:
            return "float";
        case Tok::Op:
            return "'" + t.text + "'";
        case Tok::End:
            return "end of template";
    }
    return "token";
}

std::unique_ptr<Program> Parser::run() {
    auto prog = std::make_unique<Program>();
    prog->body = subparse({});
    if (cur().type != Tok::End) {
        // subparse only stops early on an end tag with no open block.
        fail_at(cur(), "unexpected " + describe(cur()));
    }
    return prog;
}

Body Parser::subparse(std::initializer_list<std::string_view> ends) {
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

StmtPtr Parser::parse_statement() {
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
    static const char* const kEnds[] = {"endif",   "endfor",    "endset",        "endmacro",
                                        "endcall", "endfilter", "endwith",       "endraw",
                                        "else",    "elif",      "endgeneration", "endblock"};
    for (const char* e : kEnds) {
        if (tag == e) fail_at(t, "unexpected '" + tag + "'");
    }
    if (tag == "include" || tag == "import" || tag == "from" || tag == "extends")
        fail_at(t, "unsupported tag '" + tag + "' (templates must be self-contained)");
    fail_at(t, "encountered unknown tag '" + tag + "'");
}

StmtPtr Parser::finish_block(StmtPtr s, std::string_view end) {
    expect_block_end();
    s->body = subparse({end});
    next();
    expect_block_end();
    return s;
}

StmtPtr Parser::parse_if(StmtPtr s) {
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

void Parser::parse_target(Stmt& s, bool with_namespace, std::string_view end_name) {
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

StmtPtr Parser::parse_for(StmtPtr s) {
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

StmtPtr Parser::parse_set(StmtPtr s) {
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

std::unique_ptr<MacroDef> Parser::parse_signature(std::string name, SourcePos pos) {
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

StmtPtr Parser::parse_macro(StmtPtr s) {
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

StmtPtr Parser::parse_call_block(StmtPtr s) {
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

std::unique_ptr<Program> parse_template(std::string_view source, const ParseLimits& limits) {
    return Parser(tokenize(source), limits).run();
}

}  // namespace uma::jinja
