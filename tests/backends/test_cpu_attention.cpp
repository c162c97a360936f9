// The CPU backend's attention against a plain softmax(q k^T) v in double precision: contexts of
// several key blocks (the online softmax), grouped-query heads, partial blocks of query tokens,
// sliding windows over a ring buffer, soft-capping, and both cache types.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "test_quant_helpers.h"
#include "uma/backends/backend.h"
#include "uma/core/fp16.h"

namespace uma {
namespace {

struct Case {
    GgmlType type;
    int64_t n_heads, n_kv_heads, head_dim, head_dim_v;
    int64_t first_position, n_tokens;
    int64_t window = 0, ring_rows = 0;
    float softcap = 0;
    int threads = 2;
};

// A cache of n_kv_heads heads, head-major, filled with random values.
struct Cache {
    std::vector<uint8_t> bytes;
    KvView view;

    Cache(GgmlType type, int64_t heads, int64_t dim, int64_t rows, uint32_t seed) {
        bytes = test::cache_bytes(type, test::gaussian_values(heads * dim * rows, seed));
        const size_t size = type == GgmlType::F16 ? 2 : 4;
        view.type = type;
        view.data = bytes.data();
        view.row_bytes = size_t(dim) * size;
        view.n_heads = heads;
        view.head_stride = view.row_bytes * size_t(rows);
    }

    double at(int64_t position, int64_t head, int64_t i) const {
        const uint8_t* row = view.row(position, head);
        if (view.type == GgmlType::F16) {
            uint16_t h;
            std::memcpy(&h, row + 2 * i, 2);
            return fp16_to_fp32(h);
        }
        float f;
        std::memcpy(&f, row + 4 * i, 4);
        return f;
    }
};

void check(const Case& c) {
    const int64_t last_position = c.first_position + c.n_tokens - 1;
    const int64_t rows = c.ring_rows > 0 ? c.ring_rows : last_position + 1;
    Cache k(c.type, c.n_kv_heads, c.head_dim, rows, 1);
    Cache v(c.type, c.n_kv_heads, c.head_dim_v, rows, 2);
    k.view.ring_rows = v.view.ring_rows = c.ring_rows;
    const auto q = test::gaussian_values(c.n_tokens * c.n_heads * c.head_dim, 3);
    std::vector<int32_t> positions;
    for (int64_t t = 0; t < c.n_tokens; ++t) positions.push_back(int32_t(c.first_position + t));
    std::vector<float> out(size_t(c.n_tokens * c.n_heads * c.head_dim_v), NAN);

    AttentionArgs a;
    a.q = q.data();
    a.k = k.view;
    a.v = v.view;
    a.out = out.data();
    a.n_tokens = c.n_tokens;
    a.n_heads = c.n_heads;
    a.n_kv_heads = c.n_kv_heads;
    a.head_dim = c.head_dim;
    a.head_dim_v = c.head_dim_v;
    a.positions = positions.data();
    a.scale = 1.0f / std::sqrt(float(c.head_dim));
    a.softcap = c.softcap;
    a.window = c.window;
    make_cpu_backend(c.threads)->attention(a);

    const int64_t group = c.n_heads / c.n_kv_heads;
    for (int64_t t = 0; t < c.n_tokens; ++t) {
        const int64_t pos = positions[size_t(t)];
        const int64_t from = c.window > 0 ? std::max<int64_t>(0, pos - c.window + 1) : 0;
        for (int64_t h = 0; h < c.n_heads; ++h) {
            const float* qh = q.data() + (t * c.n_heads + h) * c.head_dim;
            std::vector<double> p;
            double max = -INFINITY, sum = 0;
            for (int64_t j = from; j <= pos; ++j) {
                double s = 0;
                for (int64_t i = 0; i < c.head_dim; ++i) s += qh[i] * k.at(j, h / group, i);
                s *= a.scale;
                if (c.softcap > 0) s = c.softcap * std::tanh(s / c.softcap);
                p.push_back(s);
                max = std::max(max, s);
            }
            for (double& s : p) sum += s = std::exp(s - max);
            for (int64_t i = 0; i < c.head_dim_v; ++i) {
                double expected = 0;
                for (int64_t j = from; j <= pos; ++j)
                    expected += p[size_t(j - from)] * v.at(j, h / group, i);
                expected /= sum;
                ASSERT_NEAR(out[size_t((t * c.n_heads + h) * c.head_dim_v + i)], expected, 2e-5)
                    << "token " << t << " head " << h << " column " << i;
            }
        }
    }
}

TEST(CpuAttention, LongContextsMatchAPlainSoftmax) {
    // 9 tokens: two whole blocks of query tokens and a partial one; 709 keys: several key blocks.
    check({GgmlType::F16, 8, 2, 64, 64, 700, 9});
    check({GgmlType::F32, 8, 2, 64, 64, 700, 9});
}

TEST(CpuAttention, DecodingOneTokenMatchesAPlainSoftmax) {
    check({GgmlType::F16, 32, 4, 64, 64, 1000, 1});  // TinyLlama's heads
    check({GgmlType::F16, 4, 4, 128, 128, 600, 1});  // one query head per key/value head
}

// Fewer (token block, key/value head) units than threads: each unit's keys are split between
// threads and the partial softmaxes merged.
TEST(CpuAttention, KeysSplitBetweenThreadsMatchAPlainSoftmax) {
    Case decode{GgmlType::F16, 8, 2, 64, 64, 2600, 1};
    decode.threads = 8;  // 2 units, 5 splits of at least 512 keys
    check(decode);
    Case prompt{GgmlType::F32, 4, 1, 64, 64, 1500, 3};
    prompt.threads = 3;  // 1 unit, 2 splits
    check(prompt);
    Case window{GgmlType::F16, 8, 4, 64, 64, 3000, 2};
    window.window = 1200;
    window.ring_rows = 1210;
    window.threads = 4;  // 4 units, 2 splits over the window
    check(window);
}

TEST(CpuAttention, NoTokensIsNothingToDo) {
    AttentionArgs a;
    a.n_heads = a.n_kv_heads = 1;
    a.k.n_heads = a.v.n_heads = 1;
    a.head_dim = a.head_dim_v = 64;
    EXPECT_NO_THROW(make_cpu_backend(2)->attention(a));
}

TEST(CpuAttention, SlidingWindowsOverARingMatchAPlainSoftmax) {
    Case c{GgmlType::F16, 8, 4, 64, 64, 900, 7};
    c.window = 300;
    c.ring_rows = 320;  // at least the window plus the batch
    check(c);
}

TEST(CpuAttention, SoftCappingAndOtherHeadSizesMatchAPlainSoftmax) {
    Case c{GgmlType::F32, 6, 3, 96, 80, 300, 5};
    c.softcap = 2.0f;  // small, so that it changes the scores
    check(c);
    check({GgmlType::F16, 3, 1, 40, 40, 270, 6});  // a head size with no vector kernel
}

}  // namespace
}  // namespace uma
