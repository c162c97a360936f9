#pragma once
#include <vector>

#include "backends/cpu/packed_weights.h"
#include "uma/backends/backend.h"
#include "uma/backends/cpu/thread_pool.h"

namespace uma {

// The CPU backend. Matrix products live in cpu_backend.cpp, attention in cpu_attention.cpp; the
// cheap elementwise operations in cpu_elementwise.cpp.
class CpuBackend final : public Backend {
  public:
    explicit CpuBackend(int n_threads) : pool_(n_threads) {}

    std::string describe() const override;
    int threads() const override { return pool_.size(); }

    void prepare(const Weight& w) override;
    void matmul(const Weight& w, const float* x, int64_t n_tokens, float* y) override;
    void matmul_many(std::span<const MatmulTarget> targets, const float* x,
                     int64_t n_tokens) override;
    void get_row(const Weight& w, int64_t row, float* out) override;
    void rms_norm(const float* x, const float* weight, int64_t n_rows, int64_t dim, float eps,
                  float* y) override;
    void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
              const int32_t* positions, const RopeParams& params) override;
    void swiglu(const float* gate, const float* up, int64_t n, float* out) override;
    void geglu(const float* gate, const float* up, int64_t n, float* out) override;
    void store_rows(const float* src, int64_t n_rows, int64_t row_elements, const KvView& dst,
                    int64_t first_row) override;
    void attention(const AttentionArgs& args) override;

  private:
    // The in-place kernels: one row at a time in the file's own format.
    void rowwise_matmul(const Weight& w, const float* x, int64_t n_tokens, float* y,
                        int64_t y_stride);
    // Matrices packed in formats with the same input quantization and the same row length.
    void packed_matmul(std::span<const cpu::detail::PackedMatrix* const> packed,
                       std::span<const MatmulTarget> targets, const float* x, int64_t n_tokens);

    // The rotation angles of the last rope call: every layer of a forward pass rotates the same
    // positions with the same parameters, so they are computed once per pass.
    struct RopeTables {
        RopeParams params;
        std::vector<int32_t> positions;
        std::vector<float> cos, sin;  // [token][pair], the YaRN magnitude scale folded in
    };
    const RopeTables& rope_tables(const int32_t* positions, int64_t n_tokens, const RopeParams& p);

    cpu::ThreadPool pool_;
    RopeTables rope_tables_;
    std::vector<uint8_t> activations_;
    std::vector<float> tail_rows_;
    cpu::detail::PackedWeightCache packed_;
};

}  // namespace uma
