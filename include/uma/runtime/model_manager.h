#pragma once
// The models a server has loaded: loaded on first request, kept for `keep_alive` after their
// last request (default 5 minutes; 0 unloads at once, negative keeps forever), and evicted least
// recently used first when a new model does not fit in the memory budget. Each loaded model has
// its own Scheduler (continuous batching over its slots).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "uma/core/error.h"
#include "uma/runtime/loaded_model.h"
#include "uma/runtime/metrics.h"
#include "uma/runtime/model_store.h"
#include "uma/runtime/scheduler.h"
#include "uma/sampling/grammar_constraint.h"

namespace uma {

// The model field names neither a stored model nor a GGUF file: the server answers 404.
class ModelNotFoundError : public Error {
  public:
    using Error::Error;
};

struct ModelManagerOptions {
    std::filesystem::path store_root;  // empty: ModelStore::default_root()
    int threads = 0;                   // per model; 0: all cores
    int parallel = 0;                  // slots per model; 0: sized from memory, at most 4
    int64_t default_ctx = 0;           // 0: the model's (Modelfile num_ctx, else at most 4096)
    size_t max_queue = 256;            // requests waiting per model
    uint64_t memory_budget = 0;        // bytes for weights and caches; 0: 3/4 of RAM
    std::chrono::milliseconds default_keep_alive = std::chrono::minutes(5);
    GgmlType kv_type = GgmlType::F16;
};

// A keep_alive duration: negative means forever.
using KeepAlive = std::chrono::milliseconds;

class ModelManager {
    struct Entry;

  public:
    // `metrics` (not owned; it must outlive the manager) receives each model's scheduler
    // metrics, under the model's name.
    explicit ModelManager(ModelManagerOptions options, ServerMetrics* metrics = nullptr);
    ~ModelManager();
    ModelManager(const ModelManager&) = delete;
    ModelManager& operator=(const ModelManager&) = delete;

    // A stored model name or a GGUF path; throws ModelNotFoundError naming it.
    ResolvedModel resolve(const std::string& name) const;
    const ModelStore& store() const { return store_; }

    // The right to use a loaded model for one request; releasing it starts the keep_alive clock.
    class Lease {
      public:
        Lease(ModelManager* manager, std::shared_ptr<Entry> entry, double load_seconds);
        Lease(Lease&& other) noexcept;
        Lease& operator=(Lease&&) = delete;
        ~Lease();

        Scheduler& scheduler() const;
        const LoadedModel& model() const;
        const ResolvedModel& resolved() const;
        int64_t default_ctx() const;  // per-model default context
        int64_t max_ctx() const;      // the most a request may ask for
        // The tokenizer's token trie for grammar-constrained sampling, built on first use.
        std::shared_ptr<const TokenTrie> token_trie() const;
        double load_seconds() const { return load_seconds_; }  // 0 when it was loaded already
        // This request's keep_alive (applied when the lease ends).
        void set_keep_alive(KeepAlive keep_alive);

      private:
        ModelManager* manager_;
        std::shared_ptr<Entry> entry_;
        double load_seconds_;
        std::optional<KeepAlive> keep_alive_;
    };

    // Loads the model if needed (evicting idle ones to make room) and leases it.
    Lease acquire(const std::string& name);
    // Unloads a model now if no request is using it (else as soon as none is); false when it
    // is not loaded.
    bool unload(const std::string& name);

    struct Running {
        ResolvedModel resolved;
        std::string architecture;
        int64_t parameters = 0;
        std::string quantization;
        uint64_t size = 0;  // weights and KV caches, bytes
        int64_t context_length = 0;
        int parallel = 0;
        size_t active = 0;
        size_t queued = 0;
        std::optional<std::chrono::system_clock::time_point> expires_at;  // none: forever
    };
    std::vector<Running> running() const;
    uint64_t memory_budget() const { return budget_; }

  private:
    void release(const std::shared_ptr<Entry>& entry, std::optional<KeepAlive> keep_alive);
    void reap_expired();
    std::shared_ptr<Entry> load_entry(const ResolvedModel& resolved);

    ModelManagerOptions options_;
    ServerMetrics* metrics_;
    ModelStore store_;
    uint64_t budget_ = 0;
    std::mutex load_mutex_;  // one load at a time, so two requests never load the same model
    mutable std::mutex mutex_;
    std::condition_variable reaper_wake_;
    std::map<std::string, std::shared_ptr<Entry>> loaded_;
    bool stopping_ = false;
    std::thread reaper_;
};

// "5m", "1h30m", "10s", "250ms", "-1", a number of seconds; negative: forever. Throws uma::Error.
KeepAlive parse_keep_alive(const std::string& text);

}  // namespace uma
