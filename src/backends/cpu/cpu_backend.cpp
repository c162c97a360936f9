#include "cpu_backend.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "backends/cpu/quant_prepared.h"
#include "uma/backends/cpu/quant.h"
#include "uma/core/error.h"

namespace uma {

Weight Weight::matrix(int64_t index) const {
    Weight m = *this;
    m.count = 1;
    m.data = data + static_cast<size_t>(index) * matrix_bytes();
    return m;
}

namespace {

// Rows of weights handed to one thread at a time. Small enough to balance work across threads,
// large enough that each chunk streams a useful amount of memory.
constexpr int64_t kRowChunk = 16;

}  // namespace

std::string CpuBackend::describe() const {
    return std::string("cpu (") + cpu::simd_level_name() + ", " + std::to_string(pool_.size()) +
           " threads)";
}

void CpuBackend::prepare(const Weight& w) {
    for (int64_t e = 0; e < w.count; ++e) packed_.find_or_pack(w.matrix(e), pool_);
}

void CpuBackend::matmul(const Weight& w, const float* x, int64_t n_tokens, float* y) {
    const MatmulTarget one{&w, y};
    matmul_many({&one, 1}, x, n_tokens);
}

void CpuBackend::matmul_many(std::span<const MatmulTarget> targets, const float* x,
                             int64_t n_tokens) {
    // Packed weights whose inputs are quantized alike run as one product over all their tiles:
    // one quantization, one split among the threads, one wait.
    constexpr size_t kMaxGroup = 4;
    if (targets.empty()) return;
    if (targets.size() > kMaxGroup) {
        for (const MatmulTarget& t : targets) matmul_many({&t, 1}, x, n_tokens);
        return;
    }
    std::array<const cpu::detail::PackedMatrix*, kMaxGroup> packed{};
    bool together = true;
    for (size_t i = 0; i < targets.size(); ++i) {
        packed[i] = packed_.find_or_pack(*targets[i].w, pool_);
        together =
            together && packed[i] != nullptr && packed[0] != nullptr &&
            targets[i].w->cols == targets[0].w->cols &&
            packed[i]->format().quantize_activation == packed[0]->format().quantize_activation;
    }
    if (together) return packed_matmul({packed.data(), targets.size()}, targets, x, n_tokens);
    for (size_t i = 0; i < targets.size(); ++i) {
        if (packed[i] != nullptr)
            packed_matmul({&packed[i], 1}, {&targets[i], 1}, x, n_tokens);
        else
            rowwise_matmul(*targets[i].w, x, n_tokens, targets[i].y, targets[i].w->rows);
    }
}

void CpuBackend::packed_matmul(std::span<const cpu::detail::PackedMatrix* const> packed,
                               std::span<const MatmulTarget> targets, const float* x,
                               int64_t n_tokens) {
    const int64_t cols = targets[0].w->cols;
    const cpu::detail::PackedFormat& input_format = packed[0]->format();
    const size_t act_stride = input_format.activation_bytes(cols);
    activations_.resize(act_stride * static_cast<size_t>(n_tokens));
    pool_.parallel_for(n_tokens, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t)
            input_format.quantize_activation(x + t * cols, cols,
                                             activations_.data() + t * act_stride);
    });
    // Tiles numbered across the matrices, in order.
    std::array<int64_t, 5> first_tile{};
    for (size_t i = 0; i < packed.size(); ++i)
        first_tile[i + 1] = first_tile[i] + packed[i]->tiles();
    // One tile at a time at the end of a share: the hand-out halves its pieces, so finer grains
    // cost a few more compare-and-swaps while the threads finish within one tile of each other.
    // (Grains of a sixteenth of the tiles left decode threads waiting 4-16 us per product for the
    // last piece; TinyLlama decode then spent ~6% of its time waiting.)
    const int64_t total_tiles = first_tile[packed.size()];
    pool_.parallel_for(total_tiles, 1, [&](int64_t begin, int64_t end) {
        size_t i = 0;
        for (int64_t g = begin; g < end; ++g) {
            while (g >= first_tile[i + 1]) ++i;
            const int64_t tile = g - first_tile[i];
            const Weight& w = *targets[i].w;
            packed[i]->format().gemm(packed[i]->tile(tile), cols, activations_.data(), act_stride,
                                     n_tokens, targets[i].y + tile * cpu::detail::kTileRows,
                                     w.rows);
        }
    });
    // Rows past the last whole tile (only in matrices whose row count is not a multiple of 16).
    for (size_t i = 0; i < packed.size(); ++i) {
        const Weight& w = *targets[i].w;
        const int64_t tail = w.rows - packed[i]->packed_rows();
        if (tail == 0) continue;
        Weight rest = w;
        rest.rows = tail;
        rest.data = w.data + static_cast<size_t>(packed[i]->packed_rows()) * w.row_bytes;
        tail_rows_.resize(static_cast<size_t>(n_tokens * tail));
        rowwise_matmul(rest, x, n_tokens, tail_rows_.data(), tail);
        for (int64_t t = 0; t < n_tokens; ++t)
            std::copy_n(tail_rows_.data() + t * tail, tail,
                        targets[i].y + t * w.rows + packed[i]->packed_rows());
    }
}

void CpuBackend::rowwise_matmul(const Weight& w, const float* x, int64_t n_tokens, float* y,
                                int64_t y_stride) {
    const GgmlType act_type = cpu::activation_type(w.type);
    const size_t act_row_bytes = row_size(act_type, w.cols);
    const uint8_t* act_bytes = reinterpret_cast<const uint8_t*>(x);
    // Where a kernel wants the activation rows rearranged, that is done once here for all weight
    // rows; the prepared rows follow the quantized ones in the same buffer.
    const cpu::detail::PreparedKernel* prepared = cpu::detail::prepared_kernel(w.type, w.cols);
    const size_t prepared_row_bytes = prepared ? prepared->prepared_bytes(w.cols) : 0;
    if (act_type != GgmlType::F32) {
        const size_t quantized_bytes = act_row_bytes * static_cast<size_t>(n_tokens);
        activations_.resize(quantized_bytes + prepared_row_bytes * static_cast<size_t>(n_tokens));
        pool_.parallel_for(n_tokens, 1, [&](int64_t begin, int64_t end) {
            for (int64_t t = begin; t < end; ++t) {
                uint8_t* quantized = activations_.data() + t * act_row_bytes;
                cpu::quantize_row(act_type, x + t * w.cols, quantized, w.cols);
                if (prepared)
                    prepared->prepare(
                        quantized, activations_.data() + quantized_bytes + t * prepared_row_bytes,
                        w.cols);
            }
        });
        act_bytes = activations_.data();
        if (prepared) act_bytes += quantized_bytes;
    }
    const size_t a_stride = prepared ? prepared_row_bytes : act_row_bytes;
    const cpu::VecDotFn dot = prepared ? prepared->dot : cpu::vec_dot_kernel(w.type);
    // Each chunk of weight rows is read once and applied to every token while it is in cache.
    pool_.parallel_for(w.rows, kRowChunk, [&](int64_t begin, int64_t end) {
        for (int64_t t = 0; t < n_tokens; ++t) {
            const uint8_t* a = act_bytes + static_cast<size_t>(t) * a_stride;
            float* out = y + t * y_stride;
            for (int64_t r = begin; r < end; ++r)
                dot(w.cols, out + r, w.data + static_cast<size_t>(r) * w.row_bytes, a);
        }
    });
}

void CpuBackend::get_row(const Weight& w, int64_t row, float* out) {
    if (row < 0 || row >= w.rows)
        throw Error("row " + std::to_string(row) + " is outside " + w.name + " (" +
                    std::to_string(w.rows) + " rows)");
    cpu::dequantize_row(w.type, w.data + static_cast<size_t>(row) * w.row_bytes, out, w.cols);
}

std::unique_ptr<Backend> make_cpu_backend(int n_threads) {
    return std::make_unique<CpuBackend>(n_threads);
}

}  // namespace uma
