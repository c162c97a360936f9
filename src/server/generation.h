#pragma once
// What the Ollama and OpenAI routes share: turning request fields into a GenerationRequest,
// running it to completion, and streaming its events as a chunked HTTP response.
#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "http_util.h"
#include "uma/runtime/metrics.h"
#include "uma/runtime/model_manager.h"
#include "uma/runtime/modelfile.h"
#include "uma/runtime/scheduler.h"
#include "uma/server/server.h"

namespace uma::server {

struct ServerContext {
    ModelManager& models;
    const ServerOptions& options;
    ServerMetrics& metrics;
};

// One generation as a route has planned it.
struct GenerationPlan {
    std::string model_name;  // as the client sent it
    std::shared_ptr<ModelManager::Lease> lease;
    GenerationRequest request;
    std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
    std::chrono::system_clock::time_point created = std::chrono::system_clock::now();
};

// Leases the model (loading it on first use); load failures are 500s, unknown models 404s.
std::shared_ptr<ModelManager::Lease> lease_model(ServerContext& ctx, const std::string& name);

// Generation options from the model's Modelfile parameters, then the request's `options`.
GenerateOptions generate_options(const ResolvedModel& model, const ModelParameters& overrides);
// Ollama's `options` object, checked (types and ranges) into parameters.
ModelParameters parse_options(const Json& body);

// Sets the request's context (`requested` <= 0: the model's default; at most the model's
// maximum) and checks the prompt against it: a prompt that does not fit is a 400 naming both
// sizes, unless `truncate` asks to keep only its end (the first token, BOS, is kept).
void fit_context(GenerationPlan& plan, int64_t requested, bool truncate);

// A grammar (GBNF) constraint for structured output over the leased model's vocabulary.
std::unique_ptr<TokenConstraint> grammar_constraint(const ModelManager::Lease& lease,
                                                    const std::string& gbnf);

// Submits the plan; queue full gives 503.
std::shared_ptr<GenerationStream> submit(GenerationPlan& plan);

struct Completion {
    std::string text;
    std::vector<TokenId> tokens;
    std::vector<TokenLogprob> logprobs;
    GenerateStats stats;
};
// Waits for the whole generation; a generation error is a 500.
Completion run_to_completion(GenerationStream& stream);

// Turns one event into the bytes to send (may be empty); called in order, last with done.
using EventFormatter = std::function<std::string(const GenerationEvent&)>;

// Answers with a chunked stream of formatted events. The lease and stream stay alive until the
// response ends; a client that goes away cancels the generation, which frees its slot.
void stream_generation(httplib::Response& res, const std::string& content_type,
                       std::shared_ptr<ModelManager::Lease> lease,
                       std::shared_ptr<GenerationStream> stream, EventFormatter format);

}  // namespace uma::server
