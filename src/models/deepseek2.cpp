// DeepSeek V2 / V2-Lite / Coder-V2 / V3: multi-head latent attention (MLA) and a mixture of
// experts with shared experts after a few leading dense layers.
//
// MLA projects each token to a small latent vector c (kv_lora_rank) plus one shared rotary key
// part k_pe; per-head keys and values are W_k,h·c and W_v,h·c. Only [c ; k_pe] is cached, and
// attention runs in latent space: the query is absorbed through W_k (q_lat,h = W_k,hᵀ q_nope,h),
// scores are q_lat,h·c + q_pe,h·k_pe, and the latent output Σ p·c is expanded by W_v,h afterwards.
// That is multi-query attention over one cached "head" of size kv_lora_rank + n_rot.
#include <algorithm>
#include <cmath>

#include "families.h"
#include "transformer.h"
#include "uma/core/error.h"

namespace uma {
namespace {

class DeepSeek2Model final : public TransformerModel {
  public:
    DeepSeek2Model(std::unique_ptr<GgufFile> file, ModelConfig config)
        : TransformerModel(std::move(file), std::move(config)) {
        ModelConfig& c = config_;
        const std::string a = "deepseek2.";
        c.rope.style = RopeStyle::Normal;
        kv_lora_rank_ = file_->require_int(a + "attention.kv_lora_rank");
        q_lora_rank_ = file_->get_int(a + "attention.q_lora_rank", 0);
        n_rot_ = c.rope.n_rot;
        n_nope_ = c.head_dim - n_rot_;
        if (n_nope_ <= 0 || kv_lora_rank_ <= 0)
            throw Error(file_->path() + ": key_length " + std::to_string(c.head_dim) +
                        " must exceed rope.dimension_count " + std::to_string(n_rot_));
        const int64_t dense_lead = file_->get_int(a + "leading_dense_block_count", 0);
        n_ff_shared_ = n_ff_expert_ * file_->get_int(a + "expert_shared_count", 0);
        routing_.score = file_->get_int(a + "expert_gating_func", 1) == 2
                             ? ExpertRouting::Score::Sigmoid
                             : ExpertRouting::Score::Softmax;
        routing_.normalize = file_->get_bool(a + "expert_weights_norm", false);
        routing_.scale = static_cast<float>(file_->get_float(a + "expert_weights_scale", 1.0));

        // YaRN: the rotation's own magnitude correction is cancelled and applied to the scores
        // instead, squared, as the reference implementation does.
        float mscale = 1.0f;
        if (c.rope.ext_factor != 0.0f && c.rope.freq_scale < 1.0f) {
            const double log_inv = std::log(1.0 / c.rope.freq_scale);
            c.rope.attn_factor = static_cast<float>(1.0 / (1.0 + 0.1 * log_inv));
            mscale = static_cast<float>(
                1.0 + file_->get_float(a + "rope.scaling.yarn_log_multiplier", 0.0) * log_inv);
        }
        kq_scale_ = mscale * mscale / std::sqrt(static_cast<float>(c.head_dim));

        load_output_head();
        for (int64_t l = 0; l < c.n_layer; ++l) {
            const auto name = [l](const char* suffix) {
                return WeightLoader::layer_tensor(l, suffix);
            };
            Layer L;
            L.norm = loader_.vector(name("attn_norm.weight"), c.n_embd);
            if (q_lora_rank_ > 0) {
                L.wq_a = loader_.matrix(name("attn_q_a.weight"), c.n_embd, q_lora_rank_);
                L.q_a_norm = loader_.vector(name("attn_q_a_norm.weight"), q_lora_rank_);
                L.wq_b =
                    loader_.matrix(name("attn_q_b.weight"), q_lora_rank_, c.n_head * c.head_dim);
            } else {
                L.wq = loader_.matrix(name("attn_q.weight"), c.n_embd, c.n_head * c.head_dim);
            }
            L.wkv_a =
                loader_.matrix(name("attn_kv_a_mqa.weight"), c.n_embd, kv_lora_rank_ + n_rot_);
            L.kv_a_norm = loader_.vector(name("attn_kv_a_norm.weight"), kv_lora_rank_);
            // Its rows are read one by one (the absorbed key projection of every head).
            L.wkv_b = read_by_rows(loader_.matrix(name("attn_kv_b.weight"), kv_lora_rank_,
                                                  c.n_head * (n_nope_ + c.head_dim_v)));
            L.wo = loader_.matrix(name("attn_output.weight"), c.n_head * c.head_dim_v, c.n_embd);
            L.ffn = load_ffn(l);
            if (l < dense_lead && L.ffn.is_moe())
                throw Error(file_->path() + ": layer " + std::to_string(l) +
                            " should be dense (leading_dense_block_count " +
                            std::to_string(dense_lead) + ") but has experts");
            layers_.push_back(std::move(L));
        }
    }

  protected:
    std::vector<KvCache::LayerShape> cache_shape() const override {
        // Keys hold [c ; k_pe]; values are read from the same rows (their first kv_lora_rank).
        return std::vector<KvCache::LayerShape>(static_cast<size_t>(config_.n_layer),
                                                {kv_lora_rank_ + n_rot_, 0});
    }

    void layer(int64_t index, ForwardPass& pass) override {
        const Layer& L = layers_[index];
        const int64_t size = pass.n * config_.n_embd;
        std::vector<float> h(size), delta(size);
        norm(pass, pass.x.data(), L.norm, h.data());
        latent_attention(pass, index, L, h.data(), delta.data());
        add_in_place(pass.x.data(), delta.data(), size);
        norm(pass, pass.x.data(), L.ffn.norm, h.data());
        feed_forward(pass, L.ffn, h.data(), delta.data());
        add_in_place(pass.x.data(), delta.data(), size);
    }

  private:
    struct Layer {
        const float* norm = nullptr;
        Weight wq, wq_a, wq_b;
        const float* q_a_norm = nullptr;
        Weight wkv_a, wkv_b, wo;
        const float* kv_a_norm = nullptr;
        FfnWeights ffn;
    };

    // Rows [first, first + count) of wkv_b as a matrix of their own.
    Weight kv_b_rows(const Weight& wkv_b, int64_t first, int64_t count) const {
        Weight part = wkv_b;
        part.data = wkv_b.data + static_cast<size_t>(first) * wkv_b.row_bytes;
        part.rows = count;
        return part;
    }

    void latent_attention(ForwardPass& pass, int64_t layer, const Layer& L, const float* h,
                          float* out) {
        const ModelConfig& c = config_;
        Backend& be = pass.be;
        const int64_t n = pass.n, heads = c.n_head, r = kv_lora_rank_, hk = c.head_dim;
        const int64_t hv = c.head_dim_v, latent = r + n_rot_, per_head_kv = n_nope_ + hv;

        // Queries: [n][heads][nope + rot]
        std::vector<float> q(n * heads * hk);
        if (L.wq.present()) {
            be.matmul(L.wq, h, n, q.data());
        } else {
            std::vector<float> qa(n * q_lora_rank_);
            be.matmul(L.wq_a, h, n, qa.data());
            be.rms_norm(qa.data(), L.q_a_norm, n, q_lora_rank_, c.norm_eps, qa.data());
            be.matmul(L.wq_b, qa.data(), n, q.data());
        }
        // Latent keys: [n][r + rot] = [norm(c) ; k_pe]
        std::vector<float> kv(n * latent);
        be.matmul(L.wkv_a, h, n, kv.data());
        std::vector<float> k_pe(n * n_rot_), q_pe(n * heads * n_rot_);
        for (int64_t t = 0; t < n; ++t) {
            float* row = kv.data() + t * latent;
            be.rms_norm(row, L.kv_a_norm, 1, r, c.norm_eps, row);
            std::copy_n(row + r, n_rot_, k_pe.data() + t * n_rot_);
            for (int64_t hd = 0; hd < heads; ++hd)
                std::copy_n(q.data() + (t * heads + hd) * hk + n_nope_, n_rot_,
                            q_pe.data() + (t * heads + hd) * n_rot_);
        }
        be.rope(q_pe.data(), n, heads, n_rot_, pass.positions.data(), c.rope);
        be.rope(k_pe.data(), n, 1, n_rot_, pass.positions.data(), c.rope);
        for (int64_t t = 0; t < n; ++t)
            std::copy_n(k_pe.data() + t * n_rot_, n_rot_, kv.data() + t * latent + r);

        // Absorb W_k into the queries: q_lat[t][h] = W_k,hᵀ q_nope[t][h], then append q_pe.
        std::vector<float> q_latent(n * heads * latent, 0.0f), row(r);
        for (int64_t hd = 0; hd < heads; ++hd) {
            for (int64_t i = 0; i < n_nope_; ++i) {
                be.get_row(L.wkv_b, hd * per_head_kv + i, row.data());
                for (int64_t t = 0; t < n; ++t) {
                    const float qi = q[(t * heads + hd) * hk + i];
                    float* dst = q_latent.data() + (t * heads + hd) * latent;
                    for (int64_t j = 0; j < r; ++j) dst[j] += qi * row[j];
                }
            }
            for (int64_t t = 0; t < n; ++t)
                std::copy_n(q_pe.data() + (t * heads + hd) * n_rot_, n_rot_,
                            q_latent.data() + (t * heads + hd) * latent + r);
        }

        std::vector<float> out_latent(n * heads * r);
        for (const SequenceSlice& s : pass.seqs) {
            const KvView keys = s.cache->keys(layer);
            be.store_rows(kv.data() + s.first * latent, s.count, latent, keys, s.pos0);
            AttentionArgs args;
            args.q = q_latent.data() + s.first * heads * latent;
            args.k = keys;
            args.v = keys;  // the latent c is the first r values of each key row
            args.out = out_latent.data() + s.first * heads * r;
            args.n_tokens = s.count;
            args.n_heads = heads;
            args.n_kv_heads = 1;
            args.head_dim = latent;
            args.head_dim_v = r;
            args.positions = pass.positions.data() + s.first;
            args.scale = kq_scale_;
            be.attention(args);
        }

        // Expand each head's latent output through W_v,h, then the output projection.
        std::vector<float> attn(n * heads * hv), gathered(n * r), head_out(n * hv);
        for (int64_t hd = 0; hd < heads; ++hd) {
            for (int64_t t = 0; t < n; ++t)
                std::copy_n(out_latent.data() + (t * heads + hd) * r, r, gathered.data() + t * r);
            be.matmul(kv_b_rows(L.wkv_b, hd * per_head_kv + n_nope_, hv), gathered.data(), n,
                      head_out.data());
            for (int64_t t = 0; t < n; ++t)
                std::copy_n(head_out.data() + t * hv, hv, attn.data() + (t * heads + hd) * hv);
        }
        be.matmul(L.wo, attn.data(), n, out);
    }

    int64_t kv_lora_rank_ = 0, q_lora_rank_ = 0, n_rot_ = 0, n_nope_ = 0;
    float kq_scale_ = 1.0f;
    std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<Model> make_deepseek2(std::unique_ptr<GgufFile> file, ModelConfig config) {
    return std::make_unique<DeepSeek2Model>(std::move(file), std::move(config));
}

}  // namespace uma
