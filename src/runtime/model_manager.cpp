#include "uma/runtime/model_manager.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "uma/runtime/machine_info.h"

namespace uma {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxDefaultParallel = 4;

// The tensor type holding most of the weights: what Ollama calls the quantization level.
std::string dominant_type(const GgufFile& file) {
    std::map<GgmlType, size_t> bytes;
    for (const auto& t : file.tensors()) bytes[t.type] += t.n_bytes;
    if (bytes.empty()) return "";
    const auto best =
        std::max_element(bytes.begin(), bytes.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    return std::string(type_name(best->first));
}

}  // namespace

struct ModelManager::Entry {
    ResolvedModel resolved;
    std::shared_ptr<LoadedModel> model;
    std::unique_ptr<Scheduler> scheduler;
    int64_t default_ctx = 0;
    int64_t max_ctx = 0;
    uint64_t weight_bytes = 0;
    uint64_t planned_cache_bytes = 0;  // what the slots take at the default context
    std::string quantization;
    std::mutex trie_mutex;
    std::shared_ptr<const TokenTrie> trie;

    // Guarded by ModelManager::mutex_.
    size_t leases = 0;
    KeepAlive keep_alive{0};
    Clock::time_point last_used;
    Clock::time_point expires_at;
    bool unload_requested = false;

    bool forever() const { return keep_alive.count() < 0; }
    uint64_t size() const {
        return weight_bytes +
               std::max<uint64_t>(planned_cache_bytes, scheduler->load().cache_bytes);
    }

    ~Entry() {
        scheduler.reset();  // the worker stops before the weights go away
        model.reset();
    }
};

KeepAlive parse_keep_alive(const std::string& text) {
    const std::string bad =
        "keep_alive: cannot read '" + text +
        "' as a duration (like \"5m\", \"1h\", \"30s\", \"-1\" or a number of seconds)";
    if (text.empty()) throw Error(bad);
    size_t i = 0;
    bool negative = false;
    if (text[0] == '-' || text[0] == '+') {
        negative = text[0] == '-';
        ++i;
    }
    // A bare number is seconds.
    bool all_number = i < text.size();
    for (size_t j = i; j < text.size(); ++j)
        if (!std::isdigit(static_cast<unsigned char>(text[j])) && text[j] != '.')
            all_number = false;
    double total_ms = 0;
    if (all_number) {
        total_ms = std::stod(text.substr(i)) * 1000.0;
    } else {
        // Go's time.ParseDuration units, as Ollama reads keep_alive.
        while (i < text.size()) {
            size_t end = i;
            while (end < text.size() &&
                   (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.'))
                ++end;
            if (end == i) throw Error(bad);
            const double value = std::stod(text.substr(i, end - i));
            size_t unit_end = end;
            while (unit_end < text.size() &&
                   std::isalpha(static_cast<unsigned char>(text[unit_end])))
                ++unit_end;
            const std::string unit = text.substr(end, unit_end - end);
            double scale;
            if (unit == "ms")
                scale = 1;
            else if (unit == "s")
                scale = 1000;
            else if (unit == "m")
                scale = 60e3;
            else if (unit == "h")
                scale = 3600e3;
            else if (unit == "us" || unit == "µs")
                scale = 1e-3;
            else if (unit == "ns")
                scale = 1e-6;
            else
                throw Error(bad);
            total_ms += value * scale;
            i = unit_end;
        }
    }
    if (negative) return KeepAlive(-1);
    return KeepAlive(static_cast<int64_t>(std::min(total_ms, 1e15)));
}

ModelManager::ModelManager(ModelManagerOptions options, ServerMetrics* metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      store_(options_.store_root.empty() ? ModelStore::default_root() : options_.store_root) {
    budget_ = options_.memory_budget;
    if (budget_ == 0) budget_ = read_meminfo().total / 4 * 3;
    reaper_ = std::thread([this] { reap_expired(); });
}

ModelManager::~ModelManager() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    reaper_wake_.notify_all();
    reaper_.join();
    std::map<std::string, std::shared_ptr<Entry>> doomed;
    {
        std::lock_guard lock(mutex_);
        doomed.swap(loaded_);
    }
}

ResolvedModel ModelManager::resolve(const std::string& name) const {
    if (name.empty()) throw Error("the model field is required");
    std::optional<ResolvedModel> found;
    try {
        found = store_.resolve(name);
    } catch (const Error& e) {
        throw Error("model '" + name + "': " + e.what());
    }
    if (!found)
        throw ModelNotFoundError("model '" + name +
                                 "' not found: it is neither a model in the store " +
                                 store_.root().string() + " nor a GGUF file");
    return *found;
}

std::shared_ptr<ModelManager::Entry> ModelManager::load_entry(const ResolvedModel& resolved) {
    auto entry = std::make_shared<Entry>();
    entry->resolved = resolved;
    const int threads =
        static_cast<int>(resolved.parameters.get_int("num_thread").value_or(options_.threads));
    try {
        entry->model =
            std::make_shared<LoadedModel>(LoadedModel::load(resolved.gguf_path.string(), threads));
    } catch (const Error& e) {
        throw Error("loading model '" + resolved.name + "': " + e.what());
    }
    const Model& model = *entry->model->model;
    int64_t ctx = resolved.parameters.get_int("num_ctx").value_or(options_.default_ctx);
    entry->default_ctx = entry->model->context_size(ctx);
    entry->max_ctx = std::max(entry->default_ctx, model.config().n_ctx_train);
    entry->weight_bytes = model.weight_bytes();
    entry->quantization = dominant_type(model.file());

    const uint64_t slot_bytes = model.cache_bytes(entry->default_ctx, options_.kv_type);
    int parallel = options_.parallel;
    if (parallel <= 0) {
        uint64_t used = 0;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [name, other] : loaded_) used += other->size();
        }
        const uint64_t free =
            budget_ > used + entry->weight_bytes ? budget_ - used - entry->weight_bytes : 0;
        parallel = static_cast<int>(
            std::clamp<uint64_t>(slot_bytes ? free / slot_bytes : 1, 1, kMaxDefaultParallel));
    }
    entry->planned_cache_bytes = slot_bytes * static_cast<uint64_t>(parallel);

    SchedulerOptions scheduling;
    scheduling.parallel = parallel;
    scheduling.n_ctx = entry->default_ctx;
    scheduling.max_queue = options_.max_queue;
    scheduling.kv_type = options_.kv_type;
    entry->scheduler = std::make_unique<Scheduler>(
        entry->model, scheduling, metrics_ ? metrics_->model(resolved.name) : nullptr);
    return entry;
}

ModelManager::Lease ModelManager::acquire(const std::string& name) {
    const ResolvedModel resolved = resolve(name);
    std::lock_guard load_lock(load_mutex_);
    {
        std::lock_guard lock(mutex_);
        if (auto it = loaded_.find(resolved.name); it != loaded_.end()) {
            ++it->second->leases;
            it->second->unload_requested = false;
            return Lease(this, it->second, 0);
        }
    }
    // Make room: unload idle models, least recently used first, until the new one fits.
    const uint64_t needed = resolved.size;
    std::vector<std::shared_ptr<Entry>> evicted;
    {
        std::lock_guard lock(mutex_);
        for (;;) {
            uint64_t used = 0;
            for (const auto& [key, e] : loaded_) used += e->size();
            if (used + needed <= budget_) break;
            auto victim = loaded_.end();
            for (auto it = loaded_.begin(); it != loaded_.end(); ++it) {
                const auto load = it->second->scheduler->load();
                if (it->second->leases > 0 || load.active + load.queued > 0) continue;
                if (victim == loaded_.end() || it->second->last_used < victim->second->last_used)
                    victim = it;
            }
            if (victim == loaded_.end()) break;  // all busy: load anyway rather than fail
            evicted.push_back(victim->second);
            loaded_.erase(victim);
        }
    }
    evicted.clear();  // unloads them (outside the lock: their workers stop)

    auto entry = load_entry(resolved);
    const double load_seconds = entry->model->load_seconds;
    std::lock_guard lock(mutex_);
    entry->leases = 1;
    entry->keep_alive = options_.default_keep_alive;
    entry->last_used = Clock::now();
    loaded_[resolved.name] = entry;
    return Lease(this, entry, load_seconds);
}

bool ModelManager::unload(const std::string& name) {
    std::shared_ptr<Entry> doomed;
    {
        std::lock_guard lock(mutex_);
        std::string key = name;
        if (!loaded_.count(key)) {
            try {
                key = resolve(name).name;
            } catch (const Error&) {
                return false;
            }
        }
        const auto it = loaded_.find(key);
        if (it == loaded_.end()) return false;
        if (it->second->leases > 0) {
            it->second->unload_requested = true;
            return true;
        }
        doomed = it->second;
        loaded_.erase(it);
    }
    return true;
}

void ModelManager::release(const std::shared_ptr<Entry>& entry,
                           std::optional<KeepAlive> keep_alive) {
    {
        std::lock_guard lock(mutex_);
        --entry->leases;
        if (keep_alive) entry->keep_alive = *keep_alive;
        if (entry->unload_requested) entry->keep_alive = KeepAlive(0);
        entry->last_used = Clock::now();
        entry->expires_at =
            entry->last_used + (entry->forever() ? KeepAlive(0) : entry->keep_alive);
    }
    reaper_wake_.notify_all();
}

void ModelManager::reap_expired() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        auto next_wake = Clock::now() + std::chrono::seconds(60);
        std::vector<std::shared_ptr<Entry>> expired;
        const auto now = Clock::now();
        for (auto it = loaded_.begin(); it != loaded_.end();) {
            Entry& e = *it->second;
            if (e.leases == 0 && !e.forever()) {
                if (e.expires_at <= now) {
                    expired.push_back(it->second);
                    it = loaded_.erase(it);
                    continue;
                }
                next_wake = std::min(next_wake, e.expires_at);
            }
            ++it;
        }
        if (!expired.empty()) {
            lock.unlock();
            expired.clear();  // unloads them
            lock.lock();
            continue;
        }
        reaper_wake_.wait_until(lock, next_wake);
    }
}

std::vector<ModelManager::Running> ModelManager::running() const {
    std::lock_guard lock(mutex_);
    std::vector<Running> out;
    const auto now_steady = Clock::now();
    const auto now_system = std::chrono::system_clock::now();
    for (const auto& [key, e] : loaded_) {
        Running r;
        r.resolved = e->resolved;
        const Model& model = *e->model->model;
        r.architecture = model.config().architecture;
        r.parameters = model.parameter_count();
        r.quantization = e->quantization;
        r.size = e->size();
        r.context_length = e->default_ctx;
        r.parallel = e->scheduler->options().parallel;
        const auto load = e->scheduler->load();
        r.active = load.active;
        r.queued = load.queued;
        if (!e->forever()) {
            // A model in use expires keep_alive after its last request ends.
            const auto expires = e->leases > 0 ? now_steady + e->keep_alive : e->expires_at;
            r.expires_at =
                now_system + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                 expires - now_steady);
        }
        out.push_back(std::move(r));
    }
    return out;
}

ModelManager::Lease::Lease(ModelManager* manager, std::shared_ptr<Entry> entry, double load_seconds)
    : manager_(manager), entry_(std::move(entry)), load_seconds_(load_seconds) {}

ModelManager::Lease::Lease(Lease&& other) noexcept
    : manager_(other.manager_),
      entry_(std::move(other.entry_)),
      load_seconds_(other.load_seconds_),
      keep_alive_(other.keep_alive_) {}

ModelManager::Lease::~Lease() {
    if (entry_) manager_->release(entry_, keep_alive_);
}

Scheduler& ModelManager::Lease::scheduler() const {
    return *entry_->scheduler;
}
const LoadedModel& ModelManager::Lease::model() const {
    return *entry_->model;
}
const ResolvedModel& ModelManager::Lease::resolved() const {
    return entry_->resolved;
}
int64_t ModelManager::Lease::default_ctx() const {
    return entry_->default_ctx;
}
int64_t ModelManager::Lease::max_ctx() const {
    return entry_->max_ctx;
}
std::shared_ptr<const TokenTrie> ModelManager::Lease::token_trie() const {
    std::lock_guard lock(entry_->trie_mutex);
    if (!entry_->trie) entry_->trie = std::make_shared<const TokenTrie>(*entry_->model->tokenizer);
    return entry_->trie;
}
void ModelManager::Lease::set_keep_alive(KeepAlive keep_alive) {
    keep_alive_ = keep_alive;
}

}  // namespace uma
