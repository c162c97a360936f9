#include "uma/runtime/bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <random>

#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/error.h"
#include "uma/runtime/bandwidth.h"
#include "uma/runtime/bytes_per_token.h"
#include "uma/runtime/loaded_model.h"
#include "uma/runtime/machine_info.h"
#include "uma/runtime/quantize.h"

namespace uma {
namespace {

constexpr int64_t kBatch = 512;

size_t peak_rss_bytes() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<size_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string model_type_name(const GgufFile& file) {
    const int64_t file_type = file.get_int("general.file_type", -1);
    for (const auto& scheme : quant_schemes())
        if (scheme.file_type == file_type) return std::string(scheme.name);
    if (file_type >= 0) return "file type " + std::to_string(file_type);
    // No general.file_type (older converters): name the type holding most matrix bytes.
    std::map<std::string, size_t> bytes;
    for (const auto& t : file.tensors())
        if (t.dims.size() >= 2) bytes[std::string(type_name(t.type))] += t.n_bytes;
    const auto most =
        std::max_element(bytes.begin(), bytes.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    return most == bytes.end() ? "unknown" : most->first;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void summarize(BenchResult& r) {
    const double n = double(r.samples.size());
    r.tokens_per_second = std::accumulate(r.samples.begin(), r.samples.end(), 0.0) / n;
    double var = 0;
    for (double s : r.samples) var += (s - r.tokens_per_second) * (s - r.tokens_per_second);
    r.stddev = r.samples.size() > 1 ? std::sqrt(var / (n - 1)) : 0.0;
    r.bandwidth_gbs = r.bytes_per_token * r.tokens_per_second / 1e9;
    r.bandwidth_fraction =
        r.machine_bandwidth_gbs > 0 ? r.bandwidth_gbs / r.machine_bandwidth_gbs : 0.0;
    if (!r.alongside_samples.empty() && r.alongside_samples.size() == r.samples.size()) {
        double gbs = 0, fraction = 0;
        for (size_t i = 0; i < r.samples.size(); ++i) {
            gbs += r.alongside_samples[i];
            if (r.alongside_samples[i] > 0)
                fraction += r.bytes_per_token * r.samples[i] / 1e9 / r.alongside_samples[i];
        }
        r.alongside_bandwidth_gbs = gbs / n;
        r.alongside_bandwidth_fraction = fraction / n;
    }
    r.peak_rss_bytes = peak_rss_bytes();
    const AnonymousMemory anonymous = current_anonymous_memory();
    r.anonymous_bytes = anonymous.bytes;
    r.huge_page_fraction =
        anonymous.bytes > 0 ? double(anonymous.huge_page_bytes) / double(anonymous.bytes) : 0.0;
    // Small models' heaps and activations are a large share of little memory: no warning there.
    r.mostly_small_pages = r.anonymous_bytes > (size_t(256) << 20) && r.huge_page_fraction < 0.75;
}

}  // namespace

nlohmann::ordered_json BenchResult::to_json() const {
    return {{"test", test},
            {"model", model_path},
            {"model_type", model_type},
            {"backend", backend},
            {"threads", threads},
            {"n_prompt", n_prompt},
            {"n_gen", n_gen},
            {"depth", depth},
            {"tokens_per_second", tokens_per_second},
            {"stddev", stddev},
            {"samples", samples},
            {"model_bytes", model_bytes},
            {"bytes_per_token", bytes_per_token},
            {"bandwidth_gbs", bandwidth_gbs},
            {"machine_bandwidth_gbs", machine_bandwidth_gbs},
            {"bandwidth_fraction", bandwidth_fraction},
            {"alongside_bandwidth_gbs", alongside_bandwidth_gbs},
            {"alongside_bandwidth_fraction", alongside_bandwidth_fraction},
            {"peak_rss_bytes", peak_rss_bytes},
            {"anonymous_bytes", anonymous_bytes},
            {"huge_page_fraction", huge_page_fraction},
            {"mostly_small_pages", mostly_small_pages}};
}

std::vector<BenchResult> run_bench(const BenchOptions& options,
                                   const std::function<void(const BenchResult&)>& on_result) {
    if (options.repetitions < 1) throw Error("bench: repetitions must be at least 1");
    for (const auto* list : {&options.prompt_sizes, &options.gen_sizes, &options.depths})
        for (int64_t n : *list)
            if (n < 0) throw Error("bench: token counts must not be negative");
    const int threads =
        options.threads > 0 ? options.threads : cpu::ThreadPool::default_thread_count();
    // Before the model is loaded: the measurements fork, best done before any thread starts.
    const double machine_gbs =
        options.measure_bandwidth ? machine_read_bandwidth(threads).gigabytes_per_second : 0.0;
    std::optional<BandwidthProbe> probe;
    if (options.bandwidth_alongside) probe.emplace(threads, size_t(1) << 30);
    // The best of the measurements just before and just after a repetition: a pass of the probe
    // is short, so it can land in a slow moment the repetition's average does not reflect.
    const auto measure_before = [&](BenchResult& r) {
        if (probe) r.alongside_samples.push_back(probe->measure());
    };
    const auto measure_after = [&](BenchResult& r) {
        if (probe)
            r.alongside_samples.back() = std::max(r.alongside_samples.back(), probe->measure());
    };
    LoadedModel m = LoadedModel::load(options.model_path, threads);
    Model& model = *m.model;
    Backend& backend = *m.backend;

    int64_t n_ctx = 1;
    for (int64_t depth : options.depths)
        for (const auto* list : {&options.prompt_sizes, &options.gen_sizes})
            for (int64_t n : *list) n_ctx = std::max(n_ctx, depth + n);
    KvCache cache = model.make_cache(n_ctx, options.kv_type);

    std::mt19937 rng(1234);
    std::uniform_int_distribution<TokenId> pick(0, std::max(1, m.tokenizer->vocab_size()) - 1);
    const auto random_tokens = [&](int64_t n) {
        std::vector<TokenId> tokens(static_cast<size_t>(n));
        for (auto& t : tokens) t = pick(rng);
        return tokens;
    };
    std::vector<float> logits;
    const auto evaluate = [&](const std::vector<TokenId>& tokens) {
        for (size_t begin = 0; begin < tokens.size(); begin += kBatch) {
            const size_t count = std::min<size_t>(kBatch, tokens.size() - begin);
            model.forward(std::span<const TokenId>(tokens).subspan(begin, count), cache, backend,
                          logits, false);
        }
    };

    BenchResult base;
    base.model_path = options.model_path;
    base.model_type = model_type_name(model.file());
    base.backend = backend.describe();
    base.threads = threads;
    base.model_bytes = model.weight_bytes();
    base.machine_bandwidth_gbs = machine_gbs;
    const double weights_per_token = weight_bytes_per_token(model);

    // Warm-up: faults the mapping in and lets the CPU settle before anything is timed.
    cache.set_size(0);
    evaluate(random_tokens(std::min<int64_t>(n_ctx, 32)));

    std::vector<BenchResult> results;
    const auto finish = [&](BenchResult& r) {
        summarize(r);
        if (on_result) on_result(r);
        results.push_back(r);
    };
    for (int64_t depth : options.depths) {
        // The context at `depth` is filled once; each repetition truncates back to it.
        cache.set_size(0);
        if (depth > 0) evaluate(random_tokens(depth));
        const std::string suffix = depth > 0 ? "@d" + std::to_string(depth) : "";
        for (int64_t n_prompt : options.prompt_sizes) {
            if (n_prompt == 0) continue;
            BenchResult r = base;
            r.test = "pp" + std::to_string(n_prompt) + suffix;
            r.n_prompt = n_prompt;
            r.depth = depth;
            const double batches = std::ceil(double(n_prompt) / double(kBatch));
            r.bytes_per_token =
                (weights_per_token * batches +
                 kv_bytes_per_token(model, double(depth) + double(n_prompt) / 2, options.kv_type) *
                     batches) /
                double(n_prompt);
            for (int rep = 0; rep < options.repetitions; ++rep) {
                const auto tokens = random_tokens(n_prompt);
                cache.set_size(depth);
                measure_before(r);
                const auto start = std::chrono::steady_clock::now();
                evaluate(tokens);
                r.samples.push_back(double(n_prompt) / seconds_since(start));
                measure_after(r);
            }
            finish(r);
        }
        for (int64_t n_gen : options.gen_sizes) {
            if (n_gen == 0) continue;
            BenchResult r = base;
            r.test = "tg" + std::to_string(n_gen) + suffix;
            r.n_gen = n_gen;
            r.depth = depth;
            r.bytes_per_token =
                weights_per_token +
                kv_bytes_per_token(model, double(depth) + double(n_gen + 1) / 2, options.kv_type);
            for (int rep = 0; rep < options.repetitions; ++rep) {
                cache.set_size(depth);
                TokenId token = random_tokens(1)[0];
                measure_before(r);
                const auto start = std::chrono::steady_clock::now();
                for (int64_t i = 0; i < n_gen; ++i) {
                    model.forward(std::span<const TokenId>(&token, 1), cache, backend, logits,
                                  false);
                    token = static_cast<TokenId>((token * 7 + 13) % m.tokenizer->vocab_size());
                }
                r.samples.push_back(double(n_gen) / seconds_since(start));
                measure_after(r);
            }
            finish(r);
        }
    }
    return results;
}

}  // namespace uma
