#pragma once
// Syntax tree of a parsed Jinja template.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_lexer.h"
#include "chat/jinja_value.h"

namespace uma::jinja {

enum class ExprKind {
    Literal,      // literal (None, bool, int, float, str)
    Name,         // name
    List,         // args: items
    Tuple,        // args: items
    Dict,         // args: key, value, key, value, ...
    Attr,         // args[0] . name
    Item,         // args[0] [ args[1] ]
    SliceSpec,    // args: start, stop, step (each may be null); only as the key of Item
    Call,         // args[0] ( args[1..], kwargs, dyn_args, dyn_kwargs )
    Filter,       // args[0] | name ( args[1..], kwargs ); args[0] may be a Placeholder
    Test,         // args[0] is name ( args[1..], kwargs ); negated for `is not`
    Not,          // args[0]
    Neg,          // args[0]
    Pos,          // args[0]
    Binary,       // args[0] op args[1]
    Concat,       // args joined with ~
    Compare,      // args[0] cmp_ops[0] args[1] cmp_ops[1] args[2] ...
    And,          // args[0] and args[1]
    Or,           // args[0] or args[1]
    Cond,         // args[0] if args[1] else args[2] (args[2] may be null)
    Placeholder,  // the body text of a filter block or a filtered block set
};

enum class CmpOp { Eq, Ne, Lt, Le, Gt, Ge, In, NotIn };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    ExprKind kind = ExprKind::Literal;
    SourcePos pos;
    Value literal;
    std::string name;
    BinOp op = BinOp::Add;
    bool negated = false;
    int height = 1;
    std::vector<CmpOp> cmp_ops;
    std::vector<ExprPtr> args;
    std::vector<std::pair<std::string, ExprPtr>> kwargs;
    ExprPtr dyn_args;    // *args
    ExprPtr dyn_kwargs;  // **kwargs
};

enum class StmtKind {
    Text,         // text
    Output,       // {{ expr }}
    If,           // branches, else_body
    For,          // targets in expr [if cond] [recursive]: body, else_body
    Set,          // targets = expr, or targets[0].attr = expr
    SetBlock,     // {% set targets[0] [| filter] %}body{% endset %}
    Macro,        // macro
    CallBlock,    // {% call(macro params) expr %}body{% endcall %}
    FilterBlock,  // {% filter expr %}body{% endfilter %}
    Break,
    Continue,
    Do,     // {% do expr %}
    With,   // {% with assigns %}body{% endwith %}
    Scope,  // {% generation %} / {% block %}: body rendered in place
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroDef {
    std::string name;
    std::vector<std::string> params;
    std::vector<ExprPtr> defaults;  // one per param; null where there is none
    Body body;
    SourcePos pos;
};

struct Stmt {
    StmtKind kind = StmtKind::Text;
    SourcePos pos;
    std::string text;
    ExprPtr expr;
    std::vector<std::pair<ExprPtr, Body>> branches;
    Body body;
    Body else_body;
    std::vector<std::string> targets;
    bool target_tuple = false;
    std::string ns_attr;
    ExprPtr cond;
    bool recursive = false;
    std::unique_ptr<MacroDef> macro;
    std::vector<std::pair<std::string, ExprPtr>> assigns;
};

struct Program {
    Body body;
};

struct ParseLimits {
    int max_expr_height = 400;   // tree height (left-deep chains such as a + b + c + ...)
    int max_expr_nesting = 100;  // parser recursion: parentheses, brackets, not, unary minus
    int max_block_depth = 100;
};

// Parses a template; throws uma::Error("chat template: L:C: ...") on syntax errors.
std::unique_ptr<Program> parse_template(std::string_view source, const ParseLimits& limits = {});

}  // namespace uma::jinja
