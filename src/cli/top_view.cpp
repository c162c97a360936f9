#include "top_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "format.h"

namespace uma::cli {
namespace {

// The endpoints that generate: what "generation requests" counts.
bool generation_endpoint(const std::string& endpoint) {
    return endpoint == "/api/generate" || endpoint == "/api/chat" ||
           endpoint == "/v1/chat/completions" || endpoint == "/v1/completions";
}

std::string format(const char* pattern, double value) {
    char text[64];
    std::snprintf(text, sizeof text, pattern, value);
    return text;
}

std::string bytes(double n) {
    return human_bytes(static_cast<size_t>(std::max(0.0, n)));
}

std::string gigabytes_per_second(double bytes_per_second) {
    return format("%.2f GB/s", bytes_per_second / 1e9);
}

std::string percent(double part, double whole) {
    return whole > 0 ? format("%.0f%%", 100 * part / whole) : "-";
}

// "[#####.....]" with `inner` characters between the brackets.
std::string bar(double fraction, int inner) {
    inner = std::max(inner, 1);
    const int filled =
        static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * double(inner)));
    return "[" + std::string(size_t(filled), '#') + std::string(size_t(inner - filled), '.') + "]";
}

std::string pad(std::string text, size_t width, bool right = false) {
    if (text.size() >= width) return text;
    const std::string fill(width - text.size(), ' ');
    return right ? fill + text : text + fill;
}

std::string title(const std::string& address, const std::string& status, int width) {
    const std::string left = "uma top  " + address;
    const size_t room = size_t(std::max(width, 0));
    if (status.empty() || left.size() + 2 + status.size() > room) return left;
    return left + std::string(room - left.size() - status.size(), ' ') + status;
}

void clip(std::vector<std::string>& lines, int width) {
    for (auto& line : lines)
        if (line.size() > size_t(std::max(width, 0))) line.resize(size_t(std::max(width, 0)));
}

}  // namespace

TopData top_data(const PrometheusScrape& metrics, const nlohmann::json& ps) {
    TopData d;
    d.active = metrics.value("uma_requests_active").value_or(0);
    d.queued = metrics.value("uma_requests_queued").value_or(0);
    for (const auto* s : metrics.find("uma_http_requests_total")) {
        if (!generation_endpoint(s->label("endpoint").value_or(""))) continue;
        d.generation_requests += s->value;
        if (std::atoi(s->label("status").value_or("0").c_str()) >= 400)
            d.failed_requests += s->value;
    }
    d.prompt_tokens_per_second = metrics.sum("uma_prompt_tokens_per_second");
    d.generation_tokens_per_second = metrics.sum("uma_generation_tokens_per_second");
    d.bandwidth = metrics.sum("uma_generation_memory_bandwidth_bytes_per_second");
    d.machine_bandwidth = metrics.value("uma_machine_read_bandwidth_bytes_per_second");
    d.resident_bytes = metrics.value("process_resident_memory_bytes").value_or(0);
    d.budget_bytes = metrics.value("uma_memory_budget_bytes").value_or(0);
    d.prefix_lookups = metrics.sum("uma_prefix_cache_lookups_total");
    d.prefix_hits = metrics.sum("uma_prefix_cache_hits_total");
    d.reused_tokens = metrics.sum("uma_prefix_cache_reused_tokens_total");
    d.prompt_tokens = metrics.sum("uma_prompt_tokens_total");
    d.generated_tokens = metrics.sum("uma_generated_tokens_total");

    const auto models =
        ps.is_object() ? ps.value("models", nlohmann::json::array()) : nlohmann::json::array();
    for (const auto& m : models) {
        if (!m.is_object()) continue;
        TopModel t;
        t.name = m.value("name", "");
        t.size_bytes = m.value("size", 0.0);
        t.context_length = m.value("context_length", int64_t{0});
        t.parallel = m.value("parallel", int64_t{0});
        t.active = m.value("active_requests", int64_t{0});
        t.queued = m.value("queued_requests", int64_t{0});
        const PrometheusLabels label = {{"model", t.name}};
        t.kv_used = metrics.value("uma_kv_cache_cells_used", label).value_or(0);
        t.kv_total = metrics.value("uma_kv_cache_cells_total", label).value_or(0);
        t.prompt_tokens_per_second =
            metrics.value("uma_prompt_tokens_per_second", label).value_or(0);
        t.generation_tokens_per_second =
            metrics.value("uma_generation_tokens_per_second", label).value_or(0);
        d.models.push_back(std::move(t));
    }
    return d;
}

std::vector<std::string> render_top(const TopData& d, const std::string& address,
                                    const std::string& status, int width) {
    std::vector<std::string> lines;
    lines.push_back(title(address, status, width));
    lines.emplace_back();
    lines.push_back("Requests      active " + format("%.0f", d.active) + "   queued " +
                    format("%.0f", d.queued) + "   generation requests " +
                    format("%.0f", d.generation_requests) + " (" +
                    format("%.0f", d.failed_requests) + " failed)");
    lines.push_back("Tokens/s      prompt " + format("%.1f", d.prompt_tokens_per_second) +
                    "   generation " + format("%.1f", d.generation_tokens_per_second));
    if (d.machine_bandwidth && *d.machine_bandwidth > 0) {
        const std::string numbers = gigabytes_per_second(d.bandwidth) + " of " +
                                    gigabytes_per_second(*d.machine_bandwidth) + " (" +
                                    percent(d.bandwidth, *d.machine_bandwidth) + ")";
        const int inner = std::clamp(width - 14 - 2 - 2 - int(numbers.size()), 10, 60);
        lines.push_back("Bandwidth     " + bar(d.bandwidth / *d.machine_bandwidth, inner) + "  " +
                        numbers);
    } else {
        lines.push_back("Bandwidth     " + gigabytes_per_second(d.bandwidth) +
                        " (machine limit not measured: run 'uma bench MODEL' once)");
    }
    lines.push_back("Memory        " + bytes(d.resident_bytes) + " resident" +
                    (d.budget_bytes > 0 ? " (model budget " + bytes(d.budget_bytes) + ")" : ""));
    lines.push_back("Prefix cache  hit rate " + percent(d.prefix_hits, d.prefix_lookups) + " (" +
                    format("%.0f", d.prefix_hits) + " of " + format("%.0f", d.prefix_lookups) +
                    " requests), " + format("%.0f", d.reused_tokens) + " tokens reused");
    lines.push_back("Tokens        " + format("%.0f", d.prompt_tokens) + " prompt, " +
                    format("%.0f", d.generated_tokens) + " generated");
    lines.emplace_back();

    const size_t name_width = 24;
    lines.push_back(pad("MODEL", name_width) + " " + pad("SIZE", 10) + " " +
                    pad("ACTIVE", 6, true) + " " + pad("QUEUED", 6, true) + " " +
                    pad("PROMPT t/s", 11, true) + " " + pad("GEN t/s", 10, true) + "  KV CACHE");
    if (d.models.empty()) lines.emplace_back("(no model loaded)");
    for (const auto& m : d.models) {
        const std::string kv = bar(m.kv_total > 0 ? m.kv_used / m.kv_total : 0, 10) + " " +
                               format("%.0f", m.kv_used) + "/" + format("%.0f", m.kv_total) + " (" +
                               percent(m.kv_used, m.kv_total) + ")";
        std::string name = m.name;
        if (name.size() > name_width) name = "..." + name.substr(name.size() - name_width + 3);
        lines.push_back(pad(name, name_width) + " " + pad(bytes(m.size_bytes), 10) + " " +
                        pad(std::to_string(m.active), 6, true) + " " +
                        pad(std::to_string(m.queued), 6, true) + " " +
                        pad(format("%.1f", m.prompt_tokens_per_second), 11, true) + " " +
                        pad(format("%.1f", m.generation_tokens_per_second), 10, true) + "  " + kv);
    }
    clip(lines, width);
    return lines;
}

std::vector<std::string> render_unreachable(const std::string& address, const std::string& error,
                                            const std::string& status, int width) {
    std::vector<std::string> lines = {title(address, status, width), ""};
    // The error wrapped, as it is what the user needs to read.
    std::string rest = "Cannot reach the server: " + error;
    const size_t room = size_t(std::max(width, 20));
    while (rest.size() > room) {
        size_t cut = rest.rfind(' ', room);
        if (cut == std::string::npos || cut == 0) cut = room;
        lines.push_back(rest.substr(0, cut));
        rest = rest.substr(rest[cut] == ' ' ? cut + 1 : cut);
    }
    lines.push_back(rest);
    lines.emplace_back("Retrying; q quits.");
    clip(lines, width);
    return lines;
}

}  // namespace uma::cli
