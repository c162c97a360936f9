#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "uma/core/ggml_type.h"

namespace uma {

struct BenchOptions {
    std::string model_path;
    std::vector<int64_t> prompt_sizes = {512};  // prompt-processing tests (0 entries: none)
    std::vector<int64_t> gen_sizes = {128};     // generation tests
    std::vector<int64_t> depths = {0};          // tokens already in the context before each test
    int threads = 0;                            // 0: all cores
    int repetitions = 3;
    GgmlType kv_type = GgmlType::F16;
    bool measure_bandwidth = true;  // compare against the machine's measured read bandwidth
    // Also measure the read bandwidth right before and after every repetition and compare each
    // with it: on a shared machine the bandwidth of the moment can be far below the best ever
    // measured.
    bool bandwidth_alongside = false;
};

struct BenchResult {
    std::string test;  // "pp512", "tg128", "tg128@d4096"
    std::string model_path;
    std::string model_type;  // "Q4_K_M"
    std::string backend;
    int threads = 0;
    int64_t n_prompt = 0, n_gen = 0, depth = 0;
    std::vector<double> samples;   // tokens/s of each repetition
    double tokens_per_second = 0;  // mean of the samples
    double stddev = 0;
    size_t model_bytes = 0;            // all tensor bytes of the file
    double bytes_per_token = 0;        // weights (and KV cache) read per token processed
    double bandwidth_gbs = 0;          // bytes_per_token * tokens_per_second
    double machine_bandwidth_gbs = 0;  // measured read bandwidth with the same thread count
    double bandwidth_fraction = 0;     // bandwidth_gbs / machine_bandwidth_gbs (0 if unmeasured)
    // With bandwidth_alongside: per repetition the better of the read bandwidths measured just
    // before and just after it; their mean; and the mean over repetitions of the GB/s reached
    // divided by the bandwidth measured around it.
    std::vector<double> alongside_samples;
    double alongside_bandwidth_gbs = 0;
    double alongside_bandwidth_fraction = 0;
    size_t peak_rss_bytes = 0;
    // The share of the process's anonymous memory (packed weights, KV cache) in huge pages after
    // the test, 0 where unknown: streaming weights through small pages is markedly slower, and
    // they are what page faults get while free memory is short or fragmented.
    double huge_page_fraction = 0;
    size_t anonymous_bytes = 0;
    // Much anonymous memory (more than 256 MiB) and under 75% of it in huge pages: worth a warning.
    bool mostly_small_pages = false;

    nlohmann::ordered_json to_json() const;
};

// Loads the model once and runs every prompt test and every generation test at every depth, with
// random tokens, each `repetitions` times after an untimed warm-up. Prompt tests evaluate the
// whole prompt in batches of 512; generation tests evaluate one token at a time.
std::vector<BenchResult> run_bench(const BenchOptions& options,
                                   const std::function<void(const BenchResult&)>& on_result = {});

}  // namespace uma
