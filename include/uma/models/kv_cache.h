#pragma once
#include <cstdint>
#include <vector>

#include "uma/backends/backend.h"

namespace uma {

// Keys and values of every layer for one sequence, `n_ctx` positions long.
class KvCache {
public:
    struct LayerShape {
        int64_t k_row_elements = 0;  // n_kv_heads * head_dim
        int64_t v_row_elements = 0;  // n_kv_heads * head_dim_v
    };

    KvCache(const std::vector<LayerShape>& layers, int64_t n_ctx, GgmlType type);

    int64_t n_ctx() const { return n_ctx_; }
    GgmlType type() const { return type_; }
    // Tokens whose keys and values are stored (positions 0..size-1).
    int64_t size() const { return size_; }
    void set_size(int64_t n);  // truncates or records newly stored positions
    KvView keys(int64_t layer);
    KvView values(int64_t layer);
    size_t bytes() const;

    static size_t bytes_needed(const std::vector<LayerShape>& layers, int64_t n_ctx, GgmlType type);

private:
    struct Layer {
        std::vector<uint8_t> k, v;
        size_t k_row_bytes = 0, v_row_bytes = 0;
    };
    std::vector<Layer> layers_;
    int64_t n_ctx_;
    GgmlType type_;
    int64_t size_ = 0;
};

}  // namespace uma
