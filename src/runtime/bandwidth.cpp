#include "uma/runtime/bandwidth.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/error.h"
#include "uma/core/page_buffer.h"

#if defined(__x86_64__)
#if !defined(__clang__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*() values that its own -Wuninitialized
// flags inside the header; the values are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace uma {
namespace {

// The sums are returned so that the compiler cannot drop the loads.
uint64_t sum_scalar(const uint64_t* p, size_t n) {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        a += p[i];
        b += p[i + 1];
        c += p[i + 2];
        d += p[i + 3];
    }
    return a + b + c + d;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t sum_avx2(const uint64_t* p, size_t n) {
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (size_t i = 0; i + 16 <= n; i += 16)
        for (int k = 0; k < 4; ++k)
            acc[k] = _mm256_add_epi64(
                acc[k], _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 4 * k)));
    const __m256i s =
        _mm256_add_epi64(_mm256_add_epi64(acc[0], acc[1]), _mm256_add_epi64(acc[2], acc[3]));
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

__attribute__((target("avx512f"))) uint64_t sum_avx512(const uint64_t* p, size_t n) {
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
    for (size_t i = 0; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; ++k)
            acc[k] = _mm512_add_epi64(acc[k], _mm512_load_si512(p + i + 8 * k));
    return static_cast<uint64_t>(_mm512_reduce_add_epi64(
        _mm512_add_epi64(_mm512_add_epi64(acc[0], acc[1]), _mm512_add_epi64(acc[2], acc[3]))));
}
#endif

using SumFn = uint64_t (*)(const uint64_t*, size_t);

SumFn widest_sum() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return sum_avx512;
    if (__builtin_cpu_supports("avx2")) return sum_avx2;
#endif
    return sum_scalar;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const size_t colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "unknown cpu";
}

std::filesystem::path cache_file() {
    if (const char* path = std::getenv("UMA_BANDWIDTH_CACHE"); path && *path) return path;
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".uma" / "bandwidth.json";
    return {};
}

double measure_read_bandwidth_here(int n_threads, size_t buffer_bytes, int repetitions) {
    n_threads = std::max(1, n_threads);
    const PageBuffer buffer(buffer_bytes, "measuring the memory bandwidth");
    const size_t words = buffer_bytes / sizeof(uint64_t);
    // Each thread touches (and so places) its own slice first.
    const size_t slice = words / static_cast<size_t>(n_threads) / 64 * 64;
    const SumFn sum = widest_sum();
    std::atomic<uint64_t> sink{0};
    double best = 0;
    for (int rep = 0; rep < repetitions + 1; ++rep) {  // the first pass faults the pages in
        std::atomic<int> ready{0};
        std::atomic<bool> go{false};
        std::chrono::steady_clock::time_point start;
        std::vector<std::thread> threads;
        for (int t = 0; t < n_threads; ++t)
            threads.emplace_back([&, t] {
                uint64_t* p = reinterpret_cast<uint64_t*>(buffer.data()) + slice * size_t(t);
                if (rep == 0) std::memset(p, t + 1, slice * sizeof(uint64_t));
                ready.fetch_add(1);
                while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
                sink.fetch_add(sum(p, slice), std::memory_order_relaxed);
            });
        while (ready.load() != n_threads) std::this_thread::yield();
        start = std::chrono::steady_clock::now();
        go.store(true, std::memory_order_release);
        for (auto& t : threads) t.join();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (rep > 0)
            best = std::max(best, double(slice * sizeof(uint64_t)) * n_threads / seconds / 1e9);
    }
    return sink.load() == 42 ? best + 1e-12 : best;  // keeps the sums observable
}

// Sends or receives exactly `bytes` on a socket, retrying after signals; false on end of file or
// error (never SIGPIPE: the other end may have gone).
bool transfer(int fd, void* data, size_t bytes, bool send) {
    auto* p = static_cast<char*>(data);
    while (bytes > 0) {
        const ssize_t n = send ? ::send(fd, p, bytes, MSG_NOSIGNAL) : ::recv(fd, p, bytes, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        bytes -= size_t(n);
    }
    return true;
}

// The cache file's contents for this CPU ({"cpu": ...} alone when there is none, it is damaged
// or it was written on another CPU).
nlohmann::json read_cache(const std::filesystem::path& path, const std::string& cpu) {
    nlohmann::json cache = nlohmann::json::object();
    if (!path.empty()) {
        std::ifstream in(path);
        if (in) {
            try {
                cache = nlohmann::json::parse(in);
            } catch (const nlohmann::json::exception&) {
                cache = nlohmann::json::object();  // a damaged cache is measured again
            }
        }
    }
    if (!cache.is_object() || cache.value("cpu", "") != cpu) cache = {{"cpu", cpu}};
    return cache;
}

}  // namespace

// Measured in a child process (a BandwidthProbe), so that the gigabyte buffer never counts toward
// this process's peak RSS (which `uma bench` reports); here where no child can be started.
double measure_read_bandwidth(int n_threads, size_t buffer_bytes, int repetitions) {
    BandwidthProbe probe(n_threads, buffer_bytes, repetitions);
    if (!probe.running()) return measure_read_bandwidth_here(n_threads, buffer_bytes, repetitions);
    const double gbs = probe.measure();
    if (gbs <= 0)
        throw Error("measuring the memory read bandwidth failed (could not allocate " +
                    std::to_string(buffer_bytes >> 20) + " MiB?)");
    return gbs;
}

BandwidthProbe::BandwidthProbe(int n_threads, size_t buffer_bytes, int repetitions) {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ends[0]);
        char command;
        while (transfer(ends[1], &command, 1, false)) {
            double gbs = 0;
            try {
                gbs = measure_read_bandwidth_here(n_threads, buffer_bytes, repetitions);
            } catch (...) {
            }
            if (!transfer(ends[1], &gbs, sizeof gbs, true)) break;
        }
        ::_exit(0);
    }
    ::close(ends[1]);
    if (pid < 0) {
        ::close(ends[0]);
        return;
    }
    pid_ = pid;
    socket_ = ends[0];
}

BandwidthProbe::~BandwidthProbe() {
    if (pid_ < 0) return;
    ::close(socket_);  // the child sees end of file and exits
    int status = 0;
    ::waitpid(pid_, &status, 0);
}

double BandwidthProbe::measure() {
    if (pid_ < 0) return 0;
    char command = 'm';
    double gbs = 0;
    if (!transfer(socket_, &command, 1, true) || !transfer(socket_, &gbs, sizeof gbs, false))
        return 0;
    return gbs;
}

BandwidthMeasurement machine_read_bandwidth(int n_threads, bool remeasure) {
    BandwidthMeasurement m;
    m.threads = n_threads;
    const std::filesystem::path path = cache_file();
    const std::string key = std::to_string(n_threads);
    nlohmann::json cache = read_cache(path, cpu_model());
    if (!path.empty()) m.cache_path = path.string();
    if (!remeasure && cache.contains("read_gbs") && cache["read_gbs"].contains(key) &&
        cache["read_gbs"][key].is_number()) {
        m.gigabytes_per_second = cache["read_gbs"][key].get<double>();
        m.from_cache = true;
        return m;
    }
    m.gigabytes_per_second = measure_read_bandwidth(n_threads, size_t(1) << 30, 5);
    // Other processes can only make a pass slower, so the best measurement ever made is kept.
    if (cache.contains("read_gbs") && cache["read_gbs"].contains(key) &&
        cache["read_gbs"][key].is_number())
        m.gigabytes_per_second =
            std::max(m.gigabytes_per_second, cache["read_gbs"][key].get<double>());
    if (!path.empty()) {
        cache["read_gbs"][key] = m.gigabytes_per_second;
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        const std::string temp = path.string() + ".partial";
        std::ofstream out(temp);
        out << cache.dump(2) << "\n";
        out.close();
        if (out) std::filesystem::rename(temp, path, ec);
        if (!out || ec) m.cache_path.clear();  // not fatal: measured again next time
    }
    return m;
}

std::optional<double> cached_read_bandwidth(int n_threads) {
    if (n_threads <= 0) n_threads = cpu::ThreadPool::default_thread_count();
    const nlohmann::json cache = read_cache(cache_file(), cpu_model());
    const std::string key = std::to_string(n_threads);
    if (!cache.contains("read_gbs") || !cache["read_gbs"].is_object() ||
        !cache["read_gbs"].contains(key) || !cache["read_gbs"][key].is_number())
        return std::nullopt;
    const double gbs = cache["read_gbs"][key].get<double>();
    if (gbs <= 0) return std::nullopt;
    return gbs;
}

}  // namespace uma
