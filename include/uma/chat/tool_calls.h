#pragma once
// Tool calls in model output: the formats models are trained to write (Hermes/Qwen <tool_call>
// JSON, Llama 3.1 JSON and <|python_tag|>, Mistral [TOOL_CALLS], DeepSeek, Functionary), parsed
// into structured calls, also incrementally while a reply streams.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace uma {

enum class ToolCallFormat {
    None,         // the model has no tool-call convention: all output is content
    Hermes,       // <tool_call>{"name": ..., "arguments": {...}}</tool_call> (Hermes, Qwen 2.5)
    Llama3,       // {"name": ..., "parameters": {...}} or <|python_tag|>...
    Mistral,      // [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]
    DeepSeek,     // <｜tool▁calls▁begin｜>...<｜tool▁call▁begin｜>function<｜tool▁sep｜>name ...
    Functionary,  // >>>name\n{...} / <function=name>{...}</function>
    Generic,      // a bare JSON object or list of {"name", "arguments"} objects
};

struct ToolCall {
    std::string id;         // "call_<n>" when the model gives none
    std::string name;
    std::string arguments;  // a JSON object, serialised
};

struct ParsedReply {
    std::string content;  // text outside the tool calls
    std::vector<ToolCall> tool_calls;
};

// The format a chat template's model uses, detected from the template source.
ToolCallFormat detect_tool_call_format(std::string_view chat_template);
std::string_view tool_call_format_name(ToolCallFormat format);

// Parses a complete reply. Never throws on malformed calls: what does not parse stays content.
ParsedReply parse_tool_calls(std::string_view text, ToolCallFormat format);

// Incremental parsing for streaming: feed text deltas as they are generated; each call returns
// the content that is safe to show now (text that cannot be the start of a tool call) and the
// tool calls completed so far. finish() flushes whatever is held back.
class ToolCallStream {
public:
    explicit ToolCallStream(ToolCallFormat format);
    ~ToolCallStream();
    ToolCallStream(ToolCallStream&&) noexcept;
    ToolCallStream& operator=(ToolCallStream&&) noexcept;

    struct Update {
        std::string content;
        std::vector<ToolCall> new_calls;  // calls completed by this delta, in order
    };
    Update feed(std::string_view delta);
    Update finish();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace uma
