#include "uma/server/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "uma/core/error.h"

namespace uma {
namespace {

bool name_char(char c, bool first, bool colon) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return letter || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon) {
    if (name.empty()) return false;
    for (size_t i = 0; i < name.size(); ++i)
        if (!name_char(name[i], i == 0, colon)) return false;
    return true;
}

void require_metric_name(std::string_view name) {
    if (!prometheus_metric_name(name))
        throw Error("'" + std::string(name) + "' is not a Prometheus metric name");
}

}  // namespace

std::string prometheus_escape_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string prometheus_escape_help(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string prometheus_number(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (value == std::trunc(value) && std::fabs(value) < 1e15) {
        char text[32];
        std::snprintf(text, sizeof text, "%.0f", value);
        return text;
    }
    char text[64];
    const auto result = std::to_chars(text, text + sizeof text, value);
    return std::string(text, result.ptr);
}

bool prometheus_metric_name(std::string_view name) {
    return valid_name(name, true);
}

bool prometheus_label_name(std::string_view name) {
    return valid_name(name, false);
}

void PrometheusWriter::family(std::string_view name, std::string_view type, std::string_view help) {
    require_metric_name(name);
    if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
        type != "untyped")
        throw Error("'" + std::string(type) + "' is not a Prometheus metric type");
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += prometheus_escape_help(help);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
}

void PrometheusWriter::sample(std::string_view name, const PrometheusLabels& labels, double value) {
    require_metric_name(name);
    text_ += name;
    if (!labels.empty()) {
        text_ += '{';
        for (size_t i = 0; i < labels.size(); ++i) {
            if (!prometheus_label_name(labels[i].first))
                throw Error("'" + labels[i].first + "' is not a Prometheus label name");
            if (i > 0) text_ += ',';
            text_ += labels[i].first;
            text_ += "=\"";
            text_ += prometheus_escape_label(labels[i].second);
            text_ += '"';
        }
        text_ += '}';
    }
    text_ += ' ';
    text_ += prometheus_number(value);
    text_ += '\n';
}

void PrometheusWriter::histogram(std::string_view name, const PrometheusLabels& labels,
                                 std::span<const double> bounds, std::span<const uint64_t> counts,
                                 double sum) {
    if (counts.size() != bounds.size() + 1)
        throw Error("a histogram needs one count per bucket and one for +Inf");
    const std::string base(name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        PrometheusLabels with_le = labels;
        with_le.emplace_back(
            "le", i < bounds.size() ? prometheus_number(bounds[i]) : std::string("+Inf"));
        sample(base + "_bucket", with_le, double(cumulative));
    }
    sample(base + "_sum", labels, sum);
    sample(base + "_count", labels, double(cumulative));
}

}  // namespace uma
