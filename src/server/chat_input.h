#pragma once
// Chat requests of both APIs into a prompt: messages checked and normalised to the shape chat
// templates expect, tools, the template to use, and the tool-call format of the model's output.
#include <optional>
#include <string>
#include <vector>

#include "generation.h"
#include "uma/chat/tool_calls.h"

namespace uma::server {

// Checks `messages` (a list of {role, content, ...}) and returns them as chat templates expect:
// content a string (text parts joined), assistant tool_calls as
// {"type": "function", "function": {"name", "arguments": <object>}} whatever the API sent.
Json normalize_messages(const Json& messages);

struct ChatPrompt {
    std::vector<TokenId> tokens;
    std::string template_source;  // the template the prompt was rendered with
    ToolCallFormat tool_format = ToolCallFormat::None;
};

// Renders the conversation (Modelfile MESSAGEs first, the Modelfile SYSTEM prompt unless the
// conversation has a system message) with `template_override`, else the Modelfile's TEMPLATE,
// else the GGUF's chat template, else the documented ChatML fallback.
ChatPrompt build_chat_prompt(const ModelManager::Lease& lease, const Json& messages,
                             const Json& tools, const std::string& template_override);

// Whether the model has a chat template of its own (GGUF or Modelfile).
bool has_chat_template(const ModelManager::Lease& lease);

// A grammar that makes the model call a tool (tool_choice "required" or a named function) in
// its template's format: one call to `only` when given, else to any of `tools`.
// The syntax a forced tool call is constrained to (and so must be parsed as) for a model format.
ToolCallFormat forced_call_format(ToolCallFormat format);
std::string forced_tool_call_gbnf(ToolCallFormat format, const Json& tools,
                                  const std::optional<std::string>& only);

// A tool call's arguments (a JSON text) as an object; text that is not JSON stays a string.
Json arguments_object(const std::string& arguments);

// Ollama's shape of tool calls: [{"function": {"name", "arguments": {...}}}].
Json ollama_tool_calls(const std::vector<ToolCall>& calls);
// OpenAI's: [{"index", "id", "type": "function", "function": {"name", "arguments": "<json>"}}];
// `first_index` numbers them in streamed deltas.
Json openai_tool_calls(const std::vector<ToolCall>& calls, size_t first_index, bool with_index);

}  // namespace uma::server
