// Attention on the CPU: softmax(q k^T * scale) v over the cached keys and values, causal, with
// grouped-query heads, sliding windows and soft-capping.
//
// One job per (block of query tokens, key/value head): every query head of the group, for every
// token of the block, takes each cached row while it is loaded, as a prompt's neighbouring tokens
// see nearly the same keys. The keys go by in blocks, and the softmax is taken online (a running
// maximum and sum per query row, the output rescaled when the maximum grows), so that a block's
// scores and rows stay in the core's caches however long the context is. When there are fewer
// units of work than threads (decoding with few key/value heads), each unit's keys are split
// between threads and the partial softmaxes merged, so that every core reads its share of the
// cache.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
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
// Splitting a unit's keys between threads: no split shorter than this, and split boundaries on
// whole tiles of the score kernels.
constexpr int64_t kMinKeysPerSplit = 512;
constexpr int64_t kSplitAlign = 32;

// What one call of a parallel_for body keeps between its jobs, so that they do not allocate.
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
    if (a.n_tokens == 0) return;
    const int64_t blocks = (a.n_tokens + kTokensPerJob - 1) / kTokensPerJob;
    const int64_t units = blocks * a.n_kv_heads;  // (block of query tokens, key/value head)
    // The most rows a unit has: its tokens times the group's heads.
    const int64_t rows_per_unit = std::min(kTokensPerJob, a.n_tokens) * group;

    // A unit's partial softmax over share `split` of `splits` equal shares of its key range, left
    // in s: running maximum, sum of exponentials and unnormalized output per row. Returns the
    // unit's rows.
    const auto attend = [&](int64_t unit, int64_t split, int64_t splits, AttentionScratch& s) {
        const int64_t t0 = unit / a.n_kv_heads * kTokensPerJob;
        const int64_t kv_head = unit % a.n_kv_heads;
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
        // The unit reads the union of its rows' key ranges (this split's share of it); each
        // row's keys outside its own range get weight 0.
        const int64_t first = *std::min_element(s.from.begin(), s.from.end());
        const int64_t last = *std::max_element(s.to.begin(), s.to.end());
        const int64_t share =
            ((last - first + splits - 1) / splits + kSplitAlign - 1) / kSplitAlign * kSplitAlign;
        const int64_t begin = std::min(last, first + split * share);
        const int64_t end = std::min(last, begin + share);
        for (int64_t block = begin; block < end; block += kKeysPerBlock) {
            const int64_t n = std::min(kKeysPerBlock, end - block);
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
        return rows;
    };
    const auto output_row = [&](int64_t unit, int64_t r) {
        const int64_t token = unit / a.n_kv_heads * kTokensPerJob + r / group;
        return a.out + token * out_stride + (unit % a.n_kv_heads * group + r % group) * dim_v;
    };

    // Few units over a long context (decoding, with few key/value heads) would leave threads
    // idle: each unit's keys are then split, and the splits' partial softmaxes merged.
    int32_t max_position = 0, min_position = a.positions[0];
    for (int64_t t = 0; t < a.n_tokens; ++t) {
        max_position = std::max(max_position, a.positions[t]);
        min_position = std::min(min_position, a.positions[t]);
    }
    const int64_t span = max_position + 1 - first_key(min_position);
    const int64_t wanted = (2 * int64_t(pool_.size()) + units - 1) / units;
    const int64_t splits = std::max<int64_t>(1, std::min(wanted, span / kMinKeysPerSplit));

    if (splits == 1) {
        pool_.parallel_for(units, 1, [&](int64_t begin, int64_t end) {
            AttentionScratch s;
            for (int64_t unit = begin; unit < end; ++unit) {
                const int64_t rows = attend(unit, 0, 1, s);
                for (int64_t r = 0; r < rows; ++r) {
                    const float inverse = 1.0f / s.sum[size_t(r)];
                    const float* in = s.out.data() + r * dim_v;
                    float* out = output_row(unit, r);
                    for (int64_t i = 0; i < dim_v; ++i) out[i] = in[i] * inverse;
                }
            }
        });
        return;
    }
    // Per (unit, split): per row, the unnormalized output, then the maximum and the sum.
    const int64_t part_floats = rows_per_unit * (dim_v + 2);
    // Not zeroed: every job writes the rows it has, and the merge reads only those.
    const std::unique_ptr<float[]> parts(new float[size_t(units * splits * part_floats)]);
    pool_.parallel_for(units * splits, 1, [&](int64_t begin, int64_t end) {
        AttentionScratch s;
        for (int64_t job = begin; job < end; ++job) {
            const int64_t rows = attend(job / splits, job % splits, splits, s);
            float* part = parts.get() + job * part_floats;
            std::copy_n(s.out.data(), rows * dim_v, part);
            std::copy_n(s.max.data(), rows, part + rows_per_unit * dim_v);
            std::copy_n(s.sum.data(), rows, part + rows_per_unit * (dim_v + 1));
        }
    });
    pool_.parallel_for(units * rows_per_unit, 1, [&](int64_t begin, int64_t end) {
        for (int64_t job = begin; job < end; ++job) {
            const int64_t unit = job / rows_per_unit, r = job % rows_per_unit;
            const int64_t t0 = unit / a.n_kv_heads * kTokensPerJob;
            if (r >= std::min(kTokensPerJob, a.n_tokens - t0) * group) continue;  // past the last
            const float* first_part = parts.get() + unit * splits * part_floats;
            // A split with none of the row's keys has maximum -inf: weight exp(-inf) = 0.
            float max = -std::numeric_limits<float>::infinity();
            for (int64_t p = 0; p < splits; ++p)
                max = std::max(max, first_part[p * part_floats + rows_per_unit * dim_v + r]);
            float* out = output_row(unit, r);
            std::fill(out, out + dim_v, 0.0f);
            float sum = 0;
            for (int64_t p = 0; p < splits; ++p) {
                const float* part = first_part + p * part_floats;
                const float weight = std::exp(part[rows_per_unit * dim_v + r] - max);
                if (weight == 0.0f) continue;
                sum += weight * part[rows_per_unit * (dim_v + 1) + r];
                for (int64_t i = 0; i < dim_v; ++i) out[i] += weight * part[r * dim_v + i];
            }
            const float inverse = 1.0f / sum;
            for (int64_t i = 0; i < dim_v; ++i) out[i] *= inverse;
        }
    });
}

}  // namespace uma
