#include "generation.h"

#include <algorithm>

#include "uma/runtime/session.h"
#include "uma/sampling/grammar.h"
#include "uma/sampling/grammar_constraint.h"

namespace uma::server {
namespace {

constexpr auto kEventWait = std::chrono::milliseconds(200);

// Cancels the generation when the response that streams it goes away, however that happens.
class CancelOnDestroy {
  public:
    explicit CancelOnDestroy(std::shared_ptr<GenerationStream> stream)
        : stream_(std::move(stream)) {}
    CancelOnDestroy(const CancelOnDestroy&) = delete;
    CancelOnDestroy& operator=(const CancelOnDestroy&) = delete;
    ~CancelOnDestroy() { stream_->cancel(); }

  private:
    std::shared_ptr<GenerationStream> stream_;
};

}  // namespace

std::shared_ptr<ModelManager::Lease> lease_model(ServerContext& ctx, const std::string& name) {
    if (name.empty()) throw HttpError(400, "field 'model' is required");
    ctx.models.resolve(name);  // unknown names: 404 before any loading
    try {
        return std::make_shared<ModelManager::Lease>(ctx.models.acquire(name));
    } catch (const ModelNotFoundError&) {
        throw;
    } catch (const QueueFullError&) {
        throw;
    } catch (const std::exception& e) {
        throw HttpError(500, e.what());
    }
}

GenerateOptions generate_options(const ResolvedModel& model, const ModelParameters& overrides) {
    ModelParameters merged = model.parameters;
    merged.merge(overrides);
    GenerateOptions options;
    merged.apply_to(options);
    return options;
}

ModelParameters parse_options(const Json& body) {
    const Json* options = get_object(body, "options");
    if (!options) return {};
    try {
        return ModelParameters::from_json(*options);
    } catch (const Error& e) {
        throw HttpError(400, std::string("options: ") + e.what());
    }
}

void fit_context(GenerationPlan& plan, int64_t requested, bool truncate) {
    const auto& lease = *plan.lease;
    int64_t n_ctx = requested > 0 ? requested : lease.default_ctx();
    n_ctx = std::min(n_ctx, lease.max_ctx());
    plan.request.n_ctx = n_ctx;
    auto& prompt = plan.request.prompt;
    if (prompt.empty()) throw HttpError(400, "the prompt is empty");
    const auto size = static_cast<int64_t>(prompt.size());
    if (size <= n_ctx) return;
    if (!truncate)
        throw HttpError(
            400, "the prompt is " + std::to_string(size) + " tokens, more than the context of " +
                     std::to_string(n_ctx) + " tokens: raise num_ctx (at most " +
                     std::to_string(lease.max_ctx()) +
                     "), shorten the prompt, or set \"truncate\": true to keep its end");
    // Keep the first token (BOS or the start of the template) and the newest tokens, leaving a
    // quarter of the context for the answer.
    const int64_t keep_tail = std::max<int64_t>(1, n_ctx - 1 - n_ctx / 4);
    std::vector<TokenId> kept{prompt.front()};
    kept.insert(kept.end(), prompt.end() - keep_tail, prompt.end());
    prompt = std::move(kept);
}

std::unique_ptr<TokenConstraint> grammar_constraint(const ModelManager::Lease& lease,
                                                    const std::string& gbnf) {
    std::shared_ptr<const Grammar> grammar;
    try {
        grammar = Grammar::parse(gbnf);
    } catch (const Error& e) {
        throw HttpError(400, std::string("structured output: ") + e.what());
    }
    return std::make_unique<GrammarConstraint>(std::move(grammar), lease.token_trie());
}

std::shared_ptr<GenerationStream> submit(GenerationPlan& plan) {
    return plan.lease->scheduler().submit(std::move(plan.request));
}

Completion run_to_completion(GenerationStream& stream) {
    Completion out;
    for (;;) {
        auto event = stream.next(std::chrono::hours(1));
        if (!event) continue;
        out.text += event->text;
        out.tokens.insert(out.tokens.end(), event->tokens.begin(), event->tokens.end());
        out.logprobs.insert(out.logprobs.end(), event->logprobs.begin(), event->logprobs.end());
        if (!event->done) continue;
        if (!event->error.empty()) throw HttpError(500, "generation failed: " + event->error);
        out.stats = event->stats;
        return out;
    }
}

void stream_generation(httplib::Response& res, const std::string& content_type,
                       std::shared_ptr<ModelManager::Lease> lease,
                       std::shared_ptr<GenerationStream> stream, EventFormatter format) {
    auto guard = std::make_shared<CancelOnDestroy>(stream);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        content_type, [lease = std::move(lease), stream = std::move(stream), guard,
                       format = std::move(format)](size_t, httplib::DataSink& sink) {
            // Each call sends what has arrived (waiting a little when nothing has); returning
            // true without writing makes httplib call again.
            auto event = stream->next(kEventWait);
            if (!event) return true;
            std::string bytes = format(*event);
            while (!event->done) {
                auto more = stream->next(std::chrono::milliseconds(0));
                if (!more) break;
                event = std::move(more);
                bytes += format(*event);
            }
            if (!bytes.empty() && !sink.write(bytes.data(), bytes.size())) {
                stream->cancel();  // the client went away: free the slot now
                return false;
            }
            if (event->done) sink.done();
            return true;
        });
}

}  // namespace uma::server
