#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace uma::cpu {

// A fixed set of worker threads that run one job at a time, the caller's thread taking part.
// Decode issues many short jobs per token, so workers spin briefly before sleeping: the wake-up
// latency of a condition variable alone would dominate small matrix products.
class ThreadPool {
  public:
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls job(thread_index, n_threads) once on every thread and returns when all are done.
    void run(const std::function<void(int, int)>& job);

    // Calls body(begin, end) on pieces of [0, n) that together cover it once; every piece starts
    // on a multiple of `grain` and, but for the last, ends on one. Each thread works through its
    // own contiguous share from the front, so that it reads memory as one long stream the
    // hardware prefetcher can follow, in pieces that halve as the share shrinks (few calls, yet
    // fine-grained at the end); a thread that runs out takes pieces from the back of the shares
    // of those still working, so that all finish within about one grain of each other.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

    static int default_thread_count();

  private:
    void worker_loop(int index);

    // [next, end) in grains, packed into one word (next in the low half) so that the owner taking
    // from the front and others taking from the back agree with one compare-and-swap.
    struct alignas(64) Share {
        std::atomic<uint64_t> range{0};
    };

    int n_threads_;
    std::vector<Share> shares_;  // one per thread, reused by every parallel_for
    std::vector<std::thread> workers_;
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
};

}  // namespace uma::cpu
