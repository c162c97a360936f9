// Writing the Prometheus text format: HELP/TYPE lines, samples, escaping, numbers.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "uma/core/error.h"
#include "uma/server/prometheus_parse.h"
#include "uma/server/prometheus_text.h"

namespace uma {
namespace {

TEST(PrometheusText, FamilyHasHelpAndTypeLinesThenSamples) {
    PrometheusWriter w;
    w.family("uma_requests_active", "gauge", "Requests in a slot.");
    w.sample("uma_requests_active", 3);
    w.family("uma_tokens_total", "counter", "Tokens.");
    w.sample("uma_tokens_total", {{"model", "a"}}, 10);
    w.sample("uma_tokens_total", {{"model", "b"}, {"kind", "x"}}, 0.5);
    EXPECT_EQ(w.text(),
              "# HELP uma_requests_active Requests in a slot.\n"
              "# TYPE uma_requests_active gauge\n"
              "uma_requests_active 3\n"
              "# HELP uma_tokens_total Tokens.\n"
              "# TYPE uma_tokens_total counter\n"
              "uma_tokens_total{model=\"a\"} 10\n"
              "uma_tokens_total{model=\"b\",kind=\"x\"} 0.5\n");
}

TEST(PrometheusText, LabelValuesEscapeBackslashQuoteAndNewline) {
    EXPECT_EQ(prometheus_escape_label(R"(C:\models\"x".gguf)"), R"(C:\\models\\\"x\".gguf)");
    EXPECT_EQ(prometheus_escape_label("two\nlines"), "two\\nlines");
    EXPECT_EQ(prometheus_escape_label("plain ünïcode"), "plain ünïcode");
    PrometheusWriter w;
    w.sample("m", {{"model", "a\"b\\c\nd"}}, 1);
    EXPECT_EQ(w.text(), "m{model=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(PrometheusText, HelpEscapesBackslashAndNewlineButNotQuotes) {
    EXPECT_EQ(prometheus_escape_help("a \"quoted\" \\ path\nnext"),
              "a \"quoted\" \\\\ path\\nnext");
    PrometheusWriter w;
    w.family("m", "untyped", "line one\nline two");
    EXPECT_EQ(w.text(), "# HELP m line one\\nline two\n# TYPE m untyped\n");
}

TEST(PrometheusText, NumbersAreExactIntegersOrShortestDecimals) {
    EXPECT_EQ(prometheus_number(0), "0");
    EXPECT_EQ(prometheus_number(42), "42");
    EXPECT_EQ(prometheus_number(-7), "-7");
    EXPECT_EQ(prometheus_number(123456789012.0), "123456789012");
    EXPECT_EQ(prometheus_number(0.1), "0.1");
    EXPECT_EQ(prometheus_number(1234.5), "1234.5");
    EXPECT_EQ(prometheus_number(1e20), "1e+20");
    EXPECT_EQ(prometheus_number(std::numeric_limits<double>::quiet_NaN()), "NaN");
    EXPECT_EQ(prometheus_number(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(prometheus_number(-std::numeric_limits<double>::infinity()), "-Inf");
    const double third = 1.0 / 3;
    EXPECT_EQ(std::stod(prometheus_number(third)), third);
}

TEST(PrometheusText, NamesAndTypesAreChecked) {
    EXPECT_TRUE(prometheus_metric_name("uma:rate_5s"));
    EXPECT_FALSE(prometheus_metric_name("9lives"));
    EXPECT_FALSE(prometheus_metric_name("has-dash"));
    EXPECT_FALSE(prometheus_metric_name(""));
    EXPECT_TRUE(prometheus_label_name("_model"));
    EXPECT_FALSE(prometheus_label_name("a:b"));
    PrometheusWriter w;
    EXPECT_THROW(w.family("bad name", "gauge", ""), Error);
    EXPECT_THROW(w.family("good", "meter", ""), Error);
    EXPECT_THROW(w.sample("good", {{"bad-label", "x"}}, 1), Error);
}

TEST(PrometheusText, HistogramBucketsAreCumulativeWithInfSumAndCount) {
    PrometheusWriter w;
    const double bounds[] = {0.1, 1};
    const uint64_t counts[] = {2, 1, 3};
    w.histogram("lat_seconds", {{"model", "m"}}, bounds, counts, 12.5);
    EXPECT_EQ(w.text(),
              "lat_seconds_bucket{model=\"m\",le=\"0.1\"} 2\n"
              "lat_seconds_bucket{model=\"m\",le=\"1\"} 3\n"
              "lat_seconds_bucket{model=\"m\",le=\"+Inf\"} 6\n"
              "lat_seconds_sum{model=\"m\"} 12.5\n"
              "lat_seconds_count{model=\"m\"} 6\n");
    const uint64_t wrong[] = {1, 2};
    EXPECT_THROW(w.histogram("x", {}, bounds, wrong, 0), Error);
}

TEST(PrometheusText, WhatIsWrittenParsesBack) {
    PrometheusWriter w;
    w.family("uma_model_size_bytes", "gauge", "Size \\ of \"each\" model.\nBytes.");
    const std::string awkward = "/models/a \"b\"\\c\nd.gguf";
    w.sample("uma_model_size_bytes", {{"model", awkward}}, 1234567);
    w.sample("uma_model_size_bytes", {{"model", "plain"}}, 0.25);
    const PrometheusScrape scrape = parse_prometheus_text(w.text());
    ASSERT_EQ(scrape.samples.size(), 2u);
    EXPECT_EQ(scrape.samples[0].label("model"), awkward);
    EXPECT_EQ(scrape.value("uma_model_size_bytes", {{"model", awkward}}), 1234567);
    EXPECT_EQ(scrape.value("uma_model_size_bytes", {{"model", "plain"}}), 0.25);
    EXPECT_EQ(scrape.types.at("uma_model_size_bytes"), "gauge");
    EXPECT_EQ(scrape.help.at("uma_model_size_bytes"), "Size \\ of \"each\" model.\nBytes.");
}

}  // namespace
}  // namespace uma
