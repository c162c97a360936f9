#include "uma/models/kv_cache.h"

#include <algorithm>
#include <string>

#include "uma/core/error.h"

namespace uma {

KvCache::KvCache(const std::vector<LayerShape>& layers, int64_t n_ctx, GgmlType type)
    : n_ctx_(n_ctx), type_(type) {
    if (type != GgmlType::F16 && type != GgmlType::F32)
        throw Error("KV cache type " + std::string(type_name(type)) +
                    " is not supported (use f16 or f32)");
    if (n_ctx <= 0) throw Error("context size must be positive");
    layers_.resize(layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        Layer& l = layers_[i];
        const int64_t rows = rows_for(layers[i], n_ctx);
        const int64_t heads = layers[i].n_kv_heads;
        if (heads <= 0 || layers[i].k_row_elements % heads != 0 ||
            layers[i].v_row_elements % heads != 0)
            throw Error("KV cache: " + std::to_string(heads) + " heads do not divide rows of " +
                        std::to_string(layers[i].k_row_elements) + " keys and " +
                        std::to_string(layers[i].v_row_elements) + " values");
        l.window = layers[i].window;
        l.ring_rows = rows < n_ctx ? rows : 0;
        l.n_heads = heads;
        l.rows = rows;
        l.k_row_bytes = row_size(type, layers[i].k_row_elements / heads);
        l.v_row_bytes = row_size(type, layers[i].v_row_elements / heads);
        // Zero pages until written: a long context takes memory only as far as it is filled.
        l.k = PageBuffer(l.k_row_bytes * static_cast<size_t>(rows * heads), "the KV cache's keys");
        l.v =
            PageBuffer(l.v_row_bytes * static_cast<size_t>(rows * heads), "the KV cache's values");
    }
}

int64_t KvCache::rows_for(const LayerShape& shape, int64_t n_ctx) {
    if (shape.window <= 0) return n_ctx;
    return std::min(n_ctx, shape.window + kMaxBatch - 1);
}

int64_t KvCache::reusable_prefix(int64_t n) const {
    n = std::min(n, size_);
    for (const Layer& l : layers_) {
        if (l.ring_rows == 0) continue;
        // Positions still intact in the ring: [size_ - ring_rows, size_). A query at n needs
        // keys from n - window + 1 on.
        const int64_t oldest_intact = std::max<int64_t>(0, size_ - l.ring_rows);
        const int64_t oldest_needed = std::max<int64_t>(0, n - l.window + 1);
        if (oldest_needed < oldest_intact) return 0;
    }
    return n;
}

void KvCache::set_size(int64_t n) {
    if (n < 0 || n > n_ctx_)
        throw Error("KV cache position " + std::to_string(n) + " is outside the context of " +
                    std::to_string(n_ctx_) + " tokens");
    size_ = n;
}

KvView KvCache::keys(int64_t layer) {
    Layer& l = layers_.at(static_cast<size_t>(layer));
    return {type_,       l.k.data(), l.k_row_bytes,
            l.ring_rows, l.n_heads,  l.k_row_bytes * static_cast<size_t>(l.rows)};
}

KvView KvCache::values(int64_t layer) {
    Layer& l = layers_.at(static_cast<size_t>(layer));
    return {type_,       l.v.data(), l.v_row_bytes,
            l.ring_rows, l.n_heads,  l.v_row_bytes * static_cast<size_t>(l.rows)};
}

size_t KvCache::bytes() const {
    size_t total = 0;
    for (const auto& l : layers_) total += l.k.size() + l.v.size();
    return total;
}

size_t KvCache::bytes_needed(const std::vector<LayerShape>& layers, int64_t n_ctx, GgmlType type) {
    size_t total = 0;
    for (const auto& l : layers)
        total += (row_size(type, l.k_row_elements) + row_size(type, l.v_row_elements)) *
                 static_cast<size_t>(rows_for(l, n_ctx));
    return total;
}

}  // namespace uma
