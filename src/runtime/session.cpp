#include "uma/runtime/session.h"

#include <algorithm>

#include "uma/core/error.h"

namespace uma {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Length of the complete UTF-8 prefix of s (an incomplete trailing sequence is excluded).
size_t complete_utf8_prefix(const std::string& s) {
    size_t i = s.size();
    size_t back = 0;
    while (i > 0 && back < 4) {
        const auto c = static_cast<unsigned char>(s[i - 1]);
        if ((c & 0xC0) != 0x80) {  // lead byte or ASCII
            size_t need = 1;
            if ((c & 0xE0) == 0xC0) need = 2;
            else if ((c & 0xF0) == 0xE0) need = 3;
            else if ((c & 0xF8) == 0xF0) need = 4;
            return (back + 1 >= need) ? s.size() : i - 1;
        }
        --i;
        ++back;
    }
    return s.size();
}

}  // namespace

std::string Utf8Stream::push(const std::string& bytes) {
    pending_ += bytes;
    const size_t n = complete_utf8_prefix(pending_);
    std::string out = pending_.substr(0, n);
    pending_.erase(0, n);
    return out;
}

std::string Utf8Stream::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

StopTextFilter::StopTextFilter(std::vector<std::string> stop) : stop_(std::move(stop)) {
    for (const auto& s : stop_) longest_stop_ = std::max(longest_stop_, s.size());
}

StopTextFilter::Output StopTextFilter::push(const std::string& piece) {
    held_ += utf8_.push(piece);
    size_t stop_at = std::string::npos;
    for (const auto& s : stop_)
        if (!s.empty()) stop_at = std::min(stop_at, held_.find(s));
    Output out;
    if (stop_at != std::string::npos) {
        out.text = held_.substr(0, stop_at);
        out.stopped = true;
        held_.clear();
        return out;
    }
    // Everything that can no longer be the start of a stop text.
    size_t emit = held_.size() > longest_stop_ ? held_.size() - longest_stop_ : 0;
    // Never split a UTF-8 sequence between two outputs.
    while (emit > 0 && emit < held_.size() && (static_cast<unsigned char>(held_[emit]) & 0xC0) == 0x80)
        --emit;
    out.text = held_.substr(0, emit);
    held_.erase(0, out.text.size());
    return out;
}

std::string StopTextFilter::finish() {
    held_ += utf8_.flush();
    std::string out;
    out.swap(held_);
    return out;
}

Session::Session(Model& model, const Tokenizer& tokenizer, Backend& backend, int64_t n_ctx,
                 GgmlType kv_type)
    : model_(model),
      tokenizer_(tokenizer),
      backend_(backend),
      cache_(model.make_cache(n_ctx, kv_type)) {}

void Session::reset() {
    tokens_.clear();
    cache_.set_size(0);
}

std::span<const float> Session::feed(std::span<const TokenId> tokens) {
    if (cache_.size() + static_cast<int64_t>(tokens.size()) > cache_.n_ctx())
        throw Error("the prompt is too long: " +
                    std::to_string(cache_.size() + static_cast<int64_t>(tokens.size())) +
                    " tokens do not fit in the context of " + std::to_string(cache_.n_ctx()) +
                    " tokens (raise --ctx or shorten the prompt)");
    for (size_t begin = 0; begin < tokens.size(); begin += kBatch) {
        const size_t count = std::min<size_t>(kBatch, tokens.size() - begin);
        model_.forward(tokens.subspan(begin, count), cache_, backend_, logits_, false);
        tokens_.insert(tokens_.end(), tokens.begin() + static_cast<ptrdiff_t>(begin),
                       tokens.begin() + static_cast<ptrdiff_t>(begin + count));
    }
    const auto vocab = static_cast<size_t>(model_.config().n_vocab);
    return {logits_.data() + logits_.size() - vocab, vocab};
}

std::vector<float> Session::feed_all_logits(std::span<const TokenId> tokens) {
    if (cache_.size() + static_cast<int64_t>(tokens.size()) > cache_.n_ctx())
        throw Error("the input is too long: " + std::to_string(tokens.size()) +
                    " tokens do not fit in the context of " + std::to_string(cache_.n_ctx()));
    std::vector<float> all;
    for (size_t begin = 0; begin < tokens.size(); begin += kBatch) {
        const size_t count = std::min<size_t>(kBatch, tokens.size() - begin);
        model_.forward(tokens.subspan(begin, count), cache_, backend_, logits_, true);
        all.insert(all.end(), logits_.begin(), logits_.end());
        tokens_.insert(tokens_.end(), tokens.begin() + static_cast<ptrdiff_t>(begin),
                       tokens.begin() + static_cast<ptrdiff_t>(begin + count));
    }
    return all;
}

GenerateStats Session::generate(const std::vector<TokenId>& prompt, const GenerateOptions& options,
                                const std::function<bool(const std::string&)>& on_text) {
    if (prompt.empty()) throw Error("the prompt is empty");
    if (static_cast<int64_t>(prompt.size()) > cache_.n_ctx())
        throw Error("the prompt is too long: " + std::to_string(prompt.size()) +
                    " tokens do not fit in the context of " + std::to_string(cache_.n_ctx()) +
                    " tokens (raise --ctx or shorten the prompt)");
    GenerateStats stats;
    // Reuse the cached prefix; at least the last prompt token is evaluated to get its logits.
    size_t common = 0;
    while (common < tokens_.size() && common < prompt.size() && tokens_[common] == prompt[common])
        ++common;
    common = std::min(common, prompt.size() - 1);
    common = static_cast<size_t>(cache_.reusable_prefix(static_cast<int64_t>(common)));
    tokens_.resize(common);
    cache_.set_size(static_cast<int64_t>(common));
    stats.cached_tokens = static_cast<int64_t>(common);

    auto start = std::chrono::steady_clock::now();
    std::span<const TokenId> rest(prompt.data() + common, prompt.size() - common);
    std::span<const float> logits = feed(rest);
    stats.prompt_tokens = static_cast<int64_t>(rest.size());
    stats.prompt_seconds = seconds_since(start);

    start = std::chrono::steady_clock::now();
    Sampler sampler(options.sampling);
    StopTextFilter filter(options.stop);
    stats.stop_reason = "length";
    bool keep_going = true;
    while (keep_going) {
        if (options.max_tokens >= 0 && stats.generated_tokens >= options.max_tokens) break;
        if (options.constraint && options.constraint->finished()) {  // nothing else may follow
            stats.stop_reason = "stop";
            break;
        }
        const TokenId next = sampler.sample(logits, tokens_, options.constraint);
        ++stats.generated_tokens;
        if (tokenizer_.is_end_of_generation(next)) {
            stats.stop_reason = "stop";
            break;
        }
        const auto out = filter.push(tokenizer_.token_to_piece(next));
        if (!out.text.empty()) keep_going = on_text(out.text);
        if (out.stopped) {
            stats.stop_reason = "stop";
            break;
        }
        if (!keep_going) break;
        if (cache_.size() >= cache_.n_ctx()) break;
        logits = feed(std::span<const TokenId>(&next, 1));
    }
    if (keep_going) {
        const std::string rest = filter.finish();
        if (!rest.empty()) on_text(rest);
    }
    stats.generate_seconds = seconds_since(start);
    return stats;
}

}  // namespace uma
