#pragma once
// Counters and recent rates a server exposes (GET /metrics): per model what its scheduler did
// (tokens, forward passes, prefix-cache reuse, KV cache use, latencies) and per endpoint the HTTP
// requests answered. Thread-safe; the server owns one ServerMetrics, each model's scheduler
// updates its ModelMetrics.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace uma {

using MetricsClock = std::chrono::steady_clock;

// Observations counted into fixed buckets (a Prometheus histogram).
struct Histogram {
    // Upper bounds in seconds, ascending; the implicit last bucket is +Inf.
    static constexpr std::array<double, 14> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                       1,     2.5,  5,     10,   30,  60,   300};
    std::array<uint64_t, kBounds.size() + 1> counts{};  // per bucket, not cumulative
    uint64_t count = 0;
    double sum = 0;

    void observe(double value);
};

// Tokens per second and bytes read per second over the last few seconds, from the forward
// passes' start and end times. A rate divides what passes finished in the window by the time
// since the earliest of them started (at most the window): steady while work goes on, decaying
// toward 0 once it stops, and meaningful right after a burst shorter than the window.
class RecentRates {
  public:
    static constexpr auto kWindow = std::chrono::seconds(5);
    static constexpr auto kBucket = std::chrono::milliseconds(100);

    // A forward pass: prompt tokens it evaluated, tokens sampled from its logits, and the bytes
    // it read if it sampled any (the generation bandwidth counts only those passes).
    void add(MetricsClock::time_point start, MetricsClock::time_point end, int64_t prompt_tokens,
             int64_t generated_tokens, double generation_bytes);

    struct Rates {
        double prompt_tokens_per_second = 0;
        double generation_tokens_per_second = 0;
        double generation_bytes_per_second = 0;
    };
    Rates at(MetricsClock::time_point now) const;

  private:
    struct Bucket {
        int64_t index = -1;  // time since the clock's epoch in kBucket units
        double prompt_tokens = 0, generated_tokens = 0, generation_bytes = 0;
        MetricsClock::time_point prompt_start = MetricsClock::time_point::max();
        MetricsClock::time_point generation_start = MetricsClock::time_point::max();
    };
    static constexpr size_t kBuckets = kWindow / kBucket;
    std::array<Bucket, kBuckets> buckets_{};
};

// One model's metrics. They outlive the model's scheduler, so counters keep counting across
// unloads and reloads.
class ModelMetrics {
  public:
    // Tokens, counted as they are evaluated or sampled: before the client that asked for them
    // can see them, so that a scrape after an answer always counts all of its tokens.
    void count_prompt_tokens(int64_t n);
    void count_generated_token();
    // A forward pass of the scheduler, for the recent rates (see RecentRates::add).
    void record_pass(MetricsClock::time_point start, MetricsClock::time_point end,
                     int64_t prompt_tokens, int64_t generated_tokens, double bytes_read);
    // A request took a slot, reusing `cached_tokens` of its prompt from the slot's cache.
    void record_admission(int64_t cached_tokens);
    void record_first_token(double seconds_since_queued);
    void record_finished(double seconds_since_queued);
    // KV cache cells (token positions) holding tokens, and those the slots hold or will hold.
    void set_kv_cells(int64_t used, int64_t total);

    struct Snapshot {
        uint64_t prompt_tokens = 0;     // evaluated (not reused from the prefix cache)
        uint64_t generated_tokens = 0;  // sampled, end tokens included
        uint64_t forward_passes = 0;
        uint64_t prefix_lookups = 0;  // requests admitted to a slot
        uint64_t prefix_hits = 0;     // of those, ones that reused cached tokens
        uint64_t prefix_cached_tokens = 0;
        int64_t kv_cells_used = 0;
        int64_t kv_cells_total = 0;
        RecentRates::Rates rates;
        Histogram time_to_first_token;
        Histogram request_duration;
    };
    Snapshot snapshot(MetricsClock::time_point now = MetricsClock::now()) const;

  private:
    mutable std::mutex mutex_;
    Snapshot totals_;  // everything but the rates
    RecentRates recent_;
};

class ServerMetrics {
  public:
    // The metrics of the model named `name` (created on first use, kept for the server's life).
    std::shared_ptr<ModelMetrics> model(const std::string& name);
    std::map<std::string, ModelMetrics::Snapshot> models(
        MetricsClock::time_point now = MetricsClock::now()) const;

    // An HTTP request answered with `status`; `endpoint` is its route, not the raw path.
    void count_request(const std::string& endpoint, int status);
    // (endpoint, status) -> requests answered.
    std::map<std::pair<std::string, int>, uint64_t> requests() const;

  private:
    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<ModelMetrics>> models_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
};

}  // namespace uma
