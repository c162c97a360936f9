#include "uma/server/prometheus_parse.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "uma/core/error.h"

namespace uma {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

// One line, read left to right; errors name the line.
class LineReader {
  public:
    LineReader(std::string_view line, size_t number) : line_(line), number_(number) {}

    bool at_end() const { return pos_ >= line_.size(); }
    char peek() const { return at_end() ? '\0' : line_[pos_]; }
    void skip_spaces() {
        while (!at_end() && is_space(line_[pos_])) ++pos_;
    }
    bool consume(char c) {
        if (peek() != c) return false;
        ++pos_;
        return true;
    }
    void expect(char c, const std::string& what) {
        if (!consume(c)) fail("expected " + what);
    }
    // A run of characters valid in a metric (colons) or label name.
    std::string_view name(bool colon) {
        const size_t start = pos_;
        while (!at_end()) {
            const char c = line_[pos_];
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                            (colon && c == ':') || (pos_ > start && c >= '0' && c <= '9');
            if (!ok) break;
            ++pos_;
        }
        return line_.substr(start, pos_ - start);
    }
    // Up to the next space or tab.
    std::string_view token() {
        const size_t start = pos_;
        while (!at_end() && !is_space(line_[pos_])) ++pos_;
        return line_.substr(start, pos_ - start);
    }
    std::string_view rest() const { return at_end() ? std::string_view() : line_.substr(pos_); }
    // A double-quoted label value, unescaped.
    std::string quoted() {
        expect('"', "'\"' to open a label value");
        std::string out;
        for (;;) {
            if (at_end()) fail("unterminated label value");
            const char c = line_[pos_++];
            if (c == '"') return out;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_end()) fail("unterminated label value");
            const char e = line_[pos_++];
            if (e == 'n')
                out += '\n';
            else if (e == '\\' || e == '"')
                out += e;
            else
                fail(std::string("unknown escape \\") + e + " in a label value");
        }
    }
    [[noreturn]] void fail(const std::string& what) const {
        throw Error("metrics line " + std::to_string(number_) + ": " + what + ": '" +
                    std::string(line_) + "'");
    }

  private:
    std::string_view line_;
    size_t number_;
    size_t pos_ = 0;
};

std::optional<double> parse_value(std::string_view text) {
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
    if (text == "-Inf") return -std::numeric_limits<double>::infinity();
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    if (text.empty()) return std::nullopt;
    double value = 0;
    const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
    if (result.ec != std::errc() || result.ptr != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string unescape_help(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '\\' || text[i + 1] == 'n')) {
            out += text[i + 1] == 'n' ? '\n' : '\\';
            ++i;
        } else {
            out += text[i];
        }
    }
    return out;
}

void parse_comment(LineReader& in, PrometheusScrape& out) {
    in.expect('#', "'#'");
    in.skip_spaces();
    const std::string_view keyword = in.token();
    if (keyword != "HELP" && keyword != "TYPE") return;  // any other comment is ignored
    in.skip_spaces();
    const std::string name(in.name(true));
    if (name.empty()) in.fail("expected a metric name after " + std::string(keyword));
    if (keyword == "HELP") {
        if (!in.at_end() && !is_space(in.peek())) in.fail("bad metric name");
        in.skip_spaces();
        out.help[name] = unescape_help(in.rest());
        return;
    }
    in.skip_spaces();
    const std::string type(in.token());
    in.skip_spaces();
    if (!in.at_end()) in.fail("unexpected text after the type");
    if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
        type != "untyped")
        in.fail("unknown metric type '" + type + "'");
    out.types[name] = type;
}

PrometheusSample parse_sample(LineReader& in) {
    PrometheusSample s;
    s.name = in.name(true);
    if (s.name.empty()) in.fail("expected a metric name");
    in.skip_spaces();
    if (in.consume('{')) {
        for (;;) {
            in.skip_spaces();
            if (in.consume('}')) break;
            std::string key(in.name(false));
            if (key.empty()) in.fail("expected a label name");
            in.skip_spaces();
            in.expect('=', "'=' after label " + key);
            in.skip_spaces();
            s.labels.emplace_back(std::move(key), in.quoted());
            in.skip_spaces();
            if (in.consume('}')) break;
            in.expect(',', "',' or '}' after a label");
        }
        in.skip_spaces();
    }
    const std::string_view value_text = in.token();
    if (value_text.empty()) in.fail("expected a value");
    const auto value = parse_value(value_text);
    if (!value) in.fail("cannot read '" + std::string(value_text) + "' as a number");
    s.value = *value;
    in.skip_spaces();
    if (!in.at_end()) {
        const std::string_view stamp = in.token();
        int64_t ms = 0;
        const auto result = std::from_chars(stamp.data(), stamp.data() + stamp.size(), ms);
        if (result.ec != std::errc() || result.ptr != stamp.data() + stamp.size())
            in.fail("cannot read '" + std::string(stamp) + "' as a timestamp");
        s.timestamp_ms = ms;
        in.skip_spaces();
        if (!in.at_end()) in.fail("unexpected text after the timestamp");
    }
    return s;
}

}  // namespace

std::optional<std::string> PrometheusSample::label(std::string_view key) const {
    for (const auto& [k, v] : labels)
        if (k == key) return v;
    return std::nullopt;
}

bool PrometheusSample::has_labels(const PrometheusLabels& match) const {
    for (const auto& [key, value] : match)
        if (label(key) != value) return false;
    return true;
}

std::vector<const PrometheusSample*> PrometheusScrape::find(std::string_view name,
                                                            const PrometheusLabels& match) const {
    std::vector<const PrometheusSample*> out;
    for (const auto& s : samples)
        if (s.name == name && s.has_labels(match)) out.push_back(&s);
    return out;
}

std::optional<double> PrometheusScrape::value(std::string_view name,
                                              const PrometheusLabels& match) const {
    for (const auto& s : samples)
        if (s.name == name && s.has_labels(match)) return s.value;
    return std::nullopt;
}

double PrometheusScrape::sum(std::string_view name, const PrometheusLabels& match) const {
    double total = 0;
    for (const auto* s : find(name, match)) total += s->value;
    return total;
}

PrometheusScrape parse_prometheus_text(std::string_view text) {
    PrometheusScrape out;
    size_t number = 0;
    while (!text.empty()) {
        const size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        ++number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        LineReader in(line, number);
        in.skip_spaces();
        if (in.at_end()) continue;
        if (in.peek() == '#')
            parse_comment(in, out);
        else
            out.samples.push_back(parse_sample(in));
    }
    return out;
}

}  // namespace uma
