#pragma once
// What `uma top` shows: a server's /metrics and /api/ps gathered into one frame, rendered as
// plain text lines (printed by --once, drawn by the ncurses screen).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "uma/server/prometheus_parse.h"

namespace uma::cli {

struct TopModel {
    std::string name;
    double size_bytes = 0;
    int64_t context_length = 0;
    int64_t parallel = 0;
    int64_t active = 0;
    int64_t queued = 0;
    double kv_used = 0, kv_total = 0;
    double prompt_tokens_per_second = 0;
    double generation_tokens_per_second = 0;
};

struct TopData {
    double active = 0, queued = 0;
    double generation_requests = 0, failed_requests = 0;  // generation endpoints, status >= 400
    double prompt_tokens_per_second = 0, generation_tokens_per_second = 0;
    double bandwidth = 0;                     // achieved while generating, bytes/s
    std::optional<double> machine_bandwidth;  // measured limit, bytes/s
    double resident_bytes = 0, budget_bytes = 0;
    double prefix_lookups = 0, prefix_hits = 0, reused_tokens = 0;
    double prompt_tokens = 0, generated_tokens = 0;
    std::vector<TopModel> models;
};

// From a scrape of /metrics and the JSON of /api/ps.
TopData top_data(const PrometheusScrape& metrics, const nlohmann::json& ps);

// The frame, each line at most `width` columns. `address` and `status` go in the title line.
std::vector<std::string> render_top(const TopData& data, const std::string& address,
                                    const std::string& status, int width);
// The frame when the server cannot be reached.
std::vector<std::string> render_unreachable(const std::string& address, const std::string& error,
                                            const std::string& status, int width);

}  // namespace uma::cli
