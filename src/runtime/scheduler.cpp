#include "uma/runtime/scheduler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "uma/runtime/bytes_per_token.h"

namespace uma {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

size_t common_prefix(const std::vector<TokenId>& a, const std::vector<TokenId>& b) {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

}  // namespace

std::optional<GenerationEvent> GenerationStream::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    GenerationEvent event = std::move(events_.front());
    events_.pop_front();
    return event;
}

void GenerationStream::push(GenerationEvent event) {
    {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
    }
    ready_.notify_one();
}

// A request's place in the scheduler. The cache and history outlive the request so that the
// next request with the same prefix reuses them.
struct Scheduler::Slot {
    std::optional<KvCache> cache;
    std::vector<TokenId> history;  // tokens whose keys and values are in the cache
    uint64_t last_used = 0;

    bool busy = false;
    GenerationRequest request;
    std::shared_ptr<GenerationStream> stream;
    std::optional<Sampler> sampler;
    std::optional<StopTextFilter> filter;
    int64_t n_ctx = 0;
    size_t prompt_done = 0;   // prompt tokens in the cache
    int64_t step_tokens = 0;  // tokens this slot put in the current forward pass
    TokenId next_token = -1;  // sampled, goes into the cache at the next step
    GenerateStats stats;
    Clock::time_point queued_at, admitted_at, first_token_at;

    bool prefilling() const { return prompt_done < request.prompt.size(); }
};

Scheduler::Scheduler(std::shared_ptr<LoadedModel> model, SchedulerOptions options,
                     std::shared_ptr<ModelMetrics> metrics)
    : model_(std::move(model)), options_(options), metrics_(std::move(metrics)) {
    if (options_.parallel < 1) throw Error("the number of parallel slots must be at least 1");
    if (options_.prefill_chunk < 1 || options_.max_step_tokens < 1)
        throw Error("the prefill chunk and step sizes must be positive");
    for (int i = 0; i < options_.parallel; ++i) slots_.push_back(std::make_unique<Slot>());
    if (metrics_) {
        weight_bytes_per_pass_ = weight_bytes_per_token(*model_->model);
        report_kv_cells();
    }
    worker_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
}

std::shared_ptr<GenerationStream> Scheduler::submit(GenerationRequest request) {
    if (request.prompt.empty()) throw Error("the prompt is empty");
    const int64_t n_ctx = request.n_ctx > 0 ? request.n_ctx : options_.n_ctx;
    request.n_ctx = n_ctx;
    if (static_cast<int64_t>(request.prompt.size()) > n_ctx)
        throw Error("the prompt is too long: " + std::to_string(request.prompt.size()) +
                    " tokens do not fit in the context of " + std::to_string(n_ctx) + " tokens");
    auto stream = std::make_shared<GenerationStream>();
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw Error("the model is being unloaded");
        if (queue_.size() >= options_.max_queue)
            throw QueueFullError("the server is busy: " + std::to_string(queue_.size()) +
                                 " requests are already waiting (raise --max-queue)");
        queue_.push_back({std::move(request), stream, Clock::now()});
    }
    wake_.notify_all();
    return stream;
}

Scheduler::Load Scheduler::load() const {
    std::lock_guard lock(mutex_);
    return {active_, queue_.size(), cache_bytes_};
}

void Scheduler::run() {
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || active_ > 0; });
            if (stopping_) break;
        }
        if (admit_pending()) step();
    }
    for (auto& slot : slots_)
        if (slot->busy) finish(*slot, "the model was unloaded before the request finished");
    std::lock_guard lock(mutex_);
    for (auto& pending : queue_) {
        GenerationEvent event;
        event.done = true;
        event.error = "the model was unloaded before the request started";
        pending.stream->push(std::move(event));
    }
    queue_.clear();
}

bool Scheduler::admit_pending() {
    // Clients that went away free their slots first, so waiting requests can take them.
    for (auto& slot : slots_)
        if (slot->busy && slot->stream->cancelled()) finish(*slot);

    std::lock_guard lock(mutex_);
    while (!queue_.empty()) {
        if (queue_.front().stream->cancelled()) {
            queue_.pop_front();
            continue;
        }
        // The free slot whose history shares the longest prefix, else the least recently used.
        Slot* best = nullptr;
        size_t best_prefix = 0;
        for (auto& slot : slots_) {
            if (slot->busy) continue;
            const size_t prefix = common_prefix(slot->history, queue_.front().request.prompt);
            if (!best || prefix > best_prefix ||
                (prefix == best_prefix && slot->last_used < best->last_used)) {
                best = slot.get();
                best_prefix = prefix;
            }
        }
        if (!best) break;
        Pending pending = std::move(queue_.front());
        queue_.pop_front();

        Slot& slot = *best;
        slot.request = std::move(pending.request);
        slot.stream = std::move(pending.stream);
        slot.queued_at = pending.queued_at;
        slot.n_ctx = slot.request.n_ctx;
        if (!slot.cache || slot.cache->n_ctx() < slot.n_ctx) {
            if (slot.cache) cache_bytes_ -= slot.cache->bytes();
            slot.cache.reset();
            slot.history.clear();
            slot.cache.emplace(model_->model->make_cache(slot.n_ctx, options_.kv_type));
            cache_bytes_ += slot.cache->bytes();
        }
        // At least the last prompt token is evaluated: its logits give the first new token.
        const size_t reuse = static_cast<size_t>(slot.cache->reusable_prefix(
            static_cast<int64_t>(std::min(best_prefix, slot.request.prompt.size() - 1))));
        slot.history.resize(reuse);
        slot.cache->set_size(static_cast<int64_t>(reuse));
        slot.prompt_done = reuse;
        slot.stats = {};
        slot.stats.cached_tokens = static_cast<int64_t>(reuse);
        slot.stats.prompt_tokens = static_cast<int64_t>(slot.request.prompt.size() - reuse);
        slot.stats.stop_reason = "length";
        slot.sampler.emplace(slot.request.options.sampling);
        slot.filter.emplace(slot.request.options.stop);
        slot.next_token = -1;
        slot.admitted_at = Clock::now();
        slot.busy = true;
        ++active_;
        if (metrics_) metrics_->record_admission(static_cast<int64_t>(reuse));
    }
    return active_ > 0;
}

void Scheduler::step() {
    // Decoding slots first (one token each, so streams keep flowing), then prompt chunks within
    // what is left of the step's token budget.
    std::vector<SequenceBatch> batch;
    std::vector<Slot*> members;
    int64_t budget = options_.max_step_tokens;
    for (auto& slot : slots_) {
        if (!slot->busy || slot->prefilling()) continue;
        slot->step_tokens = 1;
        batch.push_back({std::span<const TokenId>(&slot->next_token, 1), &*slot->cache, false});
        members.push_back(slot.get());
        --budget;
    }
    for (auto& slot : slots_) {
        if (!slot->busy || !slot->prefilling() || budget <= 0) continue;
        const auto& prompt = slot->request.prompt;
        const int64_t count =
            std::min<int64_t>({options_.prefill_chunk, budget,
                               static_cast<int64_t>(prompt.size() - slot->prompt_done)});
        slot->step_tokens = count;
        batch.push_back({std::span<const TokenId>(prompt.data() + slot->prompt_done,
                                                  static_cast<size_t>(count)),
                         &*slot->cache, false});
        members.push_back(slot.get());
        budget -= count;
    }
    if (batch.empty()) return;

    // What the pass reads: the weights once, and each sequence's keys and values so far.
    const auto started = Clock::now();
    int64_t prompt_tokens = 0;
    double bytes_read = weight_bytes_per_pass_;
    if (metrics_) {
        for (const Slot* slot : members) {
            const double before = double(slot->cache->size());
            const double count = double(slot->step_tokens);
            bytes_read +=
                kv_bytes_per_token(*model_->model, before + (count + 1) / 2, slot->cache->type()) *
                count;
            if (slot->prefilling()) prompt_tokens += slot->step_tokens;
        }
    }
    try {
        model_->model->forward_batch(batch, *model_->backend, logits_);
    } catch (const std::exception& e) {
        for (Slot* slot : members) finish(*slot, e.what());
        return;
    }
    ++clock_;
    sampled_this_step_ = 0;
    if (metrics_) metrics_->count_prompt_tokens(prompt_tokens);
    const auto vocab = static_cast<size_t>(model_->model->config().n_vocab);
    for (size_t i = 0; i < members.size(); ++i) {
        Slot& slot = *members[i];
        slot.last_used = clock_;
        if (slot.prefilling()) {
            const auto& prompt = slot.request.prompt;
            const auto begin = prompt.begin() + static_cast<ptrdiff_t>(slot.prompt_done);
            slot.history.insert(slot.history.end(), begin, begin + slot.step_tokens);
            slot.prompt_done += static_cast<size_t>(slot.step_tokens);
            if (slot.prefilling()) continue;
        } else {
            slot.history.push_back(slot.next_token);
        }
        sample_and_emit(slot, std::span<const float>(logits_.data() + i * vocab, vocab));
    }
    if (metrics_) {
        metrics_->record_pass(started, Clock::now(), prompt_tokens, sampled_this_step_, bytes_read);
        report_kv_cells();
    }
}

void Scheduler::report_kv_cells() {
    int64_t used = 0, total = 0;
    for (const auto& slot : slots_) {
        used += slot->cache ? slot->cache->size() : 0;
        total += slot->cache ? slot->cache->n_ctx() : options_.n_ctx;
    }
    metrics_->set_kv_cells(used, total);
}

void Scheduler::sample_and_emit(Slot& slot, std::span<const float> logits) {
    const Clock::time_point now = Clock::now();
    if (slot.stats.generated_tokens == 0) {
        slot.first_token_at = now;
        slot.stats.prompt_seconds = seconds_between(slot.admitted_at, now);
    }
    const GenerateOptions& options = slot.request.options;
    if (options.max_tokens >= 0 && slot.stats.generated_tokens >= options.max_tokens) {
        finish(slot);
        return;
    }
    TokenId next;
    try {
        next = slot.sampler->sample(logits, slot.history, slot.request.constraint.get());
    } catch (const std::exception& e) {
        finish(slot, e.what());
        return;
    }
    ++slot.stats.generated_tokens;
    ++sampled_this_step_;
    if (metrics_) {
        metrics_->count_generated_token();
        if (slot.stats.generated_tokens == 1)
            metrics_->record_first_token(seconds_between(slot.queued_at, now));
    }
    GenerationEvent event;
    const Tokenizer& tokenizer = *model_->tokenizer;
    if (slot.request.top_logprobs >= 0)
        event.logprobs.push_back(token_logprob(logits, next, slot.request.top_logprobs, tokenizer));
    bool done = false;
    if (tokenizer.is_end_of_generation(next)) {
        slot.stats.stop_reason = "stop";
        done = true;
    } else {
        event.tokens.push_back(next);
        auto out = slot.filter->push(tokenizer.token_to_piece(next));
        event.text = std::move(out.text);
        if (out.stopped) {
            slot.stats.stop_reason = "stop";
            done = true;
        } else if (slot.request.constraint && slot.request.constraint->finished()) {
            slot.stats.stop_reason = "stop";
            done = true;
        } else if (static_cast<int64_t>(slot.history.size()) >= slot.n_ctx ||
                   (options.max_tokens >= 0 && slot.stats.generated_tokens >= options.max_tokens)) {
            done = true;  // the context is full or the token limit reached: "length"
        }
    }
    if (!event.text.empty() || !event.tokens.empty() || !event.logprobs.empty())
        slot.stream->push(std::move(event));
    slot.next_token = next;
    if (done) finish(slot);
}

void Scheduler::finish(Slot& slot, const std::string& error) {
    GenerationEvent last;
    last.done = true;
    last.error = error;
    if (error.empty() && slot.filter) last.text = slot.filter->finish();
    if (slot.stats.generated_tokens > 0)
        slot.stats.generate_seconds = seconds_between(slot.first_token_at, Clock::now());
    else
        slot.stats.prompt_seconds = seconds_between(slot.admitted_at, Clock::now());
    last.stats = slot.stats;
    if (metrics_) metrics_->record_finished(seconds_between(slot.queued_at, Clock::now()));
    const std::shared_ptr<GenerationStream> stream = std::move(slot.stream);
    slot.request = {};
    slot.sampler.reset();
    slot.filter.reset();
    slot.busy = false;
    // A prefill cut short leaves history and cache in step: both hold what was evaluated.
    {
        std::lock_guard lock(mutex_);
        --active_;
    }
    // Last, so that a client that has its answer sees the load (and metrics) without it.
    if (!stream->cancelled()) stream->push(std::move(last));
}

TokenLogprob token_logprob(std::span<const float> logits, TokenId chosen, int top,
                           const Tokenizer& tokenizer) {
    const float max_logit = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (const float l : logits) sum += std::exp(static_cast<double>(l - max_logit));
    const auto log_prob = [&](TokenId id) {
        return static_cast<float>(logits[static_cast<size_t>(id)] - max_logit - std::log(sum));
    };
    TokenLogprob out;
    out.id = chosen;
    out.token = tokenizer.token_to_piece(chosen);
    out.logprob = log_prob(chosen);
    const size_t n = std::min<size_t>(static_cast<size_t>(std::max(top, 0)), logits.size());
    std::vector<TokenId> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(n), ids.end(),
                      [&](TokenId a, TokenId b) { return logits[size_t(a)] > logits[size_t(b)]; });
    for (size_t i = 0; i < n; ++i)
        out.top.emplace_back(tokenizer.token_to_piece(ids[i]), log_prob(ids[i]));
    return out;
}

}  // namespace uma
