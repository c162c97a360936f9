// Single-thread throughput of the CPU kernels on one matrix that stays in cache (so the numbers
// are the kernels' own pace, not the memory's): the per-row dot products at every SIMD level and
// the packed kernels for one token (decode) and four and eight (prompt processing), and how fast
// the weights are packed at load.
//   build/uma_kernel_bench [ROWS COLS]
// With --stream, decode as the memory sees it: the one-token packed kernels over 512 MiB of tiles
// (far more than the caches) on N threads, next to the machine's plain read bandwidth.
//   build/uma_kernel_bench --stream [THREADS [TYPE [COLS]]]
// With --attention, the attention kernels over an F16 cache, one thread, nanoseconds per score
// (one query row against one cached key, and its share of the weighted sum of values): in cache
// (256 keys) and from memory (4096 keys of each of 88 heads, in blocks of 256 as attention takes
// them), for query rows from one (a decode without grouped heads) to 32 (a prompt's tokens).
//   build/uma_kernel_bench --attention [DIM]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/attention_rows.h"
#include "backends/cpu/packed_formats.h"
#include "backends/cpu/packed_weights.h"
#include "backends/cpu/quant_formats.h"
#include "uma/backends/cpu/quant.h"
#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/fp16.h"
#include "uma/core/page_buffer.h"
#include "uma/runtime/bandwidth.h"

using namespace uma;
using namespace uma::cpu::detail;

namespace {

// Best of several trials: on a shared machine the fastest run is the kernel's.
template <class F>
double best_seconds(F&& run) {
    double best = 1e30;
    for (int trial = 0; trial < 7; ++trial) {
        const auto start = std::chrono::steady_clock::now();
        run();
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
}

// Packs rows / kTileRows tiles of `matrix` (rows of row_bytes) into `tiles`.
void pack_tiles(const PackedFormat& format, const uint8_t* matrix, size_t row_bytes, int64_t rows,
                int64_t cols, uint8_t* tiles) {
    const size_t tile_bytes = format.tile_bytes(cols);
    for (int64_t t = 0; t < rows / kTileRows; ++t)
        format.pack_tile(matrix + size_t(t * kTileRows) * row_bytes, row_bytes, cols,
                         tiles + size_t(t) * tile_bytes);
}

int stream(int threads, const char* only_type, int64_t cols) {
    const int64_t rows = std::max<int64_t>(256, 2048 * 4096 / cols / kTileRows * kTileRows);
    constexpr size_t kTarget = size_t(512) << 20;
    cpu::ThreadPool pool(threads);
    std::printf("decode streaming %zu MiB of packed tiles, %d thread%s, SIMD level %s\n",
                kTarget >> 20, threads, threads > 1 ? "s" : "",
                simd_level_name(active_simd_level()));
    if (only_type == nullptr)
        std::printf("plain reads    %5.1f GB/s\n", measure_read_bandwidth(threads, kTarget * 2, 5));
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::vector<float> x(static_cast<size_t>(cols));
    for (auto& v : x) v = normal(rng);
    for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                          GgmlType::Q8_0, GgmlType::IQ4_NL, GgmlType::Q2_K, GgmlType::Q3_K,
                          GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_XS}) {
        const PackedFormat* format = packed_format(type, cols);
        if (format == nullptr || (only_type != nullptr && type_name(type) != only_type)) continue;
        const size_t row_bytes = row_size(type, cols);
        std::vector<uint8_t> matrix(row_bytes * size_t(rows));
        for (int64_t r = 0; r < rows; ++r) {
            std::vector<float> row(x);
            std::rotate(row.begin(), row.begin() + r % cols, row.end());
            cpu::quantize_row(type, row.data(), matrix.data() + size_t(r) * row_bytes, cols);
        }
        const size_t tile_bytes = format->tile_bytes(cols);
        const size_t matrix_bytes = tile_bytes * size_t(rows / kTileRows);
        const int64_t copies = int64_t(kTarget / matrix_bytes);
        const int64_t tiles = rows / kTileRows * copies;
        // Huge-page memory from the same arena the packed weights live in.
        PackedArena arena;
        uint8_t* buffer = arena.allocate(matrix_bytes * size_t(copies), "the benchmark's tiles");
        pack_tiles(*format, matrix.data(), row_bytes, rows, cols, buffer);
        for (int64_t c = 1; c < copies; ++c)
            std::memcpy(buffer + size_t(c) * matrix_bytes, buffer, matrix_bytes);
        std::vector<uint8_t> act(format->activation_bytes(cols));
        format->quantize_activation(x.data(), cols, act.data());
        std::vector<float> y(static_cast<size_t>(tiles * kTileRows));
        const double s = best_seconds([&] {
            pool.parallel_for(tiles, 1, [&](int64_t begin, int64_t end) {
                for (int64_t t = begin; t < end; ++t)
                    format->gemm(buffer + size_t(t) * tile_bytes, cols, act.data(), act.size(), 1,
                                 y.data() + t * kTileRows, kTileRows);
            });
        });
        std::printf("%-7s packed %5.1f GB/s\n", std::string(type_name(type)).c_str(),
                    double(matrix_bytes * size_t(copies)) / s / 1e9);
    }
    return 0;
}

int attention(int64_t dim) {
    constexpr int64_t kBlock = 256, kKeys = 4096, kHeads = 88;
    const size_t row_bytes = size_t(dim) * 2;
    // Keys and values of every head in huge pages, as in the KV cache.
    PageBuffer keys(row_bytes * size_t(kKeys * kHeads), "keys"),
        values(row_bytes * size_t(kKeys * kHeads), "values");
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (auto* buffer : {&keys, &values}) {
        auto* halves = reinterpret_cast<uint16_t*>(buffer->data());
        for (size_t i = 0; i < buffer->size() / 2; ++i) halves[i] = fp32_to_fp16(normal(rng));
    }
    std::printf("attention over an F16 cache, head dim %lld, one thread; ns per score\n",
                (long long)dim);
    std::printf("level   rows | in cache: scores weighted | from memory: scores weighted\n");
    for (int level = 0; level <= int(active_simd_level()); ++level) {
        const AttentionRowKernels* kernels = attention_row_kernels(GgmlType::F16, SimdLevel(level));
        for (int rows : {1, 4, 8, 16, 32}) {
            std::vector<float> q(size_t(rows * dim)), scores(size_t(rows * kBlock)),
                out(size_t(rows * dim));
            for (auto& v : q) v = 0.1f * normal(rng);
            for (auto& v : scores) v = 1.0f / kBlock;
            const auto head = [&](const PageBuffer& b, int64_t h, int64_t first) {
                return CacheRows{b.data() + size_t(h * kKeys) * row_bytes, row_bytes, first, 0};
            };
            // Repetitions enough for some milliseconds, whatever the level's pace.
            const int reps = level == 0 ? 4 : 64;
            const double in_cache_scores = best_seconds([&] {
                for (int r = 0; r < reps; ++r)
                    kernels->scores(head(keys, 0, 0), kBlock, q.data(), dim, rows, dim,
                                    scores.data(), kBlock);
            });
            const double in_cache_weighted = best_seconds([&] {
                for (int r = 0; r < reps; ++r)
                    kernels->weighted_sum(head(values, 0, 0), kBlock, scores.data(), kBlock, rows,
                                          dim, out.data(), dim);
            });
            double memory_scores = 0, memory_weighted = 0;
            const int64_t heads = level == 0 ? 8 : kHeads;  // the scalar kernels are slow
            for (int64_t h = 0; h < heads; ++h)
                for (int64_t first = 0; first < kKeys; first += kBlock) {
                    const auto start = std::chrono::steady_clock::now();
                    kernels->scores(head(keys, h, first), kBlock, q.data(), dim, rows, dim,
                                    scores.data(), kBlock);
                    const auto middle = std::chrono::steady_clock::now();
                    kernels->weighted_sum(head(values, h, first), kBlock, scores.data(), kBlock,
                                          rows, dim, out.data(), dim);
                    const auto end = std::chrono::steady_clock::now();
                    memory_scores += std::chrono::duration<double>(middle - start).count();
                    memory_weighted += std::chrono::duration<double>(end - middle).count();
                }
            const double per_block = 1e9 / double(rows * kBlock);
            const double memory_per = 1e9 / double(rows * kKeys * heads);
            std::printf("%-7s %4d | %15.2f %8.2f | %18.2f %8.2f\n",
                        simd_level_name(SimdLevel(level)), rows, in_cache_scores * per_block / reps,
                        in_cache_weighted * per_block / reps, memory_scores * memory_per,
                        memory_weighted * memory_per);
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--attention") == 0)
        return attention(argc > 2 ? std::atoll(argv[2]) : 64);
    if (argc > 1 && std::strcmp(argv[1], "--stream") == 0)
        return stream(argc > 2 ? std::atoi(argv[2]) : 2, argc > 3 ? argv[3] : nullptr,
                      argc > 4 ? std::atoll(argv[4]) : 4096);
    const int64_t rows = argc > 2 ? std::atoll(argv[1]) : 2048;
    const int64_t cols = argc > 2 ? std::atoll(argv[2]) : 2048;
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::vector<float> x(static_cast<size_t>(cols * 8));
    for (auto& v : x) v = normal(rng);
    std::printf("%lld x %lld matrix, one thread, SIMD level %s\n", (long long)rows, (long long)cols,
                simd_level_name(active_simd_level()));
    for (GgmlType type :
         {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
          GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
          GgmlType::IQ4_NL, GgmlType::IQ4_XS, GgmlType::F16, GgmlType::BF16}) {
        if (cols % traits(type).block_size != 0) continue;
        const size_t row_bytes = row_size(type, cols);
        std::vector<uint8_t> matrix(row_bytes * size_t(rows));
        for (int64_t r = 0; r < rows; ++r)
            cpu::quantize_row(type, x.data(), matrix.data() + size_t(r) * row_bytes, cols);
        const GgmlType act_type = cpu::activation_type(type);
        std::vector<uint8_t> act(row_size(act_type, cols));
        if (act_type == GgmlType::F32)
            std::copy_n(reinterpret_cast<const uint8_t*>(x.data()), act.size(), act.data());
        else
            cpu::quantize_row(act_type, x.data(), act.data(), cols);
        std::vector<float> y(static_cast<size_t>(rows * 8));
        const std::string name(type_name(type));
        for (int level = 0; level <= int(active_simd_level()); ++level) {
            const cpu::VecDotFn kernel = vec_dot_for_level(type, SimdLevel(level));
            const double s = best_seconds([&] {
                for (int64_t r = 0; r < rows; ++r)
                    kernel(cols, &y[size_t(r)], matrix.data() + size_t(r) * row_bytes, act.data());
            });
            std::printf("%-7s per-row %-7s %7.1f GB/s of weights\n", name.c_str(),
                        simd_level_name(SimdLevel(level)), double(matrix.size()) / s / 1e9);
        }
        const PackedFormat* format = packed_format(type, cols);
        if (format == nullptr || rows % kTileRows != 0) continue;
        const size_t tile_bytes = format->tile_bytes(cols);
        std::vector<uint8_t> tiles(tile_bytes * size_t(rows / kTileRows));
        const double pack_seconds = best_seconds(
            [&] { pack_tiles(*format, matrix.data(), row_bytes, rows, cols, tiles.data()); });
        std::printf("%-7s packing          %5.1f GB/s of weights\n", name.c_str(),
                    double(matrix.size()) / pack_seconds / 1e9);
        const size_t stride = format->activation_bytes(cols);
        std::vector<uint8_t> packed_act(stride * 8);
        for (int t = 0; t < 8; ++t)
            format->quantize_activation(x.data() + t * cols, cols, packed_act.data() + t * stride);
        for (int tokens : {1, 4, 8}) {
            const double s = best_seconds([&] {
                for (int64_t t = 0; t < rows / kTileRows; ++t)
                    format->gemm(tiles.data() + size_t(t) * tile_bytes, cols, packed_act.data(),
                                 stride, tokens, y.data() + t * kTileRows, rows);
            });
            std::printf("%-7s packed  %d token%s %5.1f GB/s of weights, %6.1f GMAC/s\n",
                        name.c_str(), tokens, tokens > 1 ? "s" : " ",
                        double(tiles.size()) / s / 1e9, double(rows * cols * tokens) / s / 1e9);
        }
    }
}
