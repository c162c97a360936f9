// Attention on the CPU: softmax(q k^T * scale) v over the cached keys and values, causal, with
// grouped-query heads, sliding windows and soft-capping.
//
// One job per (block of query tokens, key/value head): every query head of the group, for every
// token of the block, takes each cached row while it is loaded, as a prompt's neighbouring tokens
// see nearly the same keys. The keys go by in blocks, and the softmax is taken online (a running
// maximum and sum per query row, the output rescaled when the maximum grows), so that a block's
// scores and rows stay in the core's caches however long the context is.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/attention_rows.h"
#include "backends/cpu/cpu_backend.h"
#include "uma/core/error.h"

namespace uma {
namespace {

// Query tokens per job: 8 measured slower than 4 (the union of their key ranges grows, and fewer
// jobs balance worse across threads).
constexpr int64_t kTokensPerJob = 4;
// Keys per block: a block's scores (rows x keys floats) and its key and value rows should stay
// in the first- and second-level caches.
constexpr int64_t kKeysPerBlock = 256;

// What one thread keeps between its jobs, so that they do not allocate.
struct AttentionScratch {
    std::vector<float> q;           // [row][head_dim], scaled; a row is (token of the job, head)
    std::vector<float> scores;      // [row][key of the block]
    std::vector<float> block_out;   // [row][head_dim_v]: this block's weighted sum of values
    std::vector<float> out;         // [row][head_dim_v]: the running, unnormalized output
    std::vector<float> max, sum;    // [row]: running maximum score and sum of exponentials
    std::vector<float> rescale;     // [row]: what this block's new maximum does to the output
    std::vector<int64_t> from, to;  // [row]: the row's visible keys, positions [from, to)
};

}  // namespace

void CpuBackend::attention(const AttentionArgs& a) {
    if (a.k.n_heads != a.n_kv_heads || a.v.n_heads != a.n_kv_heads)
        throw Error("attention over " + std::to_string(a.n_kv_heads) +
                    " key/value heads given a cache of " + std::to_string(a.k.n_heads) + "/" +
                    std::to_string(a.v.n_heads) + " heads");
    const int64_t group = a.n_heads / a.n_kv_heads;
    const cpu::detail::SimdLevel level = cpu::detail::active_simd_level();
    const cpu::detail::AttentionRowKernels* keys =
        cpu::detail::attention_row_kernels(a.k.type, level);
    const cpu::detail::AttentionRowKernels* values =
        cpu::detail::attention_row_kernels(a.v.type, level);
    if (keys == nullptr || values == nullptr)
        throw Error("attention over a " + std::string(type_name(a.k.type)) + "/" +
                    std::string(type_name(a.v.type)) + " cache is not supported");
    const int64_t q_stride = a.n_heads * a.head_dim;
    const int64_t out_stride = a.n_heads * a.head_dim_v;
    const int64_t dim = a.head_dim, dim_v = a.head_dim_v;
    const auto first_key = [&](int64_t pos) {
        return a.window > 0 ? std::max<int64_t>(0, pos - a.window + 1) : 0;
    };
    const int64_t blocks = (a.n_tokens + kTokensPerJob - 1) / kTokensPerJob;
    pool_.parallel_for(blocks * a.n_kv_heads, 1, [&](int64_t begin, int64_t end) {
        AttentionScratch s;
        for (int64_t job = begin; job < end; ++job) {
            const int64_t t0 = job / a.n_kv_heads * kTokensPerJob;
            const int64_t kv_head = job % a.n_kv_heads;
            const int64_t tokens = std::min(kTokensPerJob, a.n_tokens - t0);
            const int64_t rows = tokens * group;
            s.q.resize(static_cast<size_t>(rows * dim));
            s.out.assign(static_cast<size_t>(rows * dim_v), 0.0f);
            s.block_out.resize(static_cast<size_t>(rows * dim_v));
            s.max.assign(static_cast<size_t>(rows), -std::numeric_limits<float>::infinity());
            s.sum.assign(static_cast<size_t>(rows), 0.0f);
            s.rescale.resize(static_cast<size_t>(rows));
            s.from.resize(static_cast<size_t>(rows));
            s.to.resize(static_cast<size_t>(rows));
            // The scale is applied to the queries, once, rather than to every score.
            for (int64_t r = 0; r < rows; ++r) {
                const int64_t token = t0 + r / group;
                const float* q_in = a.q + token * q_stride + (kv_head * group + r % group) * dim;
                for (int64_t i = 0; i < dim; ++i) s.q[size_t(r * dim + i)] = q_in[i] * a.scale;
                s.from[size_t(r)] = first_key(a.positions[token]);
                s.to[size_t(r)] = int64_t(a.positions[token]) + 1;
            }
            // The job reads the union of its rows' key ranges; each row's keys outside its own
            // range get weight 0.
            const int64_t first = *std::min_element(s.from.begin(), s.from.end());
            const int64_t last = *std::max_element(s.to.begin(), s.to.end());
            for (int64_t block = first; block < last; block += kKeysPerBlock) {
                const int64_t n = std::min(kKeysPerBlock, last - block);
                const cpu::detail::CacheRows key_rows{a.k.row(0, kv_head), a.k.row_bytes, block,
                                                      a.k.ring_rows};
                const cpu::detail::CacheRows value_rows{a.v.row(0, kv_head), a.v.row_bytes, block,
                                                        a.v.ring_rows};
                s.scores.resize(static_cast<size_t>(rows * n));
                keys->scores(key_rows, n, s.q.data(), dim, int(rows), dim, s.scores.data(), n);
                for (int64_t r = 0; r < rows; ++r) {
                    float* row = s.scores.data() + r * n;
                    const int64_t from = std::clamp(s.from[size_t(r)] - block, int64_t(0), n);
                    const int64_t to = std::clamp(s.to[size_t(r)] - block, from, n);
                    std::fill(row, row + from, 0.0f);
                    std::fill(row + to, row + n, 0.0f);
                    s.rescale[size_t(r)] = 1.0f;
                    if (from == to) continue;  // none of this row's keys are in the block
                    if (a.softcap > 0)
                        for (int64_t j = from; j < to; ++j)
                            row[j] = a.softcap * std::tanh(row[j] / a.softcap);
                    const float block_max = keys->max(row + from, to - from);
                    float& max = s.max[size_t(r)];
                    if (block_max > max) {
                        s.rescale[size_t(r)] = std::exp(max - block_max);  // 0 on the first
                        max = block_max;
                    }
                    s.sum[size_t(r)] = s.sum[size_t(r)] * s.rescale[size_t(r)] +
                                       keys->exp_sum(row + from, to - from, max);
                }
                values->weighted_sum(value_rows, n, s.scores.data(), n, int(rows), dim_v,
                                     s.block_out.data(), dim_v);
                for (int64_t r = 0; r < rows; ++r) {
                    float* out = s.out.data() + r * dim_v;
                    const float* add = s.block_out.data() + r * dim_v;
                    const float rescale = s.rescale[size_t(r)];
                    for (int64_t i = 0; i < dim_v; ++i) out[i] = out[i] * rescale + add[i];
                }
            }
            for (int64_t r = 0; r < rows; ++r) {
                const int64_t token = t0 + r / group;
                float* out = a.out + token * out_stride + (kv_head * group + r % group) * dim_v;
                const float inverse = 1.0f / s.sum[size_t(r)];
                for (int64_t i = 0; i < dim_v; ++i) out[i] = s.out[size_t(r * dim_v + i)] * inverse;
            }
        }
    });
}

}  // namespace uma
