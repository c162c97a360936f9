#include "transformer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "uma/core/error.h"

namespace uma {

TransformerModel::TransformerModel(std::unique_ptr<GgufFile> file, ModelConfig config)
    : Model(std::move(file), std::move(config)), loader_(*file_) {
    const std::string a = config_.architecture + ".";
    n_ff_expert_ = file_->get_int(a + "expert_feed_forward_length", config_.n_ff);
    n_ff_shared_ = file_->get_int(a + "expert_shared_feed_forward_length", config_.n_ff);
    if (config_.n_expert > 0 &&
        (config_.n_expert_used <= 0 || config_.n_expert_used > config_.n_expert))
        throw Error(file_->path() + ": expert_used_count " + std::to_string(config_.n_expert_used) +
                    " must be between 1 and expert_count " + std::to_string(config_.n_expert));
}

void TransformerModel::load_output_head() {
    const ModelConfig& c = config_;
    token_embd_ = loader_.matrix("token_embd.weight", c.n_embd, c.n_vocab);
    output_norm_ = loader_.vector("output_norm.weight", c.n_embd);
    output_ = loader_.optional_matrix("output.weight", c.n_embd, c.n_vocab);
    if (!output_.present()) output_ = read_by_rows(token_embd_);  // tied embeddings
}

AttentionWeights TransformerModel::load_attention(int64_t l, bool fused_qkv) {
    const ModelConfig& c = config_;
    const auto name = [l](const char* suffix) { return WeightLoader::layer_tensor(l, suffix); };
    const int64_t q_dim = c.n_head * c.head_dim, kv_dim = c.n_head_kv * c.head_dim;
    const int64_t v_dim = c.n_head_kv * c.head_dim_v;
    AttentionWeights w;
    w.norm = loader_.vector(name("attn_norm.weight"), c.n_embd);
    if (fused_qkv) {
        w.wqkv = loader_.matrix(name("attn_qkv.weight"), c.n_embd, q_dim + kv_dim + v_dim);
    } else {
        w.wq = loader_.matrix(name("attn_q.weight"), c.n_embd, q_dim);
        w.wk = loader_.matrix(name("attn_k.weight"), c.n_embd, kv_dim);
        w.wv = loader_.matrix(name("attn_v.weight"), c.n_embd, v_dim);
        w.bq = loader_.optional_vector(name("attn_q.bias"), q_dim);
        w.bk = loader_.optional_vector(name("attn_k.bias"), kv_dim);
        w.bv = loader_.optional_vector(name("attn_v.bias"), v_dim);
    }
    w.q_norm = loader_.optional_vector(name("attn_q_norm.weight"), c.head_dim);
    w.k_norm = loader_.optional_vector(name("attn_k_norm.weight"), c.head_dim);
    w.wo = loader_.matrix(name("attn_output.weight"), c.n_head * c.head_dim_v, c.n_embd);
    return w;
}

FfnWeights TransformerModel::load_ffn(int64_t l) {
    const ModelConfig& c = config_;
    const auto name = [l](const char* suffix) { return WeightLoader::layer_tensor(l, suffix); };
    FfnWeights w;
    w.norm = loader_.vector(name("ffn_norm.weight"), c.n_embd);
    if (file_->find_tensor(name("ffn_gate_inp.weight"))) {
        if (c.n_expert <= 0)
            throw Error(file_->path() + ": layer " + std::to_string(l) +
                        " has an expert router but the metadata gives no expert_count");
        w.router = loader_.matrix(name("ffn_gate_inp.weight"), c.n_embd, c.n_expert);
        w.gate_exps =
            loader_.matrices(name("ffn_gate_exps.weight"), c.n_embd, n_ff_expert_, c.n_expert);
        w.up_exps =
            loader_.matrices(name("ffn_up_exps.weight"), c.n_embd, n_ff_expert_, c.n_expert);
        w.down_exps =
            loader_.matrices(name("ffn_down_exps.weight"), n_ff_expert_, c.n_embd, c.n_expert);
        w.gate_shared =
            loader_.optional_matrix(name("ffn_gate_shexp.weight"), c.n_embd, n_ff_shared_);
        if (w.gate_shared.present()) {
            w.up_shared = loader_.matrix(name("ffn_up_shexp.weight"), c.n_embd, n_ff_shared_);
            w.down_shared = loader_.matrix(name("ffn_down_shexp.weight"), n_ff_shared_, c.n_embd);
            w.shared_gate = loader_.optional_vector(name("ffn_gate_inp_shexp.weight"), c.n_embd);
        }
        w.selection_bias = loader_.optional_vector(name("exp_probs_b.bias"), c.n_expert);
    } else if (file_->find_tensor(name("ffn_gate.weight"))) {
        w.gate = loader_.matrix(name("ffn_gate.weight"), c.n_embd, c.n_ff);
        w.up = loader_.matrix(name("ffn_up.weight"), c.n_embd, c.n_ff);
        w.down = loader_.matrix(name("ffn_down.weight"), c.n_ff, c.n_embd);
    } else {
        w.gate_up = loader_.matrix(name("ffn_up.weight"), c.n_embd, 2 * c.n_ff);
        w.down = loader_.matrix(name("ffn_down.weight"), c.n_ff, c.n_embd);
    }
    return w;
}

void TransformerModel::add_in_place(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void TransformerModel::norm(ForwardPass& pass, const float* x, const float* weight,
                            float* y) const {
    pass.be.rms_norm(x, weight, pass.n, config_.n_embd, config_.norm_eps, y);
}

void TransformerModel::embed(ForwardPass& pass) {
    for (int64_t t = 0; t < pass.n; ++t)
        pass.be.get_row(token_embd_, pass.tokens[t], pass.x.data() + t * config_.n_embd);
}

std::vector<Weight> TransformerModel::matrices() const {
    std::vector<Weight> used;
    for (const Weight& w : loader_.matrices()) {
        // The embedding is looked up by row; so are the weights marked by read_by_rows.
        const bool by_rows =
            w.data == token_embd_.data ||
            std::find(row_lookups_.begin(), row_lookups_.end(), w.data) != row_lookups_.end();
        if (!by_rows) used.push_back(w);
    }
    return used;
}

Weight TransformerModel::read_by_rows(Weight w) {
    w.row_lookups = true;
    row_lookups_.push_back(w.data);
    return w;
}

float* ScratchBuffers::get(Scratch slot, int64_t n) {
    Buffer& b = buffers_[static_cast<size_t>(slot)];
    if (b.size < n) {
        b.data = std::make_unique_for_overwrite<float[]>(static_cast<size_t>(n));
        b.size = n;
    }
    return b.data.get();
}

void TransformerModel::forward_batch(std::span<const SequenceBatch> batch, Backend& be,
                                     std::vector<float>& logits) {
    const ModelConfig& c = config_;
    ForwardPass pass(be, scratch_);
    for (const SequenceBatch& s : batch) {
        if (!s.cache) throw Error("forward pass without a KV cache");
        if (s.tokens.empty()) throw Error("forward pass over zero tokens");
        const int64_t pos0 = s.cache->size(), count = static_cast<int64_t>(s.tokens.size());
        if (count > KvCache::kMaxBatch)
            throw Error("a forward pass takes at most " + std::to_string(KvCache::kMaxBatch) +
                        " tokens of one sequence, got " + std::to_string(count));
        if (pos0 + count > s.cache->n_ctx())
            throw Error("context is full: " + std::to_string(pos0 + count) +
                        " tokens do not fit in a context of " + std::to_string(s.cache->n_ctx()));
        pass.seqs.push_back({pass.n, count, pos0, s.cache, s.all_logits});
        for (int64_t i = 0; i < count; ++i) {
            const TokenId id = s.tokens[i];
            if (id < 0 || id >= c.n_vocab)
                throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " +
                            std::to_string(c.n_vocab));
            pass.tokens.push_back(id);
            pass.positions.push_back(static_cast<int32_t>(pos0 + i));
        }
        pass.n += count;
    }
    if (pass.n == 0) throw Error("forward pass over zero tokens");

    pass.x.resize(static_cast<size_t>(pass.n * c.n_embd));
    embed(pass);
    for (int64_t l = 0; l < c.n_layer; ++l) layer(l, pass);
    for (const SequenceSlice& s : pass.seqs) s.cache->set_size(s.pos0 + s.count);

    // Output head over the rows whose logits are wanted.
    std::vector<int64_t> rows;
    for (const SequenceSlice& s : pass.seqs) {
        for (int64_t i = s.all_logits ? 0 : s.count - 1; i < s.count; ++i)
            rows.push_back(s.first + i);
    }
    const int64_t d = c.n_embd, m = static_cast<int64_t>(rows.size());
    std::vector<float> selected(static_cast<size_t>(m * d)), normed(static_cast<size_t>(m * d));
    for (int64_t r = 0; r < m; ++r)
        std::copy_n(pass.x.data() + rows[r] * d, d, selected.data() + r * d);
    be.rms_norm(selected.data(), output_norm_, m, d, c.norm_eps, normed.data());
    logits.resize(static_cast<size_t>(m * c.n_vocab));
    be.matmul(output_, normed.data(), m, logits.data());
    if (final_softcap_ > 0)
        for (float& v : logits) v = final_softcap_ * std::tanh(v / final_softcap_);
}

void TransformerModel::attention(ForwardPass& pass, int64_t layer, const AttentionWeights& w,
                                 const float* h, float* out, const AttentionOptions& options) {
    const ModelConfig& c = config_;
    Backend& be = pass.be;
    const int64_t n = pass.n;
    const int64_t q_dim = c.n_head * c.head_dim, kv_dim = c.n_head_kv * c.head_dim;
    const int64_t v_dim = c.n_head_kv * c.head_dim_v, attn_dim = c.n_head * c.head_dim_v;
    float* q = pass.scratch.get(Scratch::q, n * q_dim);
    float* k = pass.scratch.get(Scratch::k, n * kv_dim);
    float* v = pass.scratch.get(Scratch::v, n * v_dim);
    float* attn = pass.scratch.get(Scratch::attn, n * attn_dim);
    if (w.wqkv.present()) {
        const int64_t width = q_dim + kv_dim + v_dim;
        float* qkv = pass.scratch.get(Scratch::qkv, n * width);
        be.matmul(w.wqkv, h, n, qkv);
        for (int64_t t = 0; t < n; ++t) {
            const float* row = qkv + t * width;
            std::copy_n(row, q_dim, q + t * q_dim);
            std::copy_n(row + q_dim, kv_dim, k + t * kv_dim);
            std::copy_n(row + q_dim + kv_dim, v_dim, v + t * v_dim);
        }
    } else {
        const MatmulTarget qkv[] = {{&w.wq, q}, {&w.wk, k}, {&w.wv, v}};
        be.matmul_many(qkv, h, n);
    }
    for (int64_t t = 0; t < n; ++t) {
        if (w.bq) add_in_place(q + t * q_dim, w.bq, q_dim);
        if (w.bk) add_in_place(k + t * kv_dim, w.bk, kv_dim);
        if (w.bv) add_in_place(v + t * v_dim, w.bv, v_dim);
    }
    if (w.q_norm) be.rms_norm(q, w.q_norm, n * c.n_head, c.head_dim, c.norm_eps, q);
    if (w.k_norm) be.rms_norm(k, w.k_norm, n * c.n_head_kv, c.head_dim, c.norm_eps, k);
    if (options.rope) {
        be.rope(q, n, c.n_head, c.head_dim, pass.positions.data(), *options.rope);
        be.rope(k, n, c.n_head_kv, c.head_dim, pass.positions.data(), *options.rope);
    }
    for (const SequenceSlice& s : pass.seqs) {
        const KvView keys = s.cache->keys(layer), values = s.cache->values(layer);
        be.store_rows(k + s.first * kv_dim, s.count, kv_dim, keys, s.pos0);
        be.store_rows(v + s.first * v_dim, s.count, v_dim, values, s.pos0);
        AttentionArgs args;
        args.q = q + s.first * q_dim;
        args.k = keys;
        args.v = values;
        args.out = attn + s.first * attn_dim;
        args.n_tokens = s.count;
        args.n_heads = c.n_head;
        args.n_kv_heads = c.n_head_kv;
        args.head_dim = c.head_dim;
        args.head_dim_v = c.head_dim_v;
        args.positions = pass.positions.data() + s.first;
        args.scale = options.scale;
        args.softcap = options.softcap;
        args.window = options.window;
        be.attention(args);
    }
    be.matmul(w.wo, attn, n, out);
}

void TransformerModel::dense_ffn(ForwardPass& pass, const Weight& gate, const Weight& up,
                                 const Weight& down, const float* h, int64_t n, float* out,
                                 bool geglu) const {
    float* g = pass.scratch.get(Scratch::gate, n * gate.rows);
    float* u = pass.scratch.get(Scratch::up, n * up.rows);
    const MatmulTarget gate_up[] = {{&gate, g}, {&up, u}};
    pass.be.matmul_many(gate_up, h, n);
    if (geglu)
        pass.be.geglu(g, u, n * gate.rows, g);
    else
        pass.be.swiglu(g, u, n * gate.rows, g);
    pass.be.matmul(down, g, n, out);
}

void TransformerModel::fused_ffn(ForwardPass& pass, const Weight& gate_up, const Weight& down,
                                 const float* h, float* out) const {
    const int64_t n = pass.n, n_ff = gate_up.rows / 2;
    float* gu = pass.scratch.get(Scratch::gate_up, n * gate_up.rows);
    float* act = pass.scratch.get(Scratch::act, n * n_ff);
    pass.be.matmul(gate_up, h, n, gu);
    for (int64_t t = 0; t < n; ++t) {
        const float* row = gu + t * gate_up.rows;
        pass.be.swiglu(row, row + n_ff, n_ff, act + t * n_ff);
    }
    pass.be.matmul(down, act, n, out);
}

void TransformerModel::feed_forward(ForwardPass& pass, const FfnWeights& w, const float* h,
                                    float* out, bool geglu) {
    if (w.is_moe())
        moe_ffn(pass, w, h, out);
    else if (w.gate_up.present())
        fused_ffn(pass, w.gate_up, w.down, h, out);
    else
        dense_ffn(pass, w.gate, w.up, w.down, h, pass.n, out, geglu);
}

void TransformerModel::moe_ffn(ForwardPass& pass, const FfnWeights& w, const float* h,
                               float* out) const {
    const ModelConfig& c = config_;
    const int64_t n = pass.n, d = c.n_embd, n_expert = c.n_expert, k = c.n_expert_used;
    std::vector<float> router(n * n_expert);
    pass.be.matmul(w.router, h, n, router.data());

    // Route: each token picks its top-k experts; tokens are then grouped per expert so that every
    // chosen expert's weights are read once for all the tokens that chose it, and no others.
    std::vector<std::vector<std::pair<int64_t, float>>> assigned(n_expert);
    std::vector<int64_t> order(n_expert);
    for (int64_t t = 0; t < n; ++t) {
        const float* logits = router.data() + t * n_expert;
        std::vector<double> probs(n_expert), choice(n_expert);
        if (routing_.score == ExpertRouting::Score::Sigmoid) {
            for (int64_t e = 0; e < n_expert; ++e)
                probs[e] = 1.0 / (1.0 + std::exp(-double(logits[e])));
        } else {
            const float max_logit = *std::max_element(logits, logits + n_expert);
            double sum = 0;
            for (int64_t e = 0; e < n_expert; ++e)
                sum += probs[e] = std::exp(double(logits[e] - max_logit));
            for (auto& p : probs) p /= sum;
        }
        for (int64_t e = 0; e < n_expert; ++e)
            choice[e] = probs[e] + (w.selection_bias ? w.selection_bias[e] : 0.0);
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + k, order.end(),
                          [&](int64_t a, int64_t b) { return choice[a] > choice[b]; });
        double chosen_sum = 0;
        for (int64_t i = 0; i < k; ++i) chosen_sum += probs[order[i]];
        const double scale = routing_.scale / (routing_.normalize ? chosen_sum : 1.0);
        for (int64_t i = 0; i < k; ++i)
            assigned[order[i]].push_back({t, float(probs[order[i]] * scale)});
    }

    std::fill(out, out + n * d, 0.0f);
    std::vector<float> gathered, expert_out;
    for (int64_t e = 0; e < n_expert; ++e) {
        const auto& tokens = assigned[e];
        if (tokens.empty()) continue;
        const int64_t m = static_cast<int64_t>(tokens.size());
        gathered.resize(m * d);
        expert_out.resize(m * d);
        for (int64_t i = 0; i < m; ++i)
            std::copy_n(h + tokens[i].first * d, d, gathered.data() + i * d);
        dense_ffn(pass, w.gate_exps.matrix(e), w.up_exps.matrix(e), w.down_exps.matrix(e),
                  gathered.data(), m, expert_out.data(), false);
        for (int64_t i = 0; i < m; ++i) {
            float* dst = out + tokens[i].first * d;
            const float* src = expert_out.data() + i * d;
            for (int64_t j = 0; j < d; ++j) dst[j] += tokens[i].second * src[j];
        }
    }

    if (w.gate_shared.present()) {
        std::vector<float> shared(n * d);
        dense_ffn(pass, w.gate_shared, w.up_shared, w.down_shared, h, n, shared.data(), false);
        for (int64_t t = 0; t < n; ++t) {
            float gate = 1.0f;
            if (w.shared_gate) {
                double dot = 0;
                for (int64_t j = 0; j < d; ++j) dot += double(h[t * d + j]) * w.shared_gate[j];
                gate = float(1.0 / (1.0 + std::exp(-dot)));
            }
            for (int64_t j = 0; j < d; ++j) out[t * d + j] += gate * shared[t * d + j];
        }
    }
}

}  // namespace uma

namespace uma {

void PreNormDecoder::load_layers(bool fused_qkv) {
    load_output_head();
    attention_options_.scale = 1.0f / std::sqrt(static_cast<float>(config_.head_dim));
    attention_options_.rope = &config_.rope;
    for (int64_t l = 0; l < config_.n_layer; ++l)
        layers_.push_back({load_attention(l, fused_qkv), load_ffn(l)});
}

void PreNormDecoder::layer(int64_t index, ForwardPass& pass) {
    const Layer& L = layers_[index];
    const int64_t size = pass.n * config_.n_embd;
    float* h = pass.scratch.get(Scratch::h, size);
    float* delta = pass.scratch.get(Scratch::delta, size);
    norm(pass, pass.x.data(), L.attention.norm, h);
    attention(pass, index, L.attention, h, delta, attention_options_);
    add_in_place(pass.x.data(), delta, size);
    norm(pass, pass.x.data(), L.ffn.norm, h);
    feed_forward(pass, L.ffn, h, delta);
    add_in_place(pass.x.data(), delta, size);
}

}  // namespace uma
