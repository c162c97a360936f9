#pragma once
#include <memory>
#include <string>

#include "uma/backends/backend.h"
#include "uma/models/model.h"
#include "uma/tokenizer/tokenizer.h"

namespace uma {

// A model ready to run: weights, tokenizer and the backend that computes with them.
struct LoadedModel {
    std::unique_ptr<Model> model;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<Backend> backend;
    double load_seconds = 0;

    static LoadedModel load(const std::string& path, int n_threads);
    // The context to use: `requested` if positive, else the model's, capped at kDefaultMaxCtx.
    int64_t context_size(int64_t requested) const;
    static constexpr int64_t kDefaultMaxCtx = 4096;
};

}  // namespace uma
