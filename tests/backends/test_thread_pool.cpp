// The thread pool's parallel_for: every index once, pieces aligned to the grain, and work taken
// over from a thread that falls behind.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "uma/backends/cpu/thread_pool.h"

namespace uma::cpu {
namespace {

TEST(ThreadPool, ParallelForCoversEveryIndexOnceInGrainAlignedPieces) {
    for (int threads : {1, 2, 3, 8}) {
        ThreadPool pool(threads);
        for (int64_t n : {1, 2, 7, 100, 1000, 12345}) {
            for (int64_t grain : {1, 3, 64}) {
                std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
                std::atomic<bool> misaligned{false};
                pool.parallel_for(n, grain, [&](int64_t begin, int64_t end) {
                    if (begin % grain != 0 || (end != n && end % grain != 0) || begin >= end)
                        misaligned = true;
                    for (int64_t i = begin; i < end; ++i) seen[size_t(i)].fetch_add(1);
                });
                EXPECT_FALSE(misaligned) << threads << " threads, n " << n << ", grain " << grain;
                for (int64_t i = 0; i < n; ++i)
                    ASSERT_EQ(seen[size_t(i)].load(), 1)
                        << threads << " threads, n " << n << ", grain " << grain << ", index " << i;
            }
        }
    }
}

TEST(ThreadPool, AThreadThatFallsBehindHasItsShareTakenFromTheBack) {
    ThreadPool pool(2);
    constexpr int64_t kN = 64;
    std::vector<std::thread::id> owner(kN);
    std::mutex mutex;
    const auto caller = std::this_thread::get_id();
    pool.parallel_for(kN, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            {
                std::lock_guard lock(mutex);
                owner[size_t(i)] = std::this_thread::get_id();
            }
            // The first half, the calling thread's share, is slow.
            if (i < kN / 2) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });
    EXPECT_EQ(owner[0], caller);           // each share is worked from its front by its own thread
    EXPECT_NE(owner[kN / 2 - 1], caller);  // and the last of the slow share was taken over
    int taken = 0;
    for (int64_t i = 0; i < kN / 2; ++i) taken += owner[size_t(i)] != caller;
    EXPECT_GE(taken, kN / 8) << "the idle thread should take a good part of the slow share";
}

TEST(ThreadPool, NothingToDoCallsNothing) {
    ThreadPool pool(2);
    bool called = false;
    pool.parallel_for(0, 4, [&](int64_t, int64_t) { called = true; });
    EXPECT_FALSE(called);
}

}  // namespace
}  // namespace uma::cpu
