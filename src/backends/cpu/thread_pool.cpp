#include "uma/backends/cpu/thread_pool.h"

#include <algorithm>
#include <cstdint>
#include <exception>

#include "uma/core/error.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace uma::cpu {
namespace {

// The spin-wait hint: it tells the core that this loop only waits (AArch64's yield is the
// counterpart of x86's pause; a system call per spin would slow every wake-up).
inline void cpu_relax() {
#if defined(__x86_64__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#else
    std::this_thread::yield();
#endif
}

constexpr int kSpinIterations = 20000;

}  // namespace

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(std::max(1, n_threads)), shares_(static_cast<size_t>(std::max(1, n_threads))) {
    if (n_threads > 512) throw Error("thread count " + std::to_string(n_threads) + " is too large");
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

int ThreadPool::default_thread_count() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

void ThreadPool::run(const std::function<void(int, int)>& job) {
    if (n_threads_ == 1) {
        job(0, 1);
        return;
    }
    job_ = &job;
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    {
        std::lock_guard lock(mutex_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    job(0, n_threads_);
    for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
        if (spin < kSpinIterations) {
            cpu_relax();
        } else {
            std::unique_lock lock(mutex_);
            done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
        }
    }
    job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
    uint64_t seen = 0;
    for (;;) {
        uint64_t current = generation_.load(std::memory_order_acquire);
        for (int spin = 0; current == seen && spin < kSpinIterations; ++spin) {
            cpu_relax();
            current = generation_.load(std::memory_order_acquire);
        }
        if (current == seen) {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            current = generation_.load(std::memory_order_acquire);
        }
        seen = current;
        if (stopping_) return;
        (*job_)(index, n_threads_);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard lock(mutex_);
            done_.notify_one();
        }
    }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& body) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    if (n_threads_ == 1 || n <= grain) {
        body(0, n);
        return;
    }
    const int64_t chunks = (n + grain - 1) / grain;
    if (chunks > int64_t(UINT32_MAX)) throw Error("parallel_for over too many pieces");
    auto pack = [](uint64_t next, uint64_t end) { return next | end << 32; };
    for (int t = 0; t < n_threads_; ++t)
        shares_[static_cast<size_t>(t)].range.store(
            pack(uint64_t(chunks * t / n_threads_), uint64_t(chunks * (t + 1) / n_threads_)),
            std::memory_order_relaxed);
    // Runs a share's remaining chunks, half of what is left at a time, from its front (the owner)
    // or its back (a thread helping out).
    auto drain = [&](Share& share, bool from_back) {
        for (uint64_t range = share.range.load(std::memory_order_relaxed);;) {
            const uint64_t next = range & UINT32_MAX, end = range >> 32;
            if (next >= end) return;
            const uint64_t take = std::max<uint64_t>(1, (end - next) / 2);
            const uint64_t first = from_back ? end - take : next;
            const uint64_t rest = from_back ? pack(next, end - take) : pack(next + take, end);
            if (share.range.compare_exchange_weak(range, rest, std::memory_order_relaxed))
                body(int64_t(first) * grain, std::min(n, int64_t(first + take) * grain));
        }
    };
    run([&](int self, int threads) {
        drain(shares_[static_cast<size_t>(self)], false);
        for (int k = 1; k < threads; ++k)
            drain(shares_[static_cast<size_t>((self + k) % threads)], true);
    });
}

}  // namespace uma::cpu
