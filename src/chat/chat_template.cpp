#include "uma/chat/chat_template.h"

#include "chat/jinja_ast.h"
#include "chat/jinja_eval.h"
#include "chat/jinja_value.h"
#include "uma/core/error.h"

namespace uma {

ChatTemplate::ChatTemplate(std::string source)
    : source_(std::move(source)), program_(jinja::parse_template(source_)) {}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(const ChatTemplate&) = default;
ChatTemplate& ChatTemplate::operator=(const ChatTemplate&) = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const nlohmann::ordered_json& context,
                                 const RenderOptions& opts) const {
    if (!context.is_object() && !context.is_null())
        throw Error("chat template: the render context must be a JSON object");
    jinja::Limits limits;
    limits.max_string_bytes = opts.max_output_bytes;
    limits.max_steps = opts.max_steps;
    limits.max_objects = opts.max_objects;
    limits.max_call_depth = opts.max_call_depth;
    jinja::Runtime rt(limits, opts.now);
    jinja::Value ctx;
    try {
        jinja::RuntimeScope scope(rt);
        ctx = context.is_null() ? jinja::Value::dict(rt.new_dict()) : jinja::from_json(rt, context);
    } catch (const jinja::RuntimeError& e) {
        throw Error(std::string("chat template: ") + e.what());
    }
    return jinja::render_program(*program_, rt, ctx, opts.max_stack_bytes);
}

namespace {

constexpr std::string_view kFallbackTemplate =
    "{%- for message in messages -%}\n"
    "{{- '<|im_start|>' ~ message['role'] ~ '\\n' -}}\n"
    "{%- if message['content'] is string -%}\n"
    "{{- message['content'] -}}\n"
    "{%- elif message['content'] is iterable and message['content'] is not mapping -%}\n"
    "{%- for part in message['content'] -%}\n"
    "{%- if part is mapping and part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- endif -%}\n"
    "{%- for call in message['tool_calls'] or [] -%}\n"
    "{%- set fn = call['function'] if call['function'] is defined else call -%}\n"
    "{%- set args = fn['arguments'] if fn['arguments'] is string else fn['arguments'] | tojson "
    "-%}\n"
    "{{- ('\\n' if (message['content'] or not loop.first) else '') ~ '<tool_call>\\n{\"name\": ' ~ "
    "fn['name'] | tojson ~ ', \"arguments\": ' ~ args ~ '}\\n</tool_call>' -}}\n"
    "{%- endfor -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "{{- '<|im_start|>assistant\\n' -}}\n"
    "{%- endif -%}\n";

}  // namespace

std::string fallback_chat_template() {
    return std::string(kFallbackTemplate);
}

}  // namespace uma
