// uma bench: results, the JSON lines scripts read, and the bandwidth measurement.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_data.h"
#include "uma/runtime/bandwidth.h"
#include "uma/runtime/bench.h"

namespace uma {
namespace {

std::string run_command(const std::string& command, int& status) {
    FILE* pipe = popen((command + " < /dev/null").c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed");
    std::string output;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
    const int raw = pclose(pipe);
    status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return output;
}

TEST(Bench, RunsPromptAndGenerationTestsAtEveryDepth) {
    BenchOptions options;
    options.model_path = test::data_path("models/stories260K.gguf").string();
    options.prompt_sizes = {16};
    options.gen_sizes = {4};
    options.depths = {0, 8};
    options.threads = 2;
    options.repetitions = 2;
    options.measure_bandwidth = false;
    int reported = 0;
    const auto results = run_bench(options, [&](const BenchResult&) { ++reported; });
    ASSERT_EQ(results.size(), 4u);
    EXPECT_EQ(reported, 4);
    EXPECT_EQ(results[0].test, "pp16");
    EXPECT_EQ(results[1].test, "tg4");
    EXPECT_EQ(results[3].test, "tg4@d8");
    for (const auto& r : results) {
        EXPECT_EQ(r.samples.size(), 2u);
        EXPECT_GT(r.tokens_per_second, 0);
        EXPECT_GT(r.bytes_per_token, 0);
        EXPECT_GT(r.peak_rss_bytes, 0u);
        EXPECT_GT(r.anonymous_bytes, 0u);  // the heap at least
        EXPECT_GE(r.huge_page_fraction, 0.0);
        EXPECT_LE(r.huge_page_fraction, 1.0);
        EXPECT_EQ(r.model_type, "F32");
    }
    // A generated token reads the whole model (the embedding doubles as the output here) and
    // more of the KV cache at depth.
    EXPECT_GE(results[1].bytes_per_token, 0.8 * double(results[1].model_bytes));
    EXPECT_GT(results[3].bytes_per_token, results[1].bytes_per_token);
}

TEST(Bench, JsonLinesCarryTheKeysScriptsCompare) {
    const auto cache = std::filesystem::temp_directory_path() /
                       ("uma_bench_test_bandwidth_" + std::to_string(::getpid()) + ".json");
    const std::string command = "UMA_BANDWIDTH_CACHE=" + cache.string() + " " + test::uma_binary() +
                                " bench " + test::data_path("models/stories260K.gguf").string() +
                                " -p 32 -n 8 -r 2 -t 2 --json";
    int status = 0;
    const std::string output = run_command(command, status);
    ASSERT_EQ(status, 0) << output;
    std::istringstream lines(output);
    std::string line;
    std::vector<nlohmann::json> objects;
    while (std::getline(lines, line)) objects.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(objects.size(), 2u) << output;
    EXPECT_EQ(objects[0]["test"], "pp32");
    EXPECT_EQ(objects[1]["test"], "tg8");
    for (const auto& o : objects) {
        for (const char* key :
             {"test", "threads", "tokens_per_second", "stddev", "model_bytes", "bytes_per_token",
              "bandwidth_gbs", "bandwidth_fraction", "huge_page_fraction"})
            EXPECT_TRUE(o.contains(key)) << key << " missing in " << o.dump();
        EXPECT_EQ(o["threads"], 2);
        EXPECT_GT(o["machine_bandwidth_gbs"].get<double>(), 0.5);
        EXPECT_GT(o["bandwidth_fraction"].get<double>(), 0);
    }
    // The measurement was cached for the next run.
    EXPECT_TRUE(std::filesystem::exists(cache));
    const auto cached = nlohmann::json::parse(std::ifstream(cache));
    EXPECT_TRUE(cached["read_gbs"].contains("2")) << cached.dump();
    std::filesystem::remove(cache);
}

// The probe's child answers every request, and each repetition is held against the bandwidth
// measured just before it.
TEST(Bench, BandwidthAlongsideIsMeasuredForEveryRepetition) {
    {
        BandwidthProbe probe(1, size_t(32) << 20);
        for (int i = 0; i < 3; ++i) {
            const double gbs = probe.measure();
            EXPECT_GT(gbs, 0.5);
            EXPECT_LT(gbs, 2000);
        }
    }
    BenchOptions options;
    options.model_path = test::data_path("models/stories260K.gguf").string();
    options.prompt_sizes = {16};
    options.gen_sizes = {4};
    options.threads = 2;
    options.repetitions = 3;
    options.measure_bandwidth = false;
    options.bandwidth_alongside = true;
    const auto results = run_bench(options);
    ASSERT_EQ(results.size(), 2u);
    for (const auto& r : results) {
        ASSERT_EQ(r.alongside_samples.size(), 3u) << r.test;
        double fraction = 0;
        for (size_t i = 0; i < 3; ++i) {
            EXPECT_GT(r.alongside_samples[i], 0.5) << r.test;
            fraction += r.bytes_per_token * r.samples[i] / 1e9 / r.alongside_samples[i] / 3;
        }
        EXPECT_NEAR(r.alongside_bandwidth_fraction, fraction, 1e-9 * fraction) << r.test;
        EXPECT_GT(r.alongside_bandwidth_gbs, 0.5) << r.test;
        EXPECT_EQ(r.to_json()["alongside_bandwidth_fraction"].get<double>(),
                  r.alongside_bandwidth_fraction);
    }
}

TEST(Bench, BandwidthMeasurementIsPlausible) {
    const double gbs = measure_read_bandwidth(1, size_t(64) << 20, 2);
    EXPECT_GT(gbs, 0.5);
    EXPECT_LT(gbs, 2000);
}

}  // namespace
}  // namespace uma
