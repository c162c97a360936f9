#pragma once
#include <cstdint>
#include <vector>

#include "uma/backends/backend.h"
#include "uma/core/page_buffer.h"

namespace uma {

// Keys and values of every layer for one sequence, `n_ctx` positions long.
class KvCache {
  public:
    struct LayerShape {
        int64_t k_row_elements = 0;  // n_kv_heads * head_dim
        int64_t v_row_elements = 0;  // n_kv_heads * head_dim_v
        int64_t window = 0;          // > 0: a sliding-window layer, which keeps fewer rows
        int64_t n_kv_heads = 1;      // the rows of each head are stored together
    };

    // Most tokens of one sequence in one forward pass; sliding-window layers size their ring
    // buffers from it (window + max_batch - 1 rows hold every key a batch can look at).
    static constexpr int64_t kMaxBatch = 512;

    KvCache(const std::vector<LayerShape>& layers, int64_t n_ctx, GgmlType type);

    int64_t n_ctx() const { return n_ctx_; }
    GgmlType type() const { return type_; }
    // Tokens whose keys and values are stored (positions 0..size-1).
    int64_t size() const { return size_; }
    void set_size(int64_t n);  // truncates or records newly stored positions
    // The longest prefix of the first `n` positions that can be kept when truncating: ring
    // buffers may have overwritten keys that later positions would still need.
    int64_t reusable_prefix(int64_t n) const;
    KvView keys(int64_t layer);
    KvView values(int64_t layer);
    size_t bytes() const;

    static size_t bytes_needed(const std::vector<LayerShape>& layers, int64_t n_ctx, GgmlType type);

  private:
    struct Layer {
        PageBuffer k, v;
        size_t k_row_bytes = 0, v_row_bytes = 0;  // one head at one position
        int64_t n_heads = 1;
        int64_t rows = 0;
        int64_t window = 0;
        int64_t ring_rows = 0;
    };
    static int64_t rows_for(const LayerShape& shape, int64_t n_ctx);
    std::vector<Layer> layers_;
    int64_t n_ctx_;
    GgmlType type_;
    int64_t size_ = 0;
};

}  // namespace uma
