// Ollama's generation endpoints: /api/generate, /api/chat (NDJSON streams) and /api/embed.
#include <memory>

#include "chat_input.h"
#include "routes.h"
#include "uma/runtime/chat_prompt.h"
#include "uma/sampling/json_schema.h"

namespace uma::server {
namespace {

Json ollama_header(const std::string& model) {
    return Json{{"model", model}, {"created_at", rfc3339(std::chrono::system_clock::now())}};
}

void add_timings(Json& j, const GenerationPlan& plan, const GenerateStats& s) {
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - plan.received).count();
    j["total_duration"] = nanoseconds(total);
    j["load_duration"] = nanoseconds(plan.lease->load_seconds());
    j["prompt_eval_count"] = s.prompt_tokens + s.cached_tokens;
    j["prompt_eval_duration"] = nanoseconds(s.prompt_seconds);
    j["prompt_cache_count"] = s.cached_tokens;  // extension: prompt tokens reused from the cache
    j["eval_count"] = s.generated_tokens;
    j["eval_duration"] = nanoseconds(s.generate_seconds);
}

// Requests without a prompt or messages only load (or, with keep_alive 0, unload) the model.
bool handle_load_or_unload(ServerContext& ctx, const Json& body, const std::string& model,
                           httplib::Response& res, bool chat) {
    const auto keep_alive = keep_alive_field(body);
    Json reply = ollama_header(model);
    if (chat)
        reply["message"] = {{"role", "assistant"}, {"content", ""}};
    else
        reply["response"] = "";
    reply["done"] = true;
    if (keep_alive && keep_alive->count() == 0) {
        ctx.models.resolve(model);  // 404 for unknown names
        ctx.models.unload(model);
        reply["done_reason"] = "unload";
    } else {
        auto lease = lease_model(ctx, model);
        if (keep_alive) lease->set_keep_alive(*keep_alive);
        reply["done_reason"] = "load";
    }
    send_json(res, reply);
    return true;
}

// The fields /api/generate and /api/chat share: options, context size, structured output.
GenerationPlan plan_generation(ServerContext& ctx, const Json& body, const std::string& model) {
    GenerationPlan plan;
    plan.model_name = model;
    plan.lease = lease_model(ctx, model);
    if (const auto keep_alive = keep_alive_field(body)) plan.lease->set_keep_alive(*keep_alive);
    const ModelParameters options = parse_options(body);
    plan.request.options = generate_options(plan.lease->resolved(), options);
    if (const auto gbnf = ollama_format_gbnf(body))
        plan.request.constraint = grammar_constraint(*plan.lease, *gbnf);
    return plan;
}

int64_t requested_ctx(const Json& body) {
    const Json* options = get_object(body, "options");
    return options ? get_int(*options, "num_ctx").value_or(0) : 0;
}

void generate(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    const std::string model = require_string(body, "model");
    const std::string prompt = get_string(body, "prompt").value_or("");
    const bool stream = get_bool(body, "stream").value_or(true);
    if (const Json* images = get_array(body, "images"); images && !images->empty())
        throw HttpError(400, "images are not supported by this server's models");
    if (prompt.empty() && !body.contains("context")) {
        handle_load_or_unload(ctx, body, model, res, false);
        return;
    }
    GenerationPlan plan = plan_generation(ctx, body, model);
    const auto& lease = *plan.lease;
    const Tokenizer& tokenizer = *lease.model().tokenizer;
    const bool raw = get_bool(body, "raw").value_or(false);
    const auto system = get_string(body, "system");
    const std::string template_override = get_string(body, "template").value_or("");
    std::vector<TokenId> tokens;
    if (raw) {
        tokens = tokenizer.encode(prompt, true, true);
    } else if (!template_override.empty() || has_chat_template(lease)) {
        Json messages = Json::array();
        if (system) messages.push_back({{"role", "system"}, {"content", *system}});
        messages.push_back({{"role", "user"}, {"content", prompt}});
        tokens = build_chat_prompt(lease, messages, nullptr, template_override).tokens;
    } else {
        // A model without a chat template continues the text (its Modelfile SYSTEM first).
        const auto sys = system ? system : lease.resolved().system;
        tokens = tokenizer.encode(sys ? *sys + "\n\n" + prompt : prompt, true, false);
    }
    if (const Json* context = get_array(body, "context")) {
        // An earlier answer's `context` continues that conversation.
        std::vector<TokenId> joined;
        for (const auto& t : *context) {
            if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
                t.get<int64_t>() >= tokenizer.vocab_size())
                throw HttpError(400, "field 'context' must be a list of token ids");
            joined.push_back(t.get<TokenId>());
        }
        size_t skip =
            !joined.empty() && !tokens.empty() && tokens.front() == tokenizer.bos() ? 1 : 0;
        joined.insert(joined.end(), tokens.begin() + static_cast<ptrdiff_t>(skip), tokens.end());
        tokens = std::move(joined);
    }
    plan.request.prompt = tokens;
    fit_context(plan, requested_ctx(body), get_bool(body, "truncate").value_or(false));
    const auto prompt_tokens = plan.request.prompt;
    auto shared_plan = std::make_shared<GenerationPlan>(std::move(plan));
    auto events = submit(*shared_plan);

    if (!stream) {
        const Completion done = run_to_completion(*events);
        Json reply = ollama_header(model);
        reply["response"] = done.text;
        reply["done"] = true;
        reply["done_reason"] = done.stats.stop_reason;
        Json context = prompt_tokens;
        for (TokenId t : done.tokens) context.push_back(t);
        reply["context"] = context;
        add_timings(reply, *shared_plan, done.stats);
        send_json(res, reply);
        return;
    }
    auto context = std::make_shared<std::vector<TokenId>>(prompt_tokens);
    stream_generation(res, "application/x-ndjson", shared_plan->lease, events,
                      [shared_plan, model, context](const GenerationEvent& e) {
                          context->insert(context->end(), e.tokens.begin(), e.tokens.end());
                          Json chunk = ollama_header(model);
                          if (e.done && !e.error.empty())
                              return Json{{"error", e.error}}.dump() + "\n";
                          if (!e.done && e.text.empty()) return std::string();
                          chunk["response"] = e.text;
                          chunk["done"] = e.done;
                          if (e.done) {
                              chunk["done_reason"] = e.stats.stop_reason;
                              chunk["context"] = *context;
                              add_timings(chunk, *shared_plan, e.stats);
                          }
                          return chunk.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
                      });
}

void chat(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    const std::string model = require_string(body, "model");
    const Json* messages = get_array(body, "messages");
    const bool stream = get_bool(body, "stream").value_or(true);
    if (!messages || messages->empty()) {
        handle_load_or_unload(ctx, body, model, res, true);
        return;
    }
    const Json normalized = normalize_messages(*messages);
    const Json* tools_field = get_array(body, "tools");
    const Json tools = tools_field ? *tools_field : Json();
    GenerationPlan plan = plan_generation(ctx, body, model);
    const ChatPrompt prompt = build_chat_prompt(*plan.lease, normalized, tools,
                                                get_string(body, "template").value_or(""));
    plan.request.prompt = prompt.tokens;
    fit_context(plan, requested_ctx(body), get_bool(body, "truncate").value_or(false));
    const bool parse_tools = tools.is_array() && !tools.empty();
    auto shared_plan = std::make_shared<GenerationPlan>(std::move(plan));
    auto events = submit(*shared_plan);

    if (!stream) {
        const Completion done = run_to_completion(*events);
        Json message{{"role", "assistant"}, {"content", done.text}};
        if (parse_tools) {
            const ParsedReply parsed = parse_tool_calls(done.text, prompt.tool_format);
            message["content"] = parsed.content;
            if (!parsed.tool_calls.empty())
                message["tool_calls"] = ollama_tool_calls(parsed.tool_calls);
        }
        Json reply = ollama_header(model);
        reply["message"] = message;
        reply["done"] = true;
        reply["done_reason"] = done.stats.stop_reason;
        add_timings(reply, *shared_plan, done.stats);
        send_json(res, reply);
        return;
    }
    auto tool_stream = parse_tools ? std::make_shared<ToolCallStream>(prompt.tool_format)
                                   : std::shared_ptr<ToolCallStream>();
    stream_generation(
        res, "application/x-ndjson", shared_plan->lease, events,
        [shared_plan, model, tool_stream](const GenerationEvent& e) {
            if (e.done && !e.error.empty()) return Json{{"error", e.error}}.dump() + "\n";
            std::string content = e.text;
            std::vector<ToolCall> calls;
            if (tool_stream) {
                auto update = tool_stream->feed(e.text);
                if (e.done) {
                    auto rest = tool_stream->finish();
                    update.content += rest.content;
                    update.new_calls.insert(update.new_calls.end(), rest.new_calls.begin(),
                                            rest.new_calls.end());
                }
                content = std::move(update.content);
                calls = std::move(update.new_calls);
            }
            std::string out;
            if (!content.empty() || !calls.empty()) {
                Json chunk = ollama_header(model);
                chunk["message"] = {{"role", "assistant"}, {"content", content}};
                if (!calls.empty()) chunk["message"]["tool_calls"] = ollama_tool_calls(calls);
                chunk["done"] = false;
                out += chunk.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
            }
            if (e.done) {
                Json last = ollama_header(model);
                last["message"] = {{"role", "assistant"}, {"content", ""}};
                last["done"] = true;
                last["done_reason"] = e.stats.stop_reason;
                add_timings(last, *shared_plan, e.stats);
                out += last.dump() + "\n";
            }
            return out;
        });
}

void embed(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    const std::string model = require_string(body, "model");
    const ResolvedModel resolved = ctx.models.resolve(model);
    throw HttpError(400, "model '" + model +
                             "' does not support embeddings: it is a text generation model "
                             "(uma serves embeddings only from embedding models)");
}

}  // namespace

std::optional<KeepAlive> keep_alive_field(const Json& body) {
    const auto it = body.find("keep_alive");
    if (it == body.end() || it->is_null()) return std::nullopt;
    try {
        if (it->is_number()) {
            const double seconds = it->get<double>();
            return seconds < 0 ? KeepAlive(-1) : KeepAlive(static_cast<int64_t>(seconds * 1000));
        }
        if (it->is_string()) return parse_keep_alive(it->get<std::string>());
    } catch (const Error& e) {
        throw HttpError(400, e.what());
    }
    throw HttpError(400, std::string("field 'keep_alive' must be a duration string or a number of "
                                     "seconds, got ") +
                             it->type_name());
}

std::optional<std::string> ollama_format_gbnf(const Json& body) {
    const auto it = body.find("format");
    if (it == body.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty()))
        return std::nullopt;
    if (!it->is_string() && !it->is_object())
        throw HttpError(400, "field 'format' must be \"json\" or a JSON schema object");
    try {
        return format_to_gbnf(*it);
    } catch (const Error& e) {
        throw HttpError(400, std::string("format: ") + e.what());
    }
}

void register_ollama_routes(httplib::Server& http, ServerContext& ctx) {
    http.Post("/api/generate", guarded(ApiFlavor::Ollama, [&ctx](const auto& req, auto& res) {
                  generate(ctx, req, res);
              }));
    http.Post("/api/chat", guarded(ApiFlavor::Ollama,
                                   [&ctx](const auto& req, auto& res) { chat(ctx, req, res); }));
    http.Post("/api/embed", guarded(ApiFlavor::Ollama,
                                    [&ctx](const auto& req, auto& res) { embed(ctx, req, res); }));
    http.Post("/api/embeddings", guarded(ApiFlavor::Ollama, [&ctx](const auto& req, auto& res) {
                  embed(ctx, req, res);
              }));
}

}  // namespace uma::server
