#pragma once
#include <cstddef>
#include <optional>
#include <string>

namespace uma {

struct BandwidthMeasurement {
    double gigabytes_per_second = 0;  // 1e9 bytes per second
    int threads = 0;
    bool from_cache = false;
    std::string cache_path;  // empty when nothing was cached
};

// Streams a buffer much larger than the caches with `n_threads` threads (each summing its slice
// with the widest vector loads the CPU has) and returns the best of `repetitions` passes, in GB/s.
// Runs in a child process so that the buffer does not raise the caller's peak RSS.
double measure_read_bandwidth(int n_threads, size_t buffer_bytes, int repetitions);

// Measures the read bandwidth on request, from a child process started (forked) at construction,
// so that a benchmark can see what the machine gives right now, next to each timed run, without
// forking a process that runs threads or holding the buffer in its own memory. Construct before
// starting any thread. measure() returns 0 where the child could not be started or failed.
class BandwidthProbe {
  public:
    BandwidthProbe(int n_threads, size_t buffer_bytes, int repetitions = 3);
    ~BandwidthProbe();
    BandwidthProbe(const BandwidthProbe&) = delete;
    BandwidthProbe& operator=(const BandwidthProbe&) = delete;

    double measure();  // GB/s, the best of `repetitions` passes
    bool running() const { return pid_ >= 0; }

  private:
    int socket_ = -1;
    int pid_ = -1;
};

// The machine's read bandwidth for `n_threads`: measured once (1 GiB, best of 5) and kept in
// $UMA_BANDWIDTH_CACHE, else ~/.uma/bandwidth.json, keyed by CPU model and thread count.
// `remeasure` measures again; the cache keeps the best value seen, as a busy machine only ever
// measures low.
BandwidthMeasurement machine_read_bandwidth(int n_threads, bool remeasure = false);

// The cached read bandwidth for `n_threads` (<= 0: the default thread count) in GB/s, without
// ever measuring: nullopt when this CPU has no cached value for that thread count. Cheap enough
// to call on every /metrics scrape (it reads one small file).
std::optional<double> cached_read_bandwidth(int n_threads);

}  // namespace uma
