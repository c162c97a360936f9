#include "uma/runtime/metrics.h"

#include <algorithm>

namespace uma {
namespace {

// The shortest span a rate is taken over, so that a pass ending at `now` gives no absurd rate.
constexpr auto kMinSpan = std::chrono::milliseconds(1);

int64_t bucket_index(MetricsClock::time_point t) {
    return static_cast<int64_t>(t.time_since_epoch() / RecentRates::kBucket);
}

double per_second(double amount, MetricsClock::time_point earliest, MetricsClock::time_point now) {
    if (amount <= 0 || earliest == MetricsClock::time_point::max()) return 0;
    const auto from = std::max(earliest, now - RecentRates::kWindow);
    const auto span = std::max<MetricsClock::duration>(now - from, kMinSpan);
    return amount / std::chrono::duration<double>(span).count();
}

}  // namespace

void Histogram::observe(double value) {
    const auto bucket = std::lower_bound(kBounds.begin(), kBounds.end(), value) - kBounds.begin();
    ++counts[static_cast<size_t>(bucket)];
    ++count;
    sum += value;
}

void RecentRates::add(MetricsClock::time_point start, MetricsClock::time_point end,
                      int64_t prompt_tokens, int64_t generated_tokens, double generation_bytes) {
    const int64_t index = bucket_index(end);
    Bucket& b = buckets_[static_cast<size_t>(index) % kBuckets];
    if (b.index != index) b = Bucket{index};
    if (prompt_tokens > 0) {
        b.prompt_tokens += double(prompt_tokens);
        b.prompt_start = std::min(b.prompt_start, start);
    }
    if (generated_tokens > 0) {
        b.generated_tokens += double(generated_tokens);
        b.generation_bytes += generation_bytes;
        b.generation_start = std::min(b.generation_start, start);
    }
}

RecentRates::Rates RecentRates::at(MetricsClock::time_point now) const {
    const int64_t last = bucket_index(now);
    const int64_t first = last - static_cast<int64_t>(kBuckets) + 1;
    double prompt = 0, generated = 0, bytes = 0;
    auto prompt_start = MetricsClock::time_point::max();
    auto generation_start = MetricsClock::time_point::max();
    for (const Bucket& b : buckets_) {
        if (b.index < first || b.index > last) continue;
        prompt += b.prompt_tokens;
        generated += b.generated_tokens;
        bytes += b.generation_bytes;
        prompt_start = std::min(prompt_start, b.prompt_start);
        generation_start = std::min(generation_start, b.generation_start);
    }
    Rates r;
    r.prompt_tokens_per_second = per_second(prompt, prompt_start, now);
    r.generation_tokens_per_second = per_second(generated, generation_start, now);
    r.generation_bytes_per_second = per_second(bytes, generation_start, now);
    return r;
}

void ModelMetrics::count_prompt_tokens(int64_t n) {
    std::lock_guard lock(mutex_);
    totals_.prompt_tokens += static_cast<uint64_t>(std::max<int64_t>(n, 0));
}

void ModelMetrics::count_generated_token() {
    std::lock_guard lock(mutex_);
    ++totals_.generated_tokens;
}

void ModelMetrics::record_pass(MetricsClock::time_point start, MetricsClock::time_point end,
                               int64_t prompt_tokens, int64_t generated_tokens, double bytes_read) {
    std::lock_guard lock(mutex_);
    ++totals_.forward_passes;
    recent_.add(start, end, prompt_tokens, generated_tokens, generated_tokens > 0 ? bytes_read : 0);
}

void ModelMetrics::record_admission(int64_t cached_tokens) {
    std::lock_guard lock(mutex_);
    ++totals_.prefix_lookups;
    if (cached_tokens > 0) {
        ++totals_.prefix_hits;
        totals_.prefix_cached_tokens += static_cast<uint64_t>(cached_tokens);
    }
}

void ModelMetrics::record_first_token(double seconds_since_queued) {
    std::lock_guard lock(mutex_);
    totals_.time_to_first_token.observe(seconds_since_queued);
}

void ModelMetrics::record_finished(double seconds_since_queued) {
    std::lock_guard lock(mutex_);
    totals_.request_duration.observe(seconds_since_queued);
}

void ModelMetrics::set_kv_cells(int64_t used, int64_t total) {
    std::lock_guard lock(mutex_);
    totals_.kv_cells_used = used;
    totals_.kv_cells_total = total;
}

ModelMetrics::Snapshot ModelMetrics::snapshot(MetricsClock::time_point now) const {
    std::lock_guard lock(mutex_);
    Snapshot s = totals_;
    s.rates = recent_.at(now);
    return s;
}

std::shared_ptr<ModelMetrics> ServerMetrics::model(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto& slot = models_[name];
    if (!slot) slot = std::make_shared<ModelMetrics>();
    return slot;
}

std::map<std::string, ModelMetrics::Snapshot> ServerMetrics::models(
    MetricsClock::time_point now) const {
    std::map<std::string, std::shared_ptr<ModelMetrics>> models;
    {
        std::lock_guard lock(mutex_);
        models = models_;
    }
    std::map<std::string, ModelMetrics::Snapshot> out;
    for (const auto& [name, metrics] : models) out.emplace(name, metrics->snapshot(now));
    return out;
}

void ServerMetrics::count_request(const std::string& endpoint, int status) {
    std::lock_guard lock(mutex_);
    ++requests_[{endpoint, status}];
}

std::map<std::pair<std::string, int>, uint64_t> ServerMetrics::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

}  // namespace uma
