// Single-thread throughput of the CPU kernels on one matrix that stays in cache (so the numbers
// are the kernels' own pace, not the memory's): the per-row dot products at every SIMD level and
// the packed kernels for one token (decode) and four and eight (prompt processing).
//   build/uma_kernel_bench [ROWS COLS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/packed_formats.h"
#include "backends/cpu/quant_formats.h"
#include "uma/backends/cpu/quant.h"

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

}  // namespace

int main(int argc, char** argv) {
    const int64_t rows = argc > 2 ? std::atoll(argv[1]) : 2048;
    const int64_t cols = argc > 2 ? std::atoll(argv[2]) : 2048;
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::vector<float> x(static_cast<size_t>(cols * 8));
    for (auto& v : x) v = normal(rng);
    std::printf("%lld x %lld matrix, one thread, SIMD level %s\n", (long long)rows, (long long)cols,
                simd_level_name(active_simd_level()));
    for (GgmlType type :
         {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q2_K,
          GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_NL,
          GgmlType::IQ4_XS, GgmlType::F16, GgmlType::BF16}) {
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
        for (int64_t t = 0; t < rows / kTileRows; ++t)
            format->pack_tile(matrix.data() + size_t(t * kTileRows) * row_bytes, row_bytes, cols,
                              tiles.data() + size_t(t) * tile_bytes);
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
