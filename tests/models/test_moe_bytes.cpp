// Mixture-of-experts decode must read only the chosen experts' weights: counted here by wrapping
// the CPU backend and adding up the weight bytes every matrix product streams.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_data.h"
#include "uma/models/model.h"

namespace uma {
namespace {

class CountingBackend final : public Backend {
  public:
    explicit CountingBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
    size_t weight_bytes = 0;

    std::string describe() const override { return inner_->describe(); }
    int threads() const override { return inner_->threads(); }
    void matmul(const Weight& w, const float* x, int64_t n, float* y) override {
        weight_bytes += w.matrix_bytes();
        inner_->matmul(w, x, n, y);
    }
    void get_row(const Weight& w, int64_t row, float* out) override {
        weight_bytes += w.row_bytes;
        inner_->get_row(w, row, out);
    }
    void rms_norm(const float* x, const float* w, int64_t r, int64_t d, float e,
                  float* y) override {
        inner_->rms_norm(x, w, r, d, e, y);
    }
    void rope(float* x, int64_t n, int64_t h, int64_t d, const int32_t* p,
              const RopeParams& r) override {
        inner_->rope(x, n, h, d, p, r);
    }
    void swiglu(const float* g, const float* u, int64_t n, float* o) override {
        inner_->swiglu(g, u, n, o);
    }
    void geglu(const float* g, const float* u, int64_t n, float* o) override {
        inner_->geglu(g, u, n, o);
    }
    void store_rows(const float* s, int64_t n, int64_t e, const KvView& d, int64_t f) override {
        inner_->store_rows(s, n, e, d, f);
    }
    void attention(const AttentionArgs& a) override { inner_->attention(a); }

  private:
    std::unique_ptr<Backend> inner_;
};

struct Measured {
    size_t per_token;
    size_t expert_bytes;
    size_t total_bytes;
};

Measured decode_bytes_per_token(const std::string& relative) {
    auto model = load_model(test::data_path(relative).string());
    CountingBackend backend(make_cpu_backend(2));
    KvCache cache = model->make_cache(64, GgmlType::F16);
    std::vector<float> logits;
    const std::vector<int32_t> prompt = {1, 403, 407, 261};
    model->forward(prompt, cache, backend, logits, false);
    backend.weight_bytes = 0;
    const int steps = 8;
    for (int i = 0; i < steps; ++i) {
        const int32_t next =
            static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        model->forward(std::span<const int32_t>(&next, 1), cache, backend, logits, false);
    }
    Measured m{backend.weight_bytes / steps, 0, model->weight_bytes()};
    for (const auto& t : model->file().tensors())
        if (t.name.find("_exps") != std::string::npos) m.expert_bytes += t.n_bytes;
    return m;
}

TEST(MoeDecode, ReadsOnlyTheChosenExperts) {
    for (const char* file : {"golden/logits/models/tiny-mixtral-Q4_K_M.gguf",
                             "golden/logits/models/tiny-qwen2moe-Q8_0.gguf"}) {
        const Measured m = decode_bytes_per_token(file);
        // 2 of 4 experts per token: half the expert bytes; everything else (minus the embedding
        // table, of which one row is read) once.
        auto model = load_model(test::data_path(file).string());
        const size_t embd = model->file().require_tensor("token_embd.weight").n_bytes;
        const size_t embd_row = embd / static_cast<size_t>(model->config().n_vocab);
        const bool tied = model->file().find_tensor("output.weight") == nullptr;
        size_t dense = embd_row + (tied ? embd : 0);  // one embedding row; the tied output head
        for (const auto& t : model->file().tensors())
            if (t.dims.size() >= 2 && t.name.find("_exps") == std::string::npos &&
                t.name != "token_embd.weight")
                dense += t.n_bytes;
        const size_t expected = dense + m.expert_bytes / 2;
        EXPECT_EQ(m.per_token, expected) << file;
        EXPECT_LT(m.per_token, m.total_bytes) << file;
        std::printf("%s: %zu bytes read per decoded token, %zu bytes of weights (%.0f%%)\n", file,
                    m.per_token, m.total_bytes,
                    100.0 * double(m.per_token) / double(m.total_bytes));
    }
}

}  // namespace
}  // namespace uma
