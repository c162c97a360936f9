// Memory and speed planning: the catalogue, machine specs and the fit verdicts.
#include <gtest/gtest.h>

#include "test_data.h"
#include "uma/core/error.h"
#include "uma/models/model.h"
#include "uma/runtime/fit.h"

namespace uma {
namespace {

const CatalogueModel& catalogue(std::string_view name) {
    for (const auto& m : model_catalogue())
        if (m.name == name) return m;
    throw std::runtime_error("no catalogue model " + std::string(name));
}

TEST(Fit, CatalogueMatchesPublishedModelSizes) {
    // Parameter counts as published, and llama.cpp's Q4_K_M / Q8_0 file sizes, within a few %.
    const auto llama8 = catalogue_shape(catalogue("llama-3.1-8b"), "Q4_K_M");
    EXPECT_NEAR(llama8.parameters / 1e9, 8.03, 0.08);
    EXPECT_NEAR(double(llama8.file_bytes) / 1e9, 4.92, 0.25);
    EXPECT_NEAR(double(catalogue_shape(catalogue("llama-3.1-8b"), "Q8_0").file_bytes) / 1e9, 8.54,
                0.3);
    EXPECT_NEAR(catalogue_shape(catalogue("qwen2.5-7b"), "F16").parameters / 1e9, 7.62, 0.1);
    EXPECT_NEAR(catalogue_shape(catalogue("llama-3.3-70b"), "F16").parameters / 1e9, 70.6, 0.7);
    const auto mixtral = catalogue_shape(catalogue("mixtral-8x7b"), "Q4_K_M");
    EXPECT_NEAR(mixtral.parameters / 1e9, 46.7, 0.5);
    EXPECT_NEAR(mixtral.active_parameters / 1e9, 12.9, 0.3);
    EXPECT_THROW(catalogue_shape(catalogue("mistral-7b"), "Q9_X"), Error);
}

TEST(Fit, KvCacheMatchesTheModel) {
    auto model = load_model(test::data_path("models/stories260K.gguf").string());
    const ModelShape s = shape_of(*model, "stories");
    for (const GgmlType t : {GgmlType::F16, GgmlType::F32})
        EXPECT_EQ(kv_cache_bytes(s, 512, t), model->cache_bytes(512, t));
    EXPECT_EQ(s.file_bytes, model->file().file_size());
    EXPECT_EQ(s.weight_type, GgmlType::F32);
    // Llama 3.1 8B: 32 layers x 8 KV heads x 128 x 2 (K and V) x 2 bytes = 128 KiB per token.
    EXPECT_EQ(
        kv_cache_bytes(catalogue_shape(catalogue("llama-3.1-8b"), "Q4_K_M"), 1, GgmlType::F16),
        131072u);
}

TEST(Fit, MachineSpecsAndPresets) {
    const MachineInfo custom = parse_machine_spec("32GB,120GB/s");
    EXPECT_EQ(custom.total_memory, 32000000000u);
    EXPECT_DOUBLE_EQ(custom.bandwidth, 120e9);
    EXPECT_LT(custom.available_memory, custom.total_memory);
    const MachineInfo m2 = parse_machine_spec("M2-Max");
    EXPECT_EQ(m2.name, "m2-max");
    EXPECT_DOUBLE_EQ(m2.bandwidth, 400e9);
    EXPECT_EQ(parse_machine_spec("m2-max,64GB").total_memory, 64000000000u);
    EXPECT_DOUBLE_EQ(parse_machine_spec("rtx-4090").bandwidth, 1008e9);
    EXPECT_EQ(parse_machine_spec("h100").total_memory, 80000000000u);
    for (const char* bad : {"", "fast", "32GB", "32XB,1GB/s", "m2-max,1GB,2GB"})
        EXPECT_THROW(parse_machine_spec(bad), Error) << bad;
}

TEST(Fit, VerdictsAndSpeeds) {
    const ModelShape s = catalogue_shape(catalogue("llama-3.1-8b"), "Q4_K_M");
    FitOptions o;
    o.n_ctx = 131072;
    const RuntimeOverhead overhead = RuntimeOverhead::typical();
    const MemoryEstimate need = estimate_memory(s, o, overhead);
    EXPECT_EQ(need.kv_cache, 131072ull * 131072ull);  // 16 GiB of F16 cache
    EXPECT_EQ(check_fit(s, o, overhead, need.total()).kind, FitVerdict::Kind::Fits);
    const FitVerdict less = check_fit(s, o, overhead, 12'000'000'000ull);
    EXPECT_EQ(less.kind, FitVerdict::Kind::FitsWithLessContext);
    EXPECT_GT(less.max_ctx, 8192);
    EXPECT_LT(less.max_ctx, 131072);
    EXPECT_LE(less.memory.total(), 12'000'000'000ull);
    EXPECT_EQ(check_fit(s, o, overhead, 4'000'000'000ull).kind, FitVerdict::Kind::DoesNotFit);
    // q8_0 halves the cache (34 bytes per 32 values instead of 64).
    o.kv_type = GgmlType::Q8_0;
    EXPECT_EQ(estimate_memory(s, o, overhead).kv_cache, need.kv_cache / 64 * 34);

    // Generation is bandwidth-bound on a GPU: about bandwidth / bytes per token.
    const SpeedEstimate speed = estimate_speed(s, parse_machine_spec("rtx-4090"), 0, GgmlType::F16);
    EXPECT_TRUE(speed.generate_memory_bound);
    EXPECT_NEAR(speed.generate_tokens_per_second, 1008e9 / double(s.active_weight_bytes), 1);
    EXPECT_GT(speed.prompt_tokens_per_second, 1000);
}

}  // namespace
}  // namespace uma
