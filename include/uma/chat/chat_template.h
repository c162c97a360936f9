#pragma once
// Chat templates: the Jinja templates GGUF files carry in `tokenizer.chat_template`, rendered
// the way Hugging Face transformers renders them (Jinja2 with trim_blocks and lstrip_blocks,
// `tojson` as json.dumps(..., ensure_ascii=False), `raise_exception()` and `strftime_now()`).
//
// The interpreter covers the Jinja language real chat templates use: {{ }}, {% %}, {# #},
// whitespace control, if/elif/else, for (loop variable, else, filtering, unpacking, recursive,
// break/continue), set (also block set and namespace attributes), macro/call, filter blocks,
// with, the usual filters and tests, Python's str / list / dict methods, and markupsafe's rules
// for `|safe` strings (adding a plain string to one HTML-escapes the plain one). Undefined
// variables render as nothing, are falsy, and give undefined again on attribute access.
//
// Known differences from Jinja2: attribute access on an undefined value gives undefined instead
// of raising; integers are 64-bit (overflow is an error); range() is capped at 100000 items (as
// in Jinja's sandbox); filters such as map/select return lists rather than generators (so
// `tools | map(attribute='function') | tojson` works); upper/lower case mapping covers ASCII,
// Latin-1, Latin Extended-A, Greek and Cyrillic; list.append / dict.update and friends are
// allowed; include / import / extends are not supported.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace uma {

namespace jinja {
struct Program;
}

struct RenderOptions {
    // The clock behind strftime_now(): broken-down local time. Empty: the system clock.
    std::function<std::tm()> now;

    // Guards against runaway templates; exceeding one throws uma::Error.
    size_t max_output_bytes = size_t{64} << 20;  // the output and any single string value
    uint64_t max_steps = 50'000'000;             // evaluation steps (nodes, iterations, elements)
    size_t max_objects = 4'000'000;              // lists, dicts and callables created
    int max_call_depth = 100;                    // nested macro calls / recursive loops
    size_t max_stack_bytes = size_t{2} << 20;    // native stack used by the evaluation
};

class ChatTemplate {
  public:
    // Parses `source`; throws uma::Error("chat template: <line>:<col>: ...") on syntax errors.
    explicit ChatTemplate(std::string source);
    ~ChatTemplate();
    ChatTemplate(const ChatTemplate&);
    ChatTemplate& operator=(const ChatTemplate&);
    ChatTemplate(ChatTemplate&&) noexcept;
    ChatTemplate& operator=(ChatTemplate&&) noexcept;

    // Renders with the variables of `context` (an object): typically `messages`, `tools`,
    // `add_generation_prompt`, `bos_token`, `eos_token`, plus any extra variables. Object key
    // order is kept (it shows in `tojson` output). Errors throw uma::Error: the template's own
    // raise_exception(msg) carries exactly `msg`; other errors read
    // "chat template: <line>:<col>: ...".
    std::string render(const nlohmann::ordered_json& context, const RenderOptions& opts = {}) const;

    const std::string& source() const { return source_; }

  private:
    std::string source_;
    std::shared_ptr<const jinja::Program> program_;
};

// The Jinja source of the template for models whose GGUF has no chat template: ChatML,
//   <|im_start|>{role}\n{content}<|im_end|>\n  for each message, then
//   <|im_start|>assistant\n                     when add_generation_prompt is true.
// Content may be a string or a list of {"type": "text", "text": ...} parts; assistant tool calls
// are written as <tool_call>\n{"name": ..., "arguments": ...}\n</tool_call> lines.
std::string fallback_chat_template();

}  // namespace uma
