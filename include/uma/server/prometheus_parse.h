#pragma once
// Reading the Prometheus text exposition format (version 0.0.4), as `uma top` reads a server's
// /metrics.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uma/server/prometheus_text.h"

namespace uma {

struct PrometheusSample {
    std::string name;
    PrometheusLabels labels;  // unescaped, in the order written
    double value = 0;
    std::optional<int64_t> timestamp_ms;

    // The value of label `key`, or nullopt when the sample has no such label.
    std::optional<std::string> label(std::string_view key) const;
    // Whether the sample has every label of `match` with the same value.
    bool has_labels(const PrometheusLabels& match) const;
};

struct PrometheusScrape {
    std::vector<PrometheusSample> samples;     // in the order written
    std::map<std::string, std::string> types;  // family -> counter, gauge, histogram, ...
    std::map<std::string, std::string> help;   // family -> unescaped help text

    // The samples named `name` that have the labels of `match`.
    std::vector<const PrometheusSample*> find(std::string_view name,
                                              const PrometheusLabels& match = {}) const;
    // The first such sample's value; nullopt when there is none.
    std::optional<double> value(std::string_view name, const PrometheusLabels& match = {}) const;
    // The sum of their values (0 when there are none).
    double sum(std::string_view name, const PrometheusLabels& match = {}) const;
};

// Throws uma::Error naming the line and what is wrong with it.
PrometheusScrape parse_prometheus_text(std::string_view text);

}  // namespace uma
