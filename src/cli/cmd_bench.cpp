#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "format.h"
#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/error.h"
#include "uma/runtime/bandwidth.h"
#include "uma/runtime/bench.h"

namespace uma::cli {
namespace {

// "512" or "0,128,512".
std::vector<int64_t> parse_list(const std::string& option, const std::string& text) {
    std::vector<int64_t> values;
    size_t begin = 0;
    while (begin <= text.size()) {
        const size_t comma = std::min(text.find(',', begin), text.size());
        const std::string item = text.substr(begin, comma - begin);
        char* end = nullptr;
        const long long v = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || v < 0)
            throw Error("option " + option + " expects counts like 512 or 0,512, got '" + text +
                        "'");
        values.push_back(v);
        begin = comma + 1;
    }
    return values;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
    Args args(argc, argv, 2,
              {"--json", "--no-bandwidth", "--remeasure-bandwidth", "--bandwidth-alongside"},
              {"--prompt", "--num-predict", "--threads", "-r", "--repetitions", "-d", "--depth",
               "--kv-type"});
    if (args.positional().size() != 1)
        throw Error("usage: uma bench MODEL [-p 512] [-n 128] [-d 0] [-t N] [-r 3] [--json]");
    BenchOptions options;
    options.model_path = args.positional()[0];
    options.prompt_sizes = parse_list("-p", args.get("--prompt", "512"));
    options.gen_sizes = parse_list("-n", args.get("--num-predict", "128"));
    options.depths = parse_list("-d", args.value("-d").value_or(args.get("--depth", "0")));
    options.threads = static_cast<int>(args.get_int("--threads", 0));
    options.repetitions = static_cast<int>(args.value("-r") ? args.get_int("-r", 3)
                                                            : args.get_int("--repetitions", 3));
    const std::string kv = args.get("--kv-type", "f16");
    if (kv != "f16" && kv != "f32") throw Error("--kv-type must be f16 or f32, got '" + kv + "'");
    options.kv_type = kv == "f32" ? GgmlType::F32 : GgmlType::F16;
    options.measure_bandwidth = !args.flag("--no-bandwidth");
    options.bandwidth_alongside = args.flag("--bandwidth-alongside");
    if (args.flag("--remeasure-bandwidth") && options.measure_bandwidth)
        machine_read_bandwidth(
            options.threads > 0 ? options.threads : cpu::ThreadPool::default_thread_count(), true);
    const bool json = args.flag("--json");
    const bool alongside = options.bandwidth_alongside;
    if (!json)
        std::printf("| %-8s | %10s | %7s | %-14s | %16s | %8s | %6s | %10s |%s\n", "type", "size",
                    "threads", "test", "t/s", "GB/s", "% BW", "peak RSS",
                    alongside ? " BW now | % BW now |" : "");
    bool warned_small_pages = false;
    run_bench(options, [&](const BenchResult& r) {
        if (json) {
            std::printf("%s\n", r.to_json().dump().c_str());
        } else {
            char speed[64];
            std::snprintf(speed, sizeof speed, "%.2f ± %.2f", r.tokens_per_second, r.stddev);
            char now[64] = "";
            if (alongside)
                std::snprintf(now, sizeof now, " %6.1f | %7.1f%% |", r.alongside_bandwidth_gbs,
                              100.0 * r.alongside_bandwidth_fraction);
            std::printf("| %-8s | %10s | %7d | %-14s | %16s | %8.1f | %5.1f%% | %10s |%s\n",
                        r.model_type.c_str(), human_bytes(r.model_bytes).c_str(), r.threads,
                        r.test.c_str(), speed, r.bandwidth_gbs, 100.0 * r.bandwidth_fraction,
                        human_bytes(r.peak_rss_bytes).c_str(), now);
            if (!warned_small_pages && r.mostly_small_pages) {  // said once per run
                warned_small_pages = true;
                std::fprintf(stderr,
                             "note: only %.0f%% of uma's %s of anonymous memory (packed weights, "
                             "KV cache) is in huge pages: memory was short or fragmented, and "
                             "streaming through small pages is slower\n",
                             100.0 * r.huge_page_fraction, human_bytes(r.anonymous_bytes).c_str());
            }
        }
        std::fflush(stdout);
    });
    return 0;
}

}  // namespace uma::cli
