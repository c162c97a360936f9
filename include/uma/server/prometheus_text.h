#pragma once
// Writing the Prometheus text exposition format (version 0.0.4): # HELP and # TYPE lines, then
// the samples of each metric family, with label values and help texts escaped.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uma {

using PrometheusLabels = std::vector<std::pair<std::string, std::string>>;

// The Content-Type of the format.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// A label value: backslash, double quote and line feed as \\, \" and \n.
std::string prometheus_escape_label(std::string_view value);
// A # HELP text: backslash and line feed as \\ and \n.
std::string prometheus_escape_help(std::string_view text);
// A sample value: integers exactly, others in the shortest form that reads back the same,
// NaN, +Inf and -Inf.
std::string prometheus_number(double value);
// [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no colons).
bool prometheus_metric_name(std::string_view name);
bool prometheus_label_name(std::string_view name);

class PrometheusWriter {
  public:
    // Starts a family: its # HELP and # TYPE lines. `type` is counter, gauge, histogram, summary
    // or untyped. Throws uma::Error for a name or type the format does not allow.
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, const PrometheusLabels& labels, double value);
    void sample(std::string_view name, double value) { sample(name, {}, value); }
    // A histogram's cumulative NAME_bucket samples (with le labels, +Inf last), NAME_sum and
    // NAME_count. `counts` has one count per bucket, not cumulative: bounds.size() + 1 of them.
    void histogram(std::string_view name, const PrometheusLabels& labels,
                   std::span<const double> bounds, std::span<const uint64_t> counts, double sum);

    const std::string& text() const { return text_; }

  private:
    std::string text_;
};

}  // namespace uma
