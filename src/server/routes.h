#pragma once
#include <httplib.h>

#include "generation.h"

namespace uma::server {

// /api/generate, /api/chat, /api/embed (ollama_routes.cpp)
void register_ollama_routes(httplib::Server& http, ServerContext& ctx);
// /api/tags, /api/ps, /api/show, /api/version, /v1/models (model_routes.cpp)
void register_model_routes(httplib::Server& http, ServerContext& ctx);
// /v1/chat/completions, /v1/completions, /v1/embeddings (openai_routes.cpp)
void register_openai_routes(httplib::Server& http, ServerContext& ctx);
// /metrics (metrics_routes.cpp)
void register_metrics_routes(httplib::Server& http, ServerContext& ctx);
// The route a request path is counted under in uma_http_requests_total: the path of a known
// route, "/v1/models/{model}", or "other".
std::string endpoint_label(const std::string& path);

// Ollama's keep_alive field: a duration string or a number of seconds; nullopt when absent.
std::optional<KeepAlive> keep_alive_field(const Json& body);
// Ollama's `format` / OpenAI's `response_format` into GBNF; nullopt when output is free text.
std::optional<std::string> ollama_format_gbnf(const Json& body);

}  // namespace uma::server
