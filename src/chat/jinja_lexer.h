#pragma once
// Jinja lexer: splits a template into text and the tokens of `{{ }}` / `{% %}` tags, applying
// whitespace control as Hugging Face transformers configures Jinja: trim_blocks and lstrip_blocks
// on, `-` / `+` modifiers, `{# #}` comments dropped, `{% raw %}` kept verbatim, newlines
// normalised to "\n" and one trailing newline of the source removed.
#include <string>
#include <string_view>
#include <vector>

namespace uma::jinja {

struct SourcePos {
    int line = 1;
    int col = 1;
};

enum class Tok {
    Text,        // template text between tags
    VarBegin,    // {{
    VarEnd,      // }}
    BlockBegin,  // {%
    BlockEnd,    // %}
    Name,
    String,  // value already unescaped
    Int,     // text: digits with any 0x/0o/0b prefix, '_' removed
    Float,   // text, '_' removed
    Op,      // operator text: + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { } ;
    End,
};

struct Token {
    Tok type = Tok::End;
    std::string text;
    SourcePos pos;
};

struct LexOptions {
    bool trim_blocks = true;
    bool lstrip_blocks = true;
};

// Throws uma::Error("chat template: L:C: ...") on a lexical error.
std::vector<Token> tokenize(std::string_view source, const LexOptions& opts = {});

// Formats the "chat template: L:C: msg" error text.
std::string error_at(SourcePos pos, const std::string& msg);

}  // namespace uma::jinja
