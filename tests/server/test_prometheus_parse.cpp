// Reading the Prometheus text format, as `uma top` reads /metrics.
#include <gtest/gtest.h>

#include <cmath>

#include "uma/core/error.h"
#include "uma/server/prometheus_parse.h"

namespace uma {
namespace {

TEST(PrometheusParse, ReadsSamplesLabelsHelpAndTypes) {
    const auto s = parse_prometheus_text(
        "# HELP http_requests_total The total number of HTTP requests.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
        "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
        "\n"
        "# A plain comment, ignored\n"
        "metric_without_timestamp_and_labels 12.47\n"
        "  indented_metric\t-3e2\n");
    ASSERT_EQ(s.samples.size(), 4u);
    EXPECT_EQ(s.samples[0].name, "http_requests_total");
    EXPECT_EQ(s.samples[0].label("method"), "post");
    EXPECT_EQ(s.samples[0].label("code"), "200");
    EXPECT_EQ(s.samples[0].label("missing"), std::nullopt);
    EXPECT_EQ(s.samples[0].value, 1027);
    EXPECT_EQ(s.samples[0].timestamp_ms, 1395066363000);
    EXPECT_EQ(s.samples[2].timestamp_ms, std::nullopt);
    EXPECT_DOUBLE_EQ(s.samples[2].value, 12.47);
    EXPECT_EQ(s.samples[3].name, "indented_metric");
    EXPECT_EQ(s.samples[3].value, -300);
    EXPECT_EQ(s.types.at("http_requests_total"), "counter");
    EXPECT_EQ(s.help.at("http_requests_total"), "The total number of HTTP requests.");
}

TEST(PrometheusParse, UnescapesLabelValuesAndHelp) {
    const auto s = parse_prometheus_text(
        "# HELP m A \\\\ backslash and\\nnewline, \"quotes\" kept\n"
        "m{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\",} 1\n");
    ASSERT_EQ(s.samples.size(), 1u);
    EXPECT_EQ(s.samples[0].label("path"), "C:\\DIR\\FILE.TXT");
    EXPECT_EQ(s.samples[0].label("error"), "Cannot find file:\n\"FILE.TXT\"");
    EXPECT_EQ(s.help.at("m"), "A \\ backslash and\nnewline, \"quotes\" kept");
}

TEST(PrometheusParse, ReadsSpecialValuesAndEmptyLabelSets) {
    const auto s = parse_prometheus_text(
        "a NaN\nb +Inf\nc -Inf\nd{} 1.5e-3\ne{le=\"+Inf\"} +7\n"
        "windows_line 2\r\n");
    ASSERT_EQ(s.samples.size(), 6u);
    EXPECT_TRUE(std::isnan(s.samples[0].value));
    EXPECT_EQ(s.samples[1].value, INFINITY);
    EXPECT_EQ(s.samples[2].value, -INFINITY);
    EXPECT_DOUBLE_EQ(s.samples[3].value, 1.5e-3);
    EXPECT_TRUE(s.samples[3].labels.empty());
    EXPECT_EQ(s.samples[4].value, 7);
    EXPECT_EQ(s.samples[4].label("le"), "+Inf");
    EXPECT_EQ(s.samples[5].name, "windows_line");
    EXPECT_EQ(s.samples[5].value, 2);
}

TEST(PrometheusParse, FindsValuesAndSumsAcrossLabels) {
    const auto s = parse_prometheus_text(
        "tok{model=\"a\"} 10\ntok{model=\"b\"} 5\nreq{endpoint=\"/x\",status=\"200\"} 3\n"
        "req{endpoint=\"/x\",status=\"500\"} 1\nreq{endpoint=\"/y\",status=\"200\"} 2\n");
    EXPECT_EQ(s.sum("tok"), 15);
    EXPECT_EQ(s.value("tok", {{"model", "b"}}), 5);
    EXPECT_EQ(s.value("tok", {{"model", "c"}}), std::nullopt);
    EXPECT_EQ(s.value("absent"), std::nullopt);
    EXPECT_EQ(s.sum("absent"), 0);
    EXPECT_EQ(s.sum("req", {{"endpoint", "/x"}}), 4);
    EXPECT_EQ(s.sum("req", {{"status", "200"}}), 5);
    EXPECT_EQ(s.find("req", {{"endpoint", "/y"}}).size(), 1u);
}

TEST(PrometheusParse, MalformedLinesAreErrorsNamingTheLine) {
    const auto error_of = [](const std::string& text) {
        try {
            parse_prometheus_text(text);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(error_of("ok 1\nbad{model=\"x} 1\n").find("line 2"), std::string::npos);
    EXPECT_NE(error_of("m{model=\"x\"}\n").find("expected a value"), std::string::npos);
    EXPECT_NE(error_of("m one\n").find("cannot read 'one'"), std::string::npos);
    EXPECT_NE(error_of("m{a=\"1\" b=\"2\"} 1\n").find("','"), std::string::npos);
    EXPECT_NE(error_of("m{a=1} 1\n").find("label value"), std::string::npos);
    EXPECT_NE(error_of("m{a=\"\\t\"} 1\n").find("unknown escape"), std::string::npos);
    EXPECT_NE(error_of("m 1 12x\n").find("timestamp"), std::string::npos);
    EXPECT_NE(error_of("m 1 2 3\n").find("after the timestamp"), std::string::npos);
    EXPECT_NE(error_of("# TYPE m meter\n").find("unknown metric type"), std::string::npos);
    EXPECT_NE(error_of("{a=\"1\"} 1\n").find("metric name"), std::string::npos);
}

}  // namespace
}  // namespace uma
