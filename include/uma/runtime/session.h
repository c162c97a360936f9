#pragma once
#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "uma/backends/backend.h"
#include "uma/models/model.h"
#include "uma/sampling/sampler.h"
#include "uma/tokenizer/tokenizer.h"

namespace uma {

struct GenerateOptions {
    int64_t max_tokens = -1;  // < 0: until end of generation or a full context
    SamplerParams sampling;
    std::vector<std::string> stop;  // generation ends before any of these texts
    // Structured output (e.g. a GrammarConstraint): not owned; advanced as tokens are sampled.
    // Generation stops once it is finished.
    TokenConstraint* constraint = nullptr;
};

struct GenerateStats {
    int64_t prompt_tokens = 0;  // tokens evaluated for the prompt (after cache reuse)
    int64_t cached_tokens = 0;  // prompt tokens reused from the previous request
    int64_t generated_tokens = 0;
    double prompt_seconds = 0;
    double generate_seconds = 0;
    std::string stop_reason;  // "stop" (end token or stop text), "length"
};

// One conversation with a model: its KV cache, the tokens in it, and generation.
class Session {
  public:
    Session(Model& model, const Tokenizer& tokenizer, Backend& backend, int64_t n_ctx,
            GgmlType kv_type = GgmlType::F16);

    int64_t n_ctx() const { return cache_.n_ctx(); }
    const std::vector<TokenId>& tokens() const { return tokens_; }
    void reset();

    // Evaluates tokens after those already in the cache (in chunks of at most `batch` tokens) and
    // returns the logits after the last one.
    std::span<const float> feed(std::span<const TokenId> tokens);
    // Like feed, but returns logits for every token (perplexity, tests).
    std::vector<float> feed_all_logits(std::span<const TokenId> tokens);

    // Makes the cache hold exactly `prompt` (reusing the longest common prefix with what it holds),
    // then samples until an end token, a stop text, max_tokens or a full context. `on_text`
    // receives complete UTF-8 text as it is produced and returns false to stop early.
    GenerateStats generate(const std::vector<TokenId>& prompt, const GenerateOptions& options,
                           const std::function<bool(const std::string&)>& on_text);

    static constexpr int64_t kBatch = KvCache::kMaxBatch;

  private:
    Model& model_;
    const Tokenizer& tokenizer_;
    Backend& backend_;
    KvCache cache_;
    std::vector<TokenId> tokens_;
    std::vector<float> logits_;
};

// Holds back the bytes of an incomplete UTF-8 sequence until the rest arrives.
class Utf8Stream {
  public:
    std::string push(const std::string& bytes);
    std::string flush();

  private:
    std::string pending_;
};

// Turns token pieces into the text a client sees: complete UTF-8 only, and nothing from the
// first stop text on. Text that might be the start of a stop text is held back until it is not.
class StopTextFilter {
  public:
    explicit StopTextFilter(std::vector<std::string> stop);

    struct Output {
        std::string text;      // safe to show now
        bool stopped = false;  // a stop text was found: generation ends, `text` precedes it
    };
    Output push(const std::string& piece);
    // The held-back text at the end of generation (an incomplete UTF-8 tail included).
    std::string finish();

  private:
    std::vector<std::string> stop_;
    size_t longest_stop_ = 0;
    Utf8Stream utf8_;
    std::string held_;
};

}  // namespace uma
