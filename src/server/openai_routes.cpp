// OpenAI's API: /v1/chat/completions and /v1/completions (SSE streams ending in [DONE]) and
// /v1/embeddings. Extensions beyond OpenAI's fields: num_ctx, options (Ollama's), top_k, min_p,
// repeat_penalty, template, truncate.
#include <memory>

#include "chat_input.h"
#include "routes.h"
#include "uma/sampling/json_schema.h"

namespace uma::server {
namespace {

constexpr int kMaxTopLogprobs = 20;

std::string sse(const Json& data) {
    return "data: " + data.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

// OpenAI's fields (and the extensions) as generation parameters, over Ollama-style `options`.
ModelParameters openai_parameters(const Json& body) {
    ModelParameters p = parse_options(body);
    const auto set = [&](const char* field, const char* parameter) {
        const auto it = body.find(field);
        if (it == body.end() || it->is_null()) return;
        try {
            p.set_json(parameter, *it);
        } catch (const Error& e) {
            throw HttpError(400, std::string("field '") + field + "': " + e.what());
        }
    };
    set("temperature", "temperature");
    set("top_p", "top_p");
    set("top_k", "top_k");
    set("min_p", "min_p");
    set("repeat_penalty", "repeat_penalty");
    set("seed", "seed");
    set("stop", "stop");
    set("num_ctx", "num_ctx");
    set("max_tokens", "num_predict");
    set("max_completion_tokens", "num_predict");
    return p;
}

void check_common_fields(const Json& body) {
    if (const auto n = get_int(body, "n"); n && *n != 1)
        throw HttpError(400, "field 'n' must be 1: this server returns one choice per request");
    for (const char* field : {"max_tokens", "max_completion_tokens"})
        if (const auto v = get_int(body, field); v && *v < 0)
            throw HttpError(400, std::string("field '") + field + "' must not be negative");
    get_bool(body, "stream");
    get_number(body, "frequency_penalty");
    get_number(body, "presence_penalty");
}

std::optional<std::string> response_format_gbnf(const Json& body) {
    const Json* format = get_object(body, "response_format");
    if (!format) return std::nullopt;
    const std::string type = get_string(*format, "type").value_or("text");
    try {
        if (type == "text") return std::nullopt;
        if (type == "json_object") return json_object_gbnf();
        if (type == "json_schema") {
            const Json* spec = get_object(*format, "json_schema");
            const Json* schema = spec ? get_object(*spec, "schema") : nullptr;
            if (!schema)
                throw HttpError(400, "response_format json_schema needs json_schema.schema");
            return json_schema_to_gbnf(*schema);
        }
    } catch (const HttpError&) {
        throw;
    } catch (const Error& e) {
        throw HttpError(400, std::string("response_format: ") + e.what());
    }
    throw HttpError(
        400, "response_format.type must be text, json_object or json_schema, got '" + type + "'");
}

int top_logprobs_of(const Json& body, bool chat) {
    if (chat) {
        if (!get_bool(body, "logprobs").value_or(false)) return -1;
        const auto top = get_int(body, "top_logprobs").value_or(0);
        if (top < 0 || top > kMaxTopLogprobs)
            throw HttpError(400, "field 'top_logprobs' must be 0 to 20");
        return static_cast<int>(top);
    }
    const auto top = get_int(body, "logprobs");  // completions: an integer
    if (!top) return -1;
    if (*top < 0 || *top > kMaxTopLogprobs)
        throw HttpError(400, "field 'logprobs' must be 0 to 20");
    return static_cast<int>(*top);
}

Json bytes_of(const std::string& text) {
    Json out = Json::array();
    for (const unsigned char c : text) out.push_back(c);
    return out;
}

Json chat_logprobs(const std::vector<TokenLogprob>& logprobs) {
    Json content = Json::array();
    for (const auto& lp : logprobs) {
        Json top = Json::array();
        for (const auto& [token, value] : lp.top)
            top.push_back({{"token", token}, {"logprob", value}, {"bytes", bytes_of(token)}});
        content.push_back({{"token", lp.token},
                           {"logprob", lp.logprob},
                           {"bytes", bytes_of(lp.token)},
                           {"top_logprobs", top}});
    }
    return Json{{"content", content}};
}

Json completion_logprobs(const std::vector<TokenLogprob>& logprobs) {
    Json tokens = Json::array(), values = Json::array(), top = Json::array();
    for (const auto& lp : logprobs) {
        tokens.push_back(lp.token);
        values.push_back(lp.logprob);
        Json alternatives = Json::object();
        for (const auto& [token, value] : lp.top) alternatives[token] = value;
        top.push_back(alternatives);
    }
    return Json{{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", top}};
}

Json usage_of(const GenerateStats& s) {
    const int64_t prompt = s.prompt_tokens + s.cached_tokens;
    return Json{{"prompt_tokens", prompt},
                {"completion_tokens", s.generated_tokens},
                {"total_tokens", prompt + s.generated_tokens},
                {"prompt_tokens_details", {{"cached_tokens", s.cached_tokens}}}};
}

// The stream of a chat completion: role first, content and tool-call deltas, finish reason,
// usage when asked, [DONE].
struct ChatStreamState {
    Json head;  // id, object, created, model, system_fingerprint
    std::unique_ptr<ToolCallStream> tools;
    bool include_usage = false;
    bool want_logprobs = false;
    bool sent_role = false;
    size_t calls_sent = 0;

    std::string chunk(Json delta, const Json& logprobs, const Json& finish_reason) {
        Json c = head;
        c["choices"] = Json::array({Json{{"index", 0},
                                         {"delta", std::move(delta)},
                                         {"logprobs", logprobs},
                                         {"finish_reason", finish_reason}}});
        return sse(c);
    }

    std::string format(const GenerationEvent& e) {
        if (e.done && !e.error.empty())
            return sse(error_body(ApiFlavor::OpenAI, 500, "generation failed: " + e.error)) +
                   "data: [DONE]\n\n";
        std::string out;
        if (!sent_role) {
            out += chunk(Json{{"role", "assistant"}, {"content", ""}}, nullptr, nullptr);
            sent_role = true;
        }
        std::string content = e.text;
        std::vector<ToolCall> calls;
        if (tools) {
            auto update = tools->feed(e.text);
            if (e.done) {
                auto rest = tools->finish();
                update.content += rest.content;
                update.new_calls.insert(update.new_calls.end(), rest.new_calls.begin(),
                                        rest.new_calls.end());
            }
            content = std::move(update.content);
            calls = std::move(update.new_calls);
        }
        const Json logprobs =
            want_logprobs && !e.logprobs.empty() ? chat_logprobs(e.logprobs) : Json();
        if (!content.empty() || !logprobs.is_null())
            out += chunk(Json{{"content", content}}, logprobs, nullptr);
        if (!calls.empty()) {
            out += chunk(Json{{"tool_calls", openai_tool_calls(calls, calls_sent, true)}}, nullptr,
                         nullptr);
            calls_sent += calls.size();
        }
        if (e.done) {
            const std::string reason = calls_sent > 0 ? "tool_calls" : e.stats.stop_reason;
            out += chunk(Json::object(), nullptr, reason);
            if (include_usage) {
                Json u = head;
                u["choices"] = Json::array();
                u["usage"] = usage_of(e.stats);
                out += sse(u);
            }
            out += "data: [DONE]\n\n";
        }
        return out;
    }
};

GenerationPlan plan_openai(ServerContext& ctx, const Json& body, const std::string& model,
                           const ModelParameters& parameters) {
    GenerationPlan plan;
    plan.model_name = model;
    plan.lease = lease_model(ctx, model);
    if (const auto keep_alive = keep_alive_field(body)) plan.lease->set_keep_alive(*keep_alive);
    plan.request.options = generate_options(plan.lease->resolved(), parameters);
    return plan;
}

void chat_completions(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    const std::string model = require_string(body, "model");
    const Json* messages = get_array(body, "messages");
    if (!messages || messages->empty())
        throw HttpError(400, "field 'messages' must be a non-empty list");
    check_common_fields(body);
    const ModelParameters parameters = openai_parameters(body);
    const bool stream = get_bool(body, "stream").value_or(false);
    const Json normalized = normalize_messages(*messages);

    // Tools and tool_choice: "none" hides the tools, "required" or a named function forces a call.
    Json tools = get_array(body, "tools") ? body["tools"] : Json();
    std::optional<std::string> forced_function;
    bool force_call = false;
    if (const auto it = body.find("tool_choice"); it != body.end() && !it->is_null()) {
        if (it->is_string()) {
            const std::string choice = it->get<std::string>();
            if (choice == "none")
                tools = Json();
            else if (choice == "required")
                force_call = true;
            else if (choice != "auto")
                throw HttpError(
                    400,
                    "tool_choice must be none, auto, required or a function, got '" + choice + "'");
        } else if (it->is_object() && it->contains("function") && (*it)["function"].is_object() &&
                   (*it)["function"].contains("name") && (*it)["function"]["name"].is_string()) {
            force_call = true;
            forced_function = (*it)["function"]["name"].get<std::string>();
        } else {
            throw HttpError(400,
                            "tool_choice must be a string or {\"type\": \"function\", "
                            "\"function\": {\"name\": ...}}");
        }
    }
    const bool has_tools = tools.is_array() && !tools.empty();
    if (force_call && !has_tools)
        throw HttpError(400, "tool_choice requires a tool call but no tools were given");

    GenerationPlan plan = plan_openai(ctx, body, model, parameters);
    const ChatPrompt prompt = build_chat_prompt(*plan.lease, normalized, tools,
                                                get_string(body, "template").value_or(""));
    plan.request.prompt = prompt.tokens;
    std::optional<std::string> gbnf = response_format_gbnf(body);
    const ToolCallFormat call_format =
        force_call ? forced_call_format(prompt.tool_format) : prompt.tool_format;
    if (force_call) gbnf = forced_tool_call_gbnf(call_format, tools, forced_function);
    if (gbnf) plan.request.constraint = grammar_constraint(*plan.lease, *gbnf);
    plan.request.top_logprobs = top_logprobs_of(body, true);
    fit_context(plan, parameters.get_int("num_ctx").value_or(0),
                get_bool(body, "truncate").value_or(false));
    auto shared_plan = std::make_shared<GenerationPlan>(std::move(plan));
    auto events = submit(*shared_plan);

    Json head{{"id", "chatcmpl-" + random_id()},
              {"object", stream ? "chat.completion.chunk" : "chat.completion"},
              {"created", unix_seconds(shared_plan->created)},
              {"model", model},
              {"system_fingerprint", "uma"}};
    if (!stream) {
        const Completion done = run_to_completion(*events);
        Json message{{"role", "assistant"}, {"content", done.text}};
        std::string finish = done.stats.stop_reason;
        if (has_tools) {
            const ParsedReply parsed = parse_tool_calls(done.text, call_format);
            if (!parsed.tool_calls.empty()) {
                message["content"] = parsed.content.empty() ? Json() : Json(parsed.content);
                message["tool_calls"] = openai_tool_calls(parsed.tool_calls, 0, false);
                finish = "tool_calls";
            }
        }
        Json reply = head;
        reply["choices"] = Json::array(
            {Json{{"index", 0},
                  {"message", message},
                  {"logprobs",
                   shared_plan->request.top_logprobs >= 0 ? chat_logprobs(done.logprobs) : Json()},
                  {"finish_reason", finish}}});
        reply["usage"] = usage_of(done.stats);
        send_json(res, reply);
        return;
    }
    auto state = std::make_shared<ChatStreamState>();
    state->head = head;
    if (has_tools) state->tools = std::make_unique<ToolCallStream>(call_format);
    const Json* stream_options = get_object(body, "stream_options");
    state->include_usage =
        stream_options && get_bool(*stream_options, "include_usage").value_or(false);
    state->want_logprobs = shared_plan->request.top_logprobs >= 0;
    stream_generation(res, "text/event-stream", shared_plan->lease, events,
                      [state, shared_plan](const GenerationEvent& e) { return state->format(e); });
}

void completions(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    const std::string model = require_string(body, "model");
    check_common_fields(body);
    std::string prompt;
    if (const auto it = body.find("prompt"); it != body.end() && it->is_string()) {
        prompt = it->get<std::string>();
    } else if (it != body.end() && it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
        prompt = (*it)[0].get<std::string>();
    } else {
        throw HttpError(400, "field 'prompt' must be a string (or a list of one string)");
    }
    if (prompt.empty()) throw HttpError(400, "field 'prompt' must not be empty");
    const ModelParameters parameters = openai_parameters(body);
    const bool stream = get_bool(body, "stream").value_or(false);
    const bool echo = get_bool(body, "echo").value_or(false);
    GenerationPlan plan = plan_openai(ctx, body, model, parameters);
    plan.request.prompt = plan.lease->model().tokenizer->encode(prompt, true, true);
    if (const auto gbnf = response_format_gbnf(body))
        plan.request.constraint = grammar_constraint(*plan.lease, *gbnf);
    plan.request.top_logprobs = top_logprobs_of(body, false);
    fit_context(plan, parameters.get_int("num_ctx").value_or(0),
                get_bool(body, "truncate").value_or(false));
    auto shared_plan = std::make_shared<GenerationPlan>(std::move(plan));
    auto events = submit(*shared_plan);

    Json head{{"id", "cmpl-" + random_id()},
              {"object", "text_completion"},
              {"created", unix_seconds(shared_plan->created)},
              {"model", model},
              {"system_fingerprint", "uma"}};
    const bool want_logprobs = shared_plan->request.top_logprobs >= 0;
    if (!stream) {
        const Completion done = run_to_completion(*events);
        Json reply = head;
        reply["choices"] = Json::array(
            {Json{{"text", echo ? prompt + done.text : done.text},
                  {"index", 0},
                  {"logprobs", want_logprobs ? completion_logprobs(done.logprobs) : Json()},
                  {"finish_reason", done.stats.stop_reason}}});
        reply["usage"] = usage_of(done.stats);
        send_json(res, reply);
        return;
    }
    const Json* stream_options = get_object(body, "stream_options");
    const bool include_usage =
        stream_options && get_bool(*stream_options, "include_usage").value_or(false);
    auto echo_pending = std::make_shared<bool>(echo);
    stream_generation(
        res, "text/event-stream", shared_plan->lease, events,
        [head, include_usage, want_logprobs, echo_pending, prompt,
         shared_plan](const GenerationEvent& e) {
            if (e.done && !e.error.empty())
                return sse(error_body(ApiFlavor::OpenAI, 500, "generation failed: " + e.error)) +
                       "data: [DONE]\n\n";
            std::string text = e.text;
            if (*echo_pending) {
                text = prompt + text;
                *echo_pending = false;
            }
            std::string out;
            const auto choice = [&](const std::string& t, const Json& reason) {
                Json c = head;
                c["choices"] = Json::array({Json{{"text", t},
                                                 {"index", 0},
                                                 {"logprobs", want_logprobs && !e.logprobs.empty()
                                                                  ? completion_logprobs(e.logprobs)
                                                                  : Json()},
                                                 {"finish_reason", reason}}});
                return sse(c);
            };
            if (!text.empty() || (want_logprobs && !e.logprobs.empty()))
                out += choice(text, nullptr);
            if (e.done) {
                out += choice("", e.stats.stop_reason);
                if (include_usage) {
                    Json u = head;
                    u["choices"] = Json::array();
                    u["usage"] = usage_of(e.stats);
                    out += sse(u);
                }
                out += "data: [DONE]\n\n";
            }
            return out;
        });
}

void embeddings(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    const std::string model = require_string(body, "model");
    ctx.models.resolve(model);
    throw HttpError(400, "model '" + model +
                             "' does not support embeddings: it is a text generation model "
                             "(uma serves embeddings only from embedding models)");
}

}  // namespace

void register_openai_routes(httplib::Server& http, ServerContext& ctx) {
    http.Post("/v1/chat/completions",
              guarded(ApiFlavor::OpenAI,
                      [&ctx](const auto& req, auto& res) { chat_completions(ctx, req, res); }));
    http.Post("/v1/completions", guarded(ApiFlavor::OpenAI, [&ctx](const auto& req, auto& res) {
                  completions(ctx, req, res);
              }));
    http.Post("/v1/embeddings", guarded(ApiFlavor::OpenAI, [&ctx](const auto& req, auto& res) {
                  embeddings(ctx, req, res);
              }));
}

}  // namespace uma::server
