// The server's metrics objects: counters, histograms, recent rates, thread safety.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "uma/runtime/metrics.h"

namespace uma {
namespace {

using namespace std::chrono_literals;

TEST(Metrics, HistogramCountsEachObservationInItsBucket) {
    Histogram h;
    h.observe(0.001);  // <= 0.005
    h.observe(0.005);  // on a bound: that bucket
    h.observe(0.7);    // <= 1
    h.observe(1e6);    // +Inf
    EXPECT_EQ(h.count, 4u);
    EXPECT_DOUBLE_EQ(h.sum, 0.001 + 0.005 + 0.7 + 1e6);
    EXPECT_EQ(h.counts[0], 2u);
    EXPECT_EQ(h.counts[7], 1u);  // bounds[7] == 1
    EXPECT_EQ(h.counts.back(), 1u);
}

TEST(Metrics, RatesDivideByTheTimeSinceTheWorkStarted) {
    RecentRates r;
    const auto t0 = MetricsClock::now();
    // 100 prompt tokens in one pass, then 10 passes of one token each, 10 ms apart.
    r.add(t0, t0 + 50ms, 100, 1, 1000);
    for (int i = 1; i <= 9; ++i) r.add(t0 + i * 10ms + 50ms, t0 + i * 10ms + 60ms, 0, 1, 1000);
    const auto rates = r.at(t0 + 200ms);
    EXPECT_NEAR(rates.prompt_tokens_per_second, 100 / 0.2, 1e-6);
    EXPECT_NEAR(rates.generation_tokens_per_second, 10 / 0.2, 1e-6);
    EXPECT_NEAR(rates.generation_bytes_per_second, 10 * 1000 / 0.2, 1e-3);
    // Later, the same work spread over a longer time: lower rates...
    EXPECT_NEAR(r.at(t0 + 2s).generation_tokens_per_second, 10 / 2.0, 1e-6);
    // ...and none once it has left the window.
    const auto later = r.at(t0 + RecentRates::kWindow + 1s);
    EXPECT_EQ(later.prompt_tokens_per_second, 0);
    EXPECT_EQ(later.generation_tokens_per_second, 0);
    EXPECT_EQ(later.generation_bytes_per_second, 0);
}

TEST(Metrics, SteadyWorkGivesItsRateAcrossTheWholeWindow) {
    RecentRates r;
    const auto t0 = MetricsClock::now();
    // 20 tokens/s for 30 seconds: the window holds the last 5 seconds of it.
    for (int i = 0; i < 600; ++i) r.add(t0 + i * 50ms, t0 + (i + 1) * 50ms, 0, 1, 0);
    EXPECT_NEAR(r.at(t0 + 30s).generation_tokens_per_second, 20, 20 * 0.03);
}

TEST(Metrics, ModelMetricsCountPassesAdmissionsAndKvCells) {
    ModelMetrics m;
    const auto t0 = MetricsClock::now();
    m.count_prompt_tokens(7);
    m.record_pass(t0, t0 + 10ms, 7, 0, 5000);  // a prefill chunk: no generation bytes
    m.count_prompt_tokens(3);
    m.count_generated_token();
    m.count_generated_token();
    m.record_pass(t0 + 10ms, t0 + 20ms, 3, 2, 6000);
    m.record_admission(0);
    m.record_admission(12);
    m.record_first_token(0.02);
    m.record_finished(0.5);
    m.set_kv_cells(40, 512);
    const auto s = m.snapshot(t0 + 20ms);
    EXPECT_EQ(s.prompt_tokens, 10u);
    EXPECT_EQ(s.generated_tokens, 2u);
    EXPECT_EQ(s.forward_passes, 2u);
    EXPECT_EQ(s.prefix_lookups, 2u);
    EXPECT_EQ(s.prefix_hits, 1u);
    EXPECT_EQ(s.prefix_cached_tokens, 12u);
    EXPECT_EQ(s.kv_cells_used, 40);
    EXPECT_EQ(s.kv_cells_total, 512);
    EXPECT_EQ(s.time_to_first_token.count, 1u);
    EXPECT_EQ(s.request_duration.count, 1u);
    EXPECT_NEAR(s.rates.prompt_tokens_per_second, 10 / 0.02, 1e-6);
    EXPECT_NEAR(s.rates.generation_tokens_per_second, 2 / 0.01, 1e-6);
    EXPECT_NEAR(s.rates.generation_bytes_per_second, 6000 / 0.01, 1e-3);
}

TEST(Metrics, ServerMetricsAreSafeToUpdateFromManyThreads) {
    ServerMetrics metrics;
    const auto model = metrics.model("m");
    EXPECT_EQ(metrics.model("m"), model);  // one object per name
    constexpr int kThreads = 8, kEach = 2000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                metrics.count_request("/api/generate", t % 2 ? 200 : 400);
                const auto now = MetricsClock::now();
                metrics.model("m")->count_prompt_tokens(1);
                metrics.model("m")->count_generated_token();
                metrics.model("m")->record_pass(now, now, 1, 1, 1);
                metrics.model("m")->record_admission(i % 2);
                if (i % 100 == 0) (void)metrics.models();
            }
        });
    for (auto& t : threads) t.join();
    const auto requests = metrics.requests();
    EXPECT_EQ(requests.at({"/api/generate", 200}) + requests.at({"/api/generate", 400}),
              uint64_t{kThreads} * kEach);
    const auto s = metrics.models().at("m");
    EXPECT_EQ(s.prompt_tokens, uint64_t{kThreads} * kEach);
    EXPECT_EQ(s.generated_tokens, uint64_t{kThreads} * kEach);
    EXPECT_EQ(s.prefix_lookups, uint64_t{kThreads} * kEach);
    EXPECT_EQ(s.prefix_hits, uint64_t{kThreads} * kEach / 2);
}

}  // namespace
}  // namespace uma
