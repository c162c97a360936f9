// GET /metrics: the server's metrics in the Prometheus text format, and the counting of every
// HTTP request by route and status.
#include <array>

#include "routes.h"
#include "uma/runtime/bandwidth.h"
#include "uma/runtime/machine_info.h"
#include "uma/server/prometheus_text.h"

namespace uma::server {
namespace {

// The routes requests are counted under; any other path is "other", so that probes of random
// paths cannot grow the label set without bound.
constexpr std::array<const char*, 14> kEndpoints = {"/",
                                                    "/metrics",
                                                    "/api/generate",
                                                    "/api/chat",
                                                    "/api/embed",
                                                    "/api/embeddings",
                                                    "/api/tags",
                                                    "/api/ps",
                                                    "/api/show",
                                                    "/api/version",
                                                    "/v1/chat/completions",
                                                    "/v1/completions",
                                                    "/v1/embeddings",
                                                    "/v1/models"};

PrometheusLabels model_label(const std::string& name) {
    return {{"model", name}};
}

std::string metrics_text(ServerContext& ctx) {
    const auto running = ctx.models.running();
    const auto models = ctx.metrics.models();
    PrometheusWriter w;

    w.family("uma_models_loaded", "gauge", "Models loaded now.");
    w.sample("uma_models_loaded", double(running.size()));
    w.family("uma_model_size_bytes", "gauge",
             "Memory of each loaded model: weights and KV caches, in bytes.");
    for (const auto& r : running)
        w.sample("uma_model_size_bytes", model_label(r.resolved.name), double(r.size));
    size_t active = 0, queued = 0;
    for (const auto& r : running) {
        active += r.active;
        queued += r.queued;
    }
    w.family("uma_requests_active", "gauge", "Generation requests in a slot, all models.");
    w.sample("uma_requests_active", double(active));
    w.family("uma_requests_queued", "gauge", "Generation requests waiting for a slot, all models.");
    w.sample("uma_requests_queued", double(queued));

    w.family("uma_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for (const auto& [key, count] : ctx.metrics.requests())
        w.sample("uma_http_requests_total",
                 {{"endpoint", key.first}, {"status", std::to_string(key.second)}}, double(count));

    // Per model counters and rates (models loaded at any time since the server started).
    const auto per_model = [&](const char* name, const char* type, const char* help, auto value) {
        w.family(name, type, help);
        for (const auto& [model, s] : models) w.sample(name, model_label(model), double(value(s)));
    };
    using Snapshot = ModelMetrics::Snapshot;
    per_model("uma_prompt_tokens_total", "counter",
              "Prompt tokens evaluated (those reused from the prefix cache not included).",
              [](const Snapshot& s) { return s.prompt_tokens; });
    per_model("uma_generated_tokens_total", "counter", "Tokens generated, end tokens included.",
              [](const Snapshot& s) { return s.generated_tokens; });
    per_model("uma_forward_passes_total", "counter", "Batched forward passes run.",
              [](const Snapshot& s) { return s.forward_passes; });
    per_model("uma_prompt_tokens_per_second", "gauge",
              "Prompt tokens evaluated per second over the last 5 seconds.",
              [](const Snapshot& s) { return s.rates.prompt_tokens_per_second; });
    per_model("uma_generation_tokens_per_second", "gauge",
              "Tokens generated per second over the last 5 seconds.",
              [](const Snapshot& s) { return s.rates.generation_tokens_per_second; });
    per_model("uma_generation_memory_bandwidth_bytes_per_second", "gauge",
              "Achieved memory read bandwidth while generating, over the last 5 seconds: the "
              "bytes the forward passes that generated tokens read (weights once per pass, "
              "plus each sequence's KV cache) per second.",
              [](const Snapshot& s) { return s.rates.generation_bytes_per_second; });
    per_model("uma_prefix_cache_lookups_total", "counter",
              "Requests that looked for their prompt's prefix in the slots' KV caches.",
              [](const Snapshot& s) { return s.prefix_lookups; });
    per_model("uma_prefix_cache_hits_total", "counter",
              "Requests that reused at least one prompt token from a slot's KV cache.",
              [](const Snapshot& s) { return s.prefix_hits; });
    per_model("uma_prefix_cache_reused_tokens_total", "counter",
              "Prompt tokens reused from the slots' KV caches instead of evaluated.",
              [](const Snapshot& s) { return s.prefix_cached_tokens; });

    // KV caches of the models loaded now.
    const auto per_loaded_model = [&](const char* name, const char* help, auto value) {
        w.family(name, "gauge", help);
        for (const auto& r : running)
            if (const auto it = models.find(r.resolved.name); it != models.end())
                w.sample(name, model_label(r.resolved.name), double(value(it->second)));
    };
    per_loaded_model("uma_kv_cache_cells_used",
                     "KV cache positions holding tokens, all slots of a loaded model.",
                     [](const Snapshot& s) { return s.kv_cells_used; });
    per_loaded_model("uma_kv_cache_cells_total",
                     "KV cache positions of all slots of a loaded model (allocated or to be).",
                     [](const Snapshot& s) { return s.kv_cells_total; });

    w.family("uma_time_to_first_token_seconds", "histogram",
             "Seconds from a request's queueing to its first generated token.");
    for (const auto& [model, s] : models)
        w.histogram("uma_time_to_first_token_seconds", model_label(model), Histogram::kBounds,
                    s.time_to_first_token.counts, s.time_to_first_token.sum);
    w.family("uma_request_duration_seconds", "histogram",
             "Seconds from a request's queueing to the end of its generation.");
    for (const auto& [model, s] : models)
        w.histogram("uma_request_duration_seconds", model_label(model), Histogram::kBounds,
                    s.request_duration.counts, s.request_duration.sum);

    // The machine: measured bandwidth only when `uma bench` (or `uma fit`) has cached it.
    if (const auto gbs = cached_read_bandwidth(ctx.options.models.threads)) {
        w.family("uma_machine_read_bandwidth_bytes_per_second", "gauge",
                 "The machine's memory read bandwidth with the server's thread count, as last "
                 "measured by 'uma bench' (absent until measured).");
        w.sample("uma_machine_read_bandwidth_bytes_per_second", *gbs * 1e9);
    }
    w.family("uma_memory_budget_bytes", "gauge", "Memory the server may use for models.");
    w.sample("uma_memory_budget_bytes", double(ctx.models.memory_budget()));
    w.family("process_resident_memory_bytes", "gauge", "Resident memory of the server process.");
    w.sample("process_resident_memory_bytes", double(current_rss_bytes()));
    return w.text();
}

}  // namespace

std::string endpoint_label(const std::string& path) {
    for (const char* endpoint : kEndpoints)
        if (path == endpoint) return endpoint;
    if (path.rfind("/v1/models/", 0) == 0) return "/v1/models/{model}";
    return "other";
}

void register_metrics_routes(httplib::Server& http, ServerContext& ctx) {
    http.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
        try {
            res.set_content(metrics_text(ctx), kPrometheusContentType);
        } catch (const std::exception& e) {
            res.status = 500;
            res.set_content(std::string("metrics failed: ") + e.what() + "\n", "text/plain");
        }
    });
}

}  // namespace uma::server
