// The KV cache's layout: the rows of each key/value head are contiguous (attention over one head
// streams through memory), and storing a row of all heads puts each head where its rows are.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "uma/backends/backend.h"
#include "uma/core/error.h"
#include "uma/models/kv_cache.h"

namespace uma {
namespace {

TEST(KvCache, EachHeadKeepsItsRowsTogether) {
    const int64_t heads = 3, head_dim = 4, n_ctx = 8;
    KvCache cache({{heads * head_dim, heads * head_dim, 0, heads}}, n_ctx, GgmlType::F32);
    auto backend = make_cpu_backend(1);
    // Positions 2 and 3: value 100 * position + 10 * head + i.
    std::vector<float> rows;
    for (int64_t p = 2; p < 4; ++p)
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < head_dim; ++i) rows.push_back(float(100 * p + 10 * h + i));
    for (const KvView& view : {cache.keys(0), cache.values(0)}) {
        EXPECT_EQ(view.n_heads, heads);
        EXPECT_EQ(view.row_bytes, size_t(head_dim) * sizeof(float));
        EXPECT_EQ(view.row(3, 1) - view.row(2, 1), ptrdiff_t(view.row_bytes));
        EXPECT_EQ(view.row(0, 2) - view.row(0, 1), ptrdiff_t(view.head_stride));
        EXPECT_GE(view.head_stride, size_t(n_ctx) * view.row_bytes);
        backend->store_rows(rows.data(), 2, heads * head_dim, view, 2);
        for (int64_t p = 2; p < 4; ++p)
            for (int64_t h = 0; h < heads; ++h) {
                float stored[head_dim];
                std::memcpy(stored, view.row(p, h), sizeof stored);
                for (int64_t i = 0; i < head_dim; ++i)
                    EXPECT_EQ(stored[i], float(100 * p + 10 * h + i))
                        << "position " << p << " head " << h << " element " << i;
            }
        // Untouched positions read as zeros.
        float zeros[head_dim];
        std::memcpy(zeros, view.row(5, 2), sizeof zeros);
        for (float z : zeros) EXPECT_EQ(z, 0.0f);
    }
}

TEST(KvCache, HeadsMustDivideTheRows) {
    EXPECT_THROW(KvCache({{10, 10, 0, 3}}, 8, GgmlType::F16), Error);
    EXPECT_THROW(KvCache({{12, 12, 0, 0}}, 8, GgmlType::F16), Error);
}

}  // namespace
}  // namespace uma
