#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "uma/core/ggml_type.h"

namespace uma {

// A weight matrix as stored in the model file and used in place: `rows` rows of `cols` elements,
// each row `row_bytes` long. Stacked matrices (MoE experts) are `count` matrices one after another.
struct Weight {
    std::string name;
    GgmlType type = GgmlType::F32;
    int64_t cols = 0;
    int64_t rows = 0;
    int64_t count = 1;
    size_t row_bytes = 0;
    const uint8_t* data = nullptr;
    // The data is a read-only file mapping: a backend that copies the weights elsewhere may drop
    // these pages from the process (they come back from the page cache if read again).
    bool file_mapped = false;
    // Rows are also looked up one by one (an embedding that doubles as the output projection): a
    // backend should compute with it in place rather than keep a second, rearranged copy, since
    // the lookups keep the file's pages resident anyway.
    bool row_lookups = false;

    bool present() const { return data != nullptr; }
    size_t matrix_bytes() const { return row_bytes * static_cast<size_t>(rows); }
    Weight matrix(int64_t index) const;  // one matrix of a stack
};

enum class RopeStyle { Normal, NeoX };

struct RopeParams {
    RopeStyle style = RopeStyle::Normal;
    int64_t n_rot = 0;  // leading dimensions of each head that are rotated
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;              // linear scaling: positions multiplied by this
    const float* freq_factors = nullptr;  // per-pair divisors (llama3 / long-rope), n_rot/2
    // YaRN
    float ext_factor = 0.0f;
    float attn_factor = 1.0f;
    float beta_fast = 32.0f;
    float beta_slow = 1.0f;
    int64_t n_ctx_orig = 0;

    bool operator==(const RopeParams&) const = default;
};

// Storage of one layer's keys or values: rows of `row_elements`, F16 or F32. A sliding-window
// layer keeps only the last `ring_rows` positions, position p in row p % ring_rows.
// One layer's keys or values, head by head: the rows of a head (one per position, or per slot of
// a ring buffer) are contiguous, so that attention over one head streams through memory.
struct KvView {
    GgmlType type = GgmlType::F16;
    uint8_t* data = nullptr;
    size_t row_bytes = 0;   // one head at one position
    int64_t ring_rows = 0;  // 0: one row per position
    int64_t n_heads = 1;
    size_t head_stride = 0;  // bytes from one head's rows to the next's

    int64_t slot(int64_t position) const { return ring_rows > 0 ? position % ring_rows : position; }
    uint8_t* row(int64_t position, int64_t head = 0) const {
        return data + static_cast<size_t>(head) * head_stride +
               static_cast<size_t>(slot(position)) * row_bytes;
    }
};

struct AttentionArgs {
    const float* q = nullptr;  // [n_tokens][n_heads * head_dim]
    KvView k;                  // n_kv_heads heads of head_dim per position
    KvView v;                  // n_kv_heads heads of head_dim_v per position
    float* out = nullptr;      // [n_tokens][n_heads * head_dim_v]
    int64_t n_tokens = 0;
    int64_t n_heads = 0;
    int64_t n_kv_heads = 0;
    int64_t head_dim = 0;
    int64_t head_dim_v = 0;
    const int32_t* positions = nullptr;  // position of each query token; keys 0..pos are visible
    float scale = 1.0f;
    float softcap = 0.0f;  // > 0: scores = softcap * tanh(scores / softcap)
    int64_t window = 0;    // > 0: only keys with pos - key < window are visible
};

// One product of a group that shares its input: y = w x.
struct MatmulTarget {
    const Weight* w = nullptr;
    float* y = nullptr;
};

// The operations a model's forward pass is written against. The CPU backend implements them with
// SIMD kernels chosen at run time; other backends (CUDA) plug in behind the same interface.
class Backend {
  public:
    virtual ~Backend() = default;
    virtual std::string describe() const = 0;
    virtual int threads() const = 0;

    // Lets the backend rearrange a weight (every matrix of a stack) before its first use, so that
    // the first forward pass does not pay for it. Optional: matmul prepares what it meets.
    virtual void prepare(const Weight& w) { (void)w; }
    // y[t][r] = sum_c w[r][c] * x[t][c], for t < n_tokens.
    virtual void matmul(const Weight& w, const float* x, int64_t n_tokens, float* y) = 0;
    // matmul for several weights with the same input (q, k and v; gate and up). A backend may
    // prepare the input once and share all the rows among its threads in one go.
    virtual void matmul_many(std::span<const MatmulTarget> targets, const float* x,
                             int64_t n_tokens) {
        for (const MatmulTarget& t : targets) matmul(*t.w, x, n_tokens, t.y);
    }
    // One row of an embedding matrix as floats.
    virtual void get_row(const Weight& w, int64_t row, float* out) = 0;
    // y = x / rms(x) * weight (weight may be null), per row of `dim`.
    virtual void rms_norm(const float* x, const float* weight, int64_t n_rows, int64_t dim,
                          float eps, float* y) = 0;
    // Rotates each head of x ([n_tokens][n_heads * head_dim]) in place.
    virtual void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                      const int32_t* positions, const RopeParams& params) = 0;
    // out = silu(gate) * up, elementwise over n values.
    virtual void swiglu(const float* gate, const float* up, int64_t n, float* out) = 0;
    // out = gelu(gate) * up (tanh approximation), elementwise over n values.
    virtual void geglu(const float* gate, const float* up, int64_t n, float* out) = 0;
    // Stores rows of keys/values (floats, [n_rows][row_elements], the heads of a row side by
    // side) into the cache at positions `first_row`...: head h of a row goes to dst.row(p, h).
    virtual void store_rows(const float* src, int64_t n_rows, int64_t row_elements,
                            const KvView& dst, int64_t first_row) = 0;
    // Causal multi-head attention with grouped key/value heads over the cache.
    virtual void attention(const AttentionArgs& args) = 0;
};

std::unique_ptr<Backend> make_cpu_backend(int n_threads);

}  // namespace uma
