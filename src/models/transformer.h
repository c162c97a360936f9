#pragma once
// Building blocks shared by every decoder-only family: batching of sequences, attention over the
// KV cache, dense and mixture-of-experts feed-forward networks, and the output head. Each family
// file writes its layer as a few lines of math in terms of these.
#include <array>
#include <memory>
#include <vector>

#include "uma/models/model.h"
#include "weights.h"

namespace uma {

// The tokens of one sequence within a forward pass.
struct SequenceSlice {
    int64_t first = 0;  // index of its first token in the batch
    int64_t count = 0;
    int64_t pos0 = 0;  // position of its first token
    KvCache* cache = nullptr;
    bool all_logits = false;
};

// Intermediate activations that every layer overwrites completely before reading them.
enum class Scratch { h, delta, q, k, v, attn, qkv, gate, up, gate_up, act, count };

// Float buffers for the Scratch slots, kept by a model across forward passes: grown on demand and
// never cleared, so that a prompt batch neither allocates nor zero-fills tens of megabytes per
// layer. (A model runs one forward pass at a time.)
class ScratchBuffers {
  public:
    float* get(Scratch slot, int64_t n);

  private:
    struct Buffer {
        std::unique_ptr<float[]> data;
        int64_t size = 0;
    };
    std::array<Buffer, static_cast<size_t>(Scratch::count)> buffers_;
};

// Activations of one forward pass: the residual stream and the batch layout.
struct ForwardPass {
    ForwardPass(Backend& backend, ScratchBuffers& buffers) : be(backend), scratch(buffers) {}
    Backend& be;
    ScratchBuffers& scratch;
    int64_t n = 0;  // tokens in the batch
    std::vector<TokenId> tokens;
    std::vector<int32_t> positions;  // of each token in its own sequence
    std::vector<SequenceSlice> seqs;
    std::vector<float> x;  // residual stream, [n][n_embd]
};

struct AttentionWeights {
    const float* norm = nullptr;
    Weight wq, wk, wv;  // separate projections, or
    Weight wqkv;        // one fused projection (phi3)
    const float *bq = nullptr, *bk = nullptr, *bv = nullptr;
    const float *q_norm = nullptr, *k_norm = nullptr;  // per-head RMS norms (qwen3, gemma3)
    Weight wo;
};

struct FfnWeights {
    const float* norm = nullptr;
    Weight gate, up, down;  // dense SwiGLU/GeGLU
    Weight gate_up;         // fused gate and up halves (phi3)
    // Mixture of experts.
    Weight router;                               // [n_embd -> n_expert]
    Weight gate_exps, up_exps, down_exps;        // stacks of n_expert matrices
    Weight gate_shared, up_shared, down_shared;  // the always-on shared expert
    const float* shared_gate = nullptr;          // sigmoid gate of the shared expert, [n_embd]
    const float* selection_bias = nullptr;       // added to scores only to choose experts (V3)
    bool is_moe() const { return router.present(); }
};

// How a token's router logits pick its experts and weigh their outputs.
struct ExpertRouting {
    enum class Score { Softmax, Sigmoid };
    Score score = Score::Softmax;  // sigmoid: DeepSeek V3
    bool normalize = true;         // chosen weights renormalised to sum 1 (mixtral, qwen3moe)
    float scale = 1.0f;            // all weights multiplied by this (DeepSeek)
};

struct AttentionOptions {
    float scale = 1.0f;
    float softcap = 0.0f;
    int64_t window = 0;
    const RopeParams* rope = nullptr;  // null: no rotary embedding
};

class TransformerModel : public Model {
  public:
    void forward_batch(std::span<const SequenceBatch> batch, Backend& backend,
                       std::vector<float>& logits) override;
    std::vector<Weight> matrices() const override;

  protected:
    TransformerModel(std::unique_ptr<GgufFile> file, ModelConfig config);

    // The family's layer: reads and updates pass.x.
    virtual void layer(int64_t index, ForwardPass& pass) = 0;
    // Token embeddings into pass.x (families may scale them).
    virtual void embed(ForwardPass& pass);

    // Loads the output head: output_norm, output (or the tied embedding).
    void load_output_head();
    // w, marked as also read row by row (Weight::row_lookups), and left out of matrices().
    Weight read_by_rows(Weight w);
    AttentionWeights load_attention(int64_t layer, bool fused_qkv = false);
    FfnWeights load_ffn(int64_t layer);

    // y = norm(x) * weight for each of the n rows.
    void norm(ForwardPass& pass, const float* x, const float* weight, float* y) const;
    // out = Wo · attention(q, k, v) of norm'd input `h`; result written to `out` [n][n_embd].
    void attention(ForwardPass& pass, int64_t layer, const AttentionWeights& w, const float* h,
                   float* out, const AttentionOptions& options);
    // out = feed-forward(h), dense or mixture of experts; `geglu` picks GELU over SiLU gating.
    void feed_forward(ForwardPass& pass, const FfnWeights& w, const float* h, float* out,
                      bool geglu = false);
    static void add_in_place(float* x, const float* y, int64_t n);

    WeightLoader loader_;
    ScratchBuffers scratch_;
    std::vector<const uint8_t*> row_lookups_;  // data of the weights read_by_rows marked
    Weight token_embd_, output_;
    const float* output_norm_ = nullptr;
    float final_softcap_ = 0.0f;
    ExpertRouting routing_;
    int64_t n_ff_expert_ = 0;
    int64_t n_ff_shared_ = 0;

  private:
    void dense_ffn(ForwardPass& pass, const Weight& gate, const Weight& up, const Weight& down,
                   const float* h, int64_t n, float* out, bool geglu) const;
    void fused_ffn(ForwardPass& pass, const Weight& gate_up, const Weight& down, const float* h,
                   float* out) const;
    void moe_ffn(ForwardPass& pass, const FfnWeights& w, const float* h, float* out) const;
};

}  // namespace uma

namespace uma {

// The common pre-norm decoder layer (llama, qwen, phi3, mixtral):
//   x += Wo · attention(norm(x)),   x += ffn(norm(x))
class PreNormDecoder : public TransformerModel {
  protected:
    PreNormDecoder(std::unique_ptr<GgufFile> file, ModelConfig config)
        : TransformerModel(std::move(file), std::move(config)) {}

    // Loads every layer once the family has set up its configuration.
    void load_layers(bool fused_qkv);
    void layer(int64_t index, ForwardPass& pass) override;

    AttentionOptions attention_options_;

    struct Layer {
        AttentionWeights attention;
        FfnWeights ffn;
    };
    std::vector<Layer> layers_;
};

}  // namespace uma
