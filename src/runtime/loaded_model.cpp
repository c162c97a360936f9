#include "uma/runtime/loaded_model.h"

#include <algorithm>
#include <chrono>

#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/error.h"

namespace uma {

LoadedModel LoadedModel::load(const std::string& path, int n_threads) {
    const auto start = std::chrono::steady_clock::now();
    LoadedModel m;
    m.model = load_model(path);
    m.tokenizer = Tokenizer::from_gguf(m.model->file());
    if (m.tokenizer->vocab_size() > m.model->config().n_vocab)
        throw Error(path + ": the tokenizer has " + std::to_string(m.tokenizer->vocab_size()) +
                    " tokens but the model's embedding has " +
                    std::to_string(m.model->config().n_vocab) + " rows");
    if (n_threads <= 0) n_threads = cpu::ThreadPool::default_thread_count();
    m.backend = make_cpu_backend(n_threads);
    for (const Weight& w : m.model->matrices()) m.backend->prepare(w);
    m.load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return m;
}

int64_t LoadedModel::context_size(int64_t requested) const {
    if (requested > 0) return requested;
    return std::min<int64_t>(model->config().n_ctx_train, kDefaultMaxCtx);
}

}  // namespace uma
