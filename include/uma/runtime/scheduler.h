#pragma once
// Continuous batching: one worker thread per loaded model runs every active request of that
// model in shared forward passes. Each request occupies a slot (its own KV cache and token
// history); every step feeds each slot either a chunk of its prompt (chunked prefill, so a long
// prompt does not stall the other streams) or its one new token, then samples for the slots
// whose logits are ready. A new request goes to the free slot whose history shares the longest
// prefix with its prompt, and only the tokens after that prefix are evaluated.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "uma/core/error.h"
#include "uma/runtime/loaded_model.h"
#include "uma/runtime/metrics.h"
#include "uma/runtime/session.h"
#include "uma/sampling/token_constraint.h"

namespace uma {

// The scheduler's queue is full: the server answers 503.
class QueueFullError : public Error {
  public:
    using Error::Error;
};

struct TokenLogprob {
    std::string token;  // the token's text (may be a partial UTF-8 sequence)
    TokenId id = 0;
    float logprob = 0;
    std::vector<std::pair<std::string, float>> top;  // most likely alternatives, best first
};

struct GenerationRequest {
    std::vector<TokenId> prompt;
    GenerateOptions options;
    int64_t n_ctx = 0;  // context this request may use (prompt + output); 0: the scheduler's
    std::unique_ptr<TokenConstraint> constraint;  // structured output, or null
    int top_logprobs = -1;                        // < 0: no logprobs; else alternatives per token
};

// What the worker reports to the request's HTTP thread, in order. The last event has `done`.
struct GenerationEvent {
    std::string text;
    std::vector<TokenId> tokens;         // sampled since the previous event (end token excluded)
    std::vector<TokenLogprob> logprobs;  // of the tokens sampled since the previous event
    bool done = false;
    GenerateStats stats;  // complete with the last event
    std::string error;    // set on the last event when generation failed
};

// The channel between one request's HTTP thread and the model's worker.
class GenerationStream {
  public:
    // Waits up to `timeout` for the next event; nullopt when none came.
    std::optional<GenerationEvent> next(std::chrono::milliseconds timeout);
    // The client went away: the worker frees the request's slot at its next step.
    void cancel() { cancelled_ = true; }
    bool cancelled() const { return cancelled_; }

    void push(GenerationEvent event);  // worker side

  private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<GenerationEvent> events_;
    std::atomic<bool> cancelled_{false};
};

struct SchedulerOptions {
    int parallel = 1;               // slots: requests generating at once
    int64_t n_ctx = 2048;           // default context per slot
    size_t max_queue = 64;          // requests waiting for a slot before submit() refuses
    int64_t prefill_chunk = 256;    // prompt tokens per slot per step
    int64_t max_step_tokens = 512;  // tokens per forward pass, all slots together
    GgmlType kv_type = GgmlType::F16;
};

class Scheduler {
  public:
    // `metrics`, when given, receives every forward pass, admission and finished request.
    Scheduler(std::shared_ptr<LoadedModel> model, SchedulerOptions options,
              std::shared_ptr<ModelMetrics> metrics = nullptr);
    ~Scheduler();  // ends the worker; requests still pending get an error event
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // Queues a request; events arrive on the returned stream. Throws QueueFullError when
    // max_queue requests are already waiting, uma::Error for a request that cannot run.
    std::shared_ptr<GenerationStream> submit(GenerationRequest request);

    struct Load {
        size_t active = 0;  // requests in slots
        size_t queued = 0;  // requests waiting for a slot
        size_t cache_bytes = 0;
    };
    Load load() const;
    const SchedulerOptions& options() const { return options_; }

  private:
    struct Pending {
        GenerationRequest request;
        std::shared_ptr<GenerationStream> stream;
        std::chrono::steady_clock::time_point queued_at;
    };
    struct Slot;

    void run();
    bool admit_pending();  // moves queued requests into free slots; true when any slot is busy
    void step();
    void finish(Slot& slot, const std::string& error = {});
    void sample_and_emit(Slot& slot, std::span<const float> logits);
    void report_kv_cells();  // to metrics_: cache positions in use and in all slots

    std::shared_ptr<LoadedModel> model_;
    SchedulerOptions options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Pending> queue_;
    std::vector<std::unique_ptr<Slot>> slots_;  // touched by the worker only (sizes under mutex_)
    size_t active_ = 0;
    size_t cache_bytes_ = 0;
    bool stopping_ = false;
    uint64_t clock_ = 0;  // step counter: least recently used slots are reused first
    std::vector<float> logits_;
    std::shared_ptr<ModelMetrics> metrics_;
    double weight_bytes_per_pass_ = 0;  // weights one forward pass reads (bytes_per_token.h)
    int64_t sampled_this_step_ = 0;
    std::thread worker_;
};

// Log-probabilities (log softmax) of `logits`: the chosen token's and the `top` best.
TokenLogprob token_logprob(std::span<const float> logits, TokenId chosen, int top,
                           const Tokenizer& tokenizer);

}  // namespace uma
