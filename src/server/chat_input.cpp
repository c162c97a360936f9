#include "chat_input.h"

#include <cctype>

#include "uma/chat/chat_template.h"
#include "uma/runtime/chat_prompt.h"
#include "uma/sampling/json_schema.h"

namespace uma::server {
namespace {

bool is_rule_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Renames rule `from` to `to` in GBNF text, leaving string literals and classes alone, so that
// a schema's grammar can be embedded in a larger one.
std::string rename_rule(const std::string& gbnf, const std::string& from, const std::string& to) {
    std::string out;
    for (size_t i = 0; i < gbnf.size();) {
        const char c = gbnf[i];
        if (c == '"' || c == '[') {  // copy a literal or class, escapes included
            const char close = c == '"' ? '"' : ']';
            size_t j = i + 1;
            while (j < gbnf.size() && gbnf[j] != close) j += gbnf[j] == '\\' ? 2 : 1;
            j = std::min(j + 1, gbnf.size());
            out.append(gbnf, i, j - i);
            i = j;
        } else if (c == '#') {  // a comment runs to the end of the line
            const size_t end = gbnf.find('\n', i);
            const size_t j = end == std::string::npos ? gbnf.size() : end;
            out.append(gbnf, i, j - i);
            i = j;
        } else if (is_rule_char(c)) {
            size_t j = i;
            while (j < gbnf.size() && is_rule_char(gbnf[j])) ++j;
            const std::string word = gbnf.substr(i, j - i);
            out += word == from ? to : word;
            i = j;
        } else {
            out.push_back(c);
            ++i;
        }
    }
    return out;
}

std::string content_text(const Json& content, size_t index) {
    if (content.is_null()) return "";
    if (content.is_string()) return content.get<std::string>();
    if (content.is_array()) {
        std::string text;
        for (const auto& part : content) {
            const std::string type = part.is_object() ? part.value("type", "") : "";
            if (type == "text" && part.contains("text") && part["text"].is_string()) {
                text += part["text"].get<std::string>();
            } else if (type == "image_url" || type == "input_image" || type == "image") {
                throw HttpError(400, "messages[" + std::to_string(index) +
                                         "]: images are not supported by this server's models");
            } else {
                throw HttpError(
                    400, "messages[" + std::to_string(index) +
                             "].content: each part must be {\"type\": \"text\", \"text\": ...}");
            }
        }
        return text;
    }
    throw HttpError(400, "messages[" + std::to_string(index) +
                             "].content must be a string or a list of text parts");
}

}  // namespace

Json arguments_object(const std::string& arguments) {
    try {
        return Json::parse(arguments);
    } catch (const nlohmann::json::exception&) {
        return arguments;
    }
}

Json normalize_messages(const Json& messages) {
    Json out = Json::array();
    for (size_t i = 0; i < messages.size(); ++i) {
        const Json& m = messages[i];
        const std::string where = "messages[" + std::to_string(i) + "]";
        if (!m.is_object())
            throw HttpError(400, where + " must be an object with role and content");
        if (!m.contains("role") || !m["role"].is_string())
            throw HttpError(400, where + ".role must be a string");
        const std::string role = m["role"].get<std::string>();
        if (role != "system" && role != "user" && role != "assistant" && role != "tool" &&
            role != "developer")
            throw HttpError(
                400, where + ".role must be system, user, assistant or tool, got '" + role + "'");
        if (m.contains("images") && m["images"].is_array() && !m["images"].empty())
            throw HttpError(400, where + ": images are not supported by this server's models");
        Json msg{{"role", role == "developer" ? "system" : role},
                 {"content", content_text(m.value("content", Json()), i)}};
        if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
            if (!m["tool_calls"].is_array())
                throw HttpError(400, where + ".tool_calls must be a list");
            Json calls = Json::array();
            for (const auto& call : m["tool_calls"]) {
                const Json fn = call.is_object() ? call.value("function", Json()) : Json();
                if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string())
                    throw HttpError(400, where + ".tool_calls: each needs function.name");
                Json args = fn.value("arguments", Json::object());
                if (args.is_string()) args = arguments_object(args.get<std::string>());
                Json c{{"type", "function"},
                       {"function", {{"name", fn["name"]}, {"arguments", args}}}};
                if (call.contains("id")) c["id"] = call["id"];
                calls.push_back(std::move(c));
            }
            msg["tool_calls"] = std::move(calls);
        }
        for (const char* key : {"tool_call_id", "name", "tool_name"})
            if (m.contains(key) && m[key].is_string()) msg[key] = m[key];
        if (role == "tool" && !msg.contains("name") && msg.contains("tool_name"))
            msg["name"] = msg["tool_name"];
        out.push_back(std::move(msg));
    }
    return out;
}

bool has_chat_template(const ModelManager::Lease& lease) {
    return lease.resolved().template_text.has_value() ||
           !chat_template_of(lease.model().model->file()).empty();
}

ChatPrompt build_chat_prompt(const ModelManager::Lease& lease, const Json& messages,
                             const Json& tools, const std::string& template_override) {
    const ResolvedModel& resolved = lease.resolved();
    const LoadedModel& model = lease.model();
    Json conversation = Json::array();
    bool has_system = false;
    for (const auto& m : messages) has_system = has_system || m["role"] == "system";
    if (resolved.system && !has_system)
        conversation.push_back({{"role", "system"}, {"content", *resolved.system}});
    for (const auto& m : resolved.messages)
        conversation.push_back({{"role", m.role}, {"content", m.content}});
    for (const auto& m : messages) conversation.push_back(m);

    ChatPrompt out;
    out.template_source = template_override;
    if (out.template_source.empty() && resolved.template_text)
        out.template_source = *resolved.template_text;
    if (out.template_source.empty()) out.template_source = chat_template_of(model.model->file());
    if (out.template_source.empty()) out.template_source = fallback_chat_template();
    std::string text;
    try {
        text = render_chat_prompt(model.model->file(), *model.tokenizer, conversation, true, tools,
                                  out.template_source);
    } catch (const Error& e) {
        throw HttpError(400,
                        std::string("the chat template failed on these messages: ") + e.what());
    }
    out.tokens = encode_chat_prompt(*model.tokenizer, text);
    out.tool_format = detect_tool_call_format(out.template_source);
    return out;
}

ToolCallFormat forced_call_format(ToolCallFormat format) {
    switch (format) {
        case ToolCallFormat::Llama3:
        case ToolCallFormat::Generic:
        case ToolCallFormat::Mistral:
        case ToolCallFormat::Hermes: return format;
        default: return ToolCallFormat::Hermes;  // forced calls are written as <tool_call> blocks
    }
}

std::string forced_tool_call_gbnf(ToolCallFormat format, const Json& tools,
                                  const std::optional<std::string>& only) {
    const char* arguments_key = format == ToolCallFormat::Llama3 ? "parameters" : "arguments";
    Json choices = Json::array();
    for (const auto& tool : tools) {
        const Json fn = tool.value("function", Json::object());
        const std::string name = fn.value("name", "");
        if (name.empty() || (only && name != *only)) continue;
        Json params = fn.value("parameters", Json{{"type", "object"}});
        choices.push_back({{"type", "object"},
                           {"properties", {{"name", {{"const", name}}}, {arguments_key, params}}},
                           {"required", {"name", arguments_key}}});
    }
    if (choices.empty())
        throw HttpError(400, only ? "tool_choice names the function '" + *only +
                                        "', which is not among the tools"
                                  : "tool_choice requires a tool call but no tools were given");
    const Json schema = choices.size() == 1 ? choices[0] : Json{{"anyOf", choices}};
    std::string call;
    try {
        call = rename_rule(json_schema_to_gbnf(schema), "root", "tool-call");
    } catch (const Error& e) {
        throw HttpError(400, std::string("tool parameters: ") + e.what());
    }
    switch (format) {
        case ToolCallFormat::Llama3:
        case ToolCallFormat::Generic:
            return "root ::= tool-call\n" + call;
        case ToolCallFormat::Mistral:
            return "root ::= \"[\" tool-call \"]\"\n" + call;
        default:
            return "root ::= \"<tool_call>\\n\" tool-call \"\\n</tool_call>\"\n" + call;
    }
}

Json ollama_tool_calls(const std::vector<ToolCall>& calls) {
    Json out = Json::array();
    for (const auto& c : calls)
        out.push_back(
            {{"function", {{"name", c.name}, {"arguments", arguments_object(c.arguments)}}}});
    return out;
}

Json openai_tool_calls(const std::vector<ToolCall>& calls, size_t first_index, bool with_index) {
    Json out = Json::array();
    for (size_t i = 0; i < calls.size(); ++i) {
        Json c;
        if (with_index) c["index"] = first_index + i;
        c["id"] = calls[i].id;
        c["type"] = "function";
        c["function"] = {{"name", calls[i].name}, {"arguments", calls[i].arguments}};
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace uma::server
