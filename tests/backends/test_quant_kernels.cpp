// The dot-product kernels: every SIMD variant against the scalar reference, quantized dots
// against float dots, and the run-time dispatch.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "backends/cpu/quant_formats.h"
#include "backends/test_quant_helpers.h"
#include "uma/core/fp16.h"

#if defined(__linux__)
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace uma::cpu {
namespace {

using detail::SimdLevel;
using test::dequantized;
using test::gaussian_values;
using test::quantized;

bool is_float_type(GgmlType type) {
    return type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16;
}

// Row lengths covering a single block, odd block counts (tails of unrolled loops) and long rows.
std::vector<int64_t> row_lengths(GgmlType type) {
    if (is_float_type(type)) return {1, 7, 16, 33, 100, 256, 4099};
    if (traits(type).block_size == 32) return {32, 64, 96, 288, 4128};
    return {256, 512, 768, 4352};
}

// An activation row as the kernels consume it, plus its decoded values.
struct Activation {
    std::vector<uint8_t> bytes;
    std::vector<float> values;
};

Activation make_activation(GgmlType weight_type, int64_t n, uint32_t seed) {
    const GgmlType type = activation_type(weight_type);
    const auto input = gaussian_values(n, seed);
    Activation a{quantized(type, input), {}};
    a.values = dequantized(type, a.bytes.data(), n);
    return a;
}

// Byte offsets of the fp16 scale fields in each block, for the random-block test.
std::vector<size_t> half_fields(GgmlType type) {
    switch (type) {
        case GgmlType::Q4_1:
        case GgmlType::Q5_1:
        case GgmlType::Q4_K:
        case GgmlType::Q5_K:
            return {0, 2};
        case GgmlType::Q2_K:
            return {80, 82};
        case GgmlType::Q3_K:
            return {108};
        case GgmlType::Q6_K:
            return {208};
        default:
            return {0};  // Q4_0, Q5_0, Q8_0, IQ4_NL, IQ4_XS
    }
}

// Blocks of random bytes (every bit pattern of quants and sub-block scales) with finite, small
// fp16 scales.
std::vector<uint8_t> random_blocks(GgmlType type, int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> bytes(row_size(type, n));
    for (auto& b : bytes) b = uint8_t(rng());
    std::uniform_real_distribution<float> scale(-0.01f, 0.01f);
    const size_t block_bytes = traits(type).type_size;
    for (size_t block = 0; block < bytes.size(); block += block_bytes)
        for (size_t offset : half_fields(type)) {
            const uint16_t h = fp32_to_fp16(scale(rng));
            bytes[block + offset] = uint8_t(h & 0xFF);
            bytes[block + offset + 1] = uint8_t(h >> 8);
        }
    return bytes;
}

// sum |w_i * a_i|: the scale against which float summation-order differences are judged.
double magnitude(const std::vector<float>& w, const std::vector<float>& a) {
    double sum = 0;
    for (size_t i = 0; i < w.size(); ++i) sum += std::fabs(double(w[i]) * a[i]);
    return sum;
}

struct SimdVariant {
    const char* name;
    SimdLevel level;
    VecDotFn (*kernel)(GgmlType);
};

const SimdVariant kVariants[] = {
    {"avx2", SimdLevel::avx2, detail::vec_dot_avx2},
    {"avx512", SimdLevel::avx512, detail::vec_dot_avx512},
    {"neon", SimdLevel::neon, detail::vec_dot_neon},
};

class QuantSimdKernel : public ::testing::TestWithParam<GgmlType> {
  protected:
    // Checks `kernel` against the reference on one weight row.
    void expect_agrees(const char* variant, VecDotFn kernel, const std::vector<uint8_t>& weight,
                       const Activation& a, int64_t n) {
        const GgmlType type = GetParam();
        float expected = 0, actual = 0;
        vec_dot_reference(type)(n, &expected, weight.data(), a.bytes.data());
        kernel(n, &actual, weight.data(), a.bytes.data());
        const double scale = magnitude(dequantized(type, weight.data(), n), a.values);
        ASSERT_GT(scale, 0.0);
        EXPECT_NEAR(actual, expected, 1e-5 * scale + 1e-30)
            << variant << " " << type_name(type) << " n=" << n;
        ++checked_;
    }
    int checked_ = 0;
};

TEST_P(QuantSimdKernel, MatchesReferenceAtEverySupportedLevel) {
    const GgmlType type = GetParam();
    const SimdLevel cpu = detail::cpu_simd_level();
    if (cpu == SimdLevel::scalar) GTEST_SKIP() << "this CPU/build has no SIMD level";
    uint32_t seed = 1;
    for (const SimdVariant& variant : kVariants) {
        if (!detail::runs_kernels_of(cpu, variant.level)) continue;
        const VecDotFn kernel = variant.kernel(type);
        if (kernel == nullptr) continue;
        for (int64_t n : row_lengths(type)) {
            const Activation a = make_activation(type, n, ++seed);
            const auto weights = gaussian_values(n, ++seed, 0.02f);
            expect_agrees(variant.name, kernel, quantized(type, weights), a, n);
            if (!is_float_type(type))
                expect_agrees(variant.name, kernel, random_blocks(type, n, ++seed), a, n);
        }
    }
    RecordProperty("checked_rows", checked_);
}

INSTANTIATE_TEST_SUITE_P(Quant, QuantSimdKernel, ::testing::ValuesIn(test::weight_types()),
                         [](const auto& info) { return std::string(type_name(info.param)); });

TEST(QuantSimdVariants, RequiredVariantsExist) {
#if defined(__x86_64__)
    for (GgmlType type :
         {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
          GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::IQ4_NL, GgmlType::Q2_K,
          GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_XS})
        EXPECT_NE(detail::vec_dot_avx2(type), nullptr) << type_name(type);
    for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::Q4_0, GgmlType::Q8_0,
                          GgmlType::Q4_K, GgmlType::Q6_K})
        EXPECT_NE(detail::vec_dot_avx512(type), nullptr) << type_name(type);
#elif defined(__aarch64__)
    EXPECT_EQ(detail::vec_dot_avx2(GgmlType::Q4_0), nullptr);
    for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0,
                          GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K})
        EXPECT_NE(detail::vec_dot_neon(type), nullptr) << type_name(type);
#else
    EXPECT_EQ(detail::vec_dot_avx2(GgmlType::Q4_0), nullptr);
    EXPECT_EQ(detail::cpu_simd_level(), SimdLevel::scalar);
#endif
}

// The dot of a quantized weight row with a quantized activation row, against float arithmetic:
// only the activation's quantization separates it from the dot of the decoded weights, and the
// weight's quantization error bounds the distance to the original weights.
class QuantDotAccuracy : public ::testing::TestWithParam<GgmlType> {};

TEST_P(QuantDotAccuracy, CloseToFloatDot) {
    const GgmlType type = GetParam();
    const int64_t n = 4096;
    for (uint32_t seed = 1; seed <= 5; ++seed) {
        const auto weights = gaussian_values(n, 100 + seed, 0.02f);
        const auto weight_bytes = quantized(type, weights);
        const auto decoded = dequantized(type, weight_bytes.data(), n);
        const auto input = gaussian_values(n, 200 + seed);
        const GgmlType act = activation_type(type);
        const auto activation_bytes = quantized(act, input);

        float result = 0;
        vec_dot_kernel(type)(n, &result, weight_bytes.data(), activation_bytes.data());

        double with_decoded = 0, with_original = 0, decoded_norm = 0, error_norm = 0,
               input_norm = 0;
        for (size_t i = 0; i < size_t(n); ++i) {
            with_decoded += double(decoded[i]) * input[i];
            with_original += double(weights[i]) * input[i];
            decoded_norm += double(decoded[i]) * decoded[i];
            error_norm += (double(decoded[i]) - weights[i]) * (double(decoded[i]) - weights[i]);
            input_norm += double(input[i]) * input[i];
        }
        // Activation rounding noise has RMS ~0.007 of the input's (8-bit, per-block scale), so
        // its effect on the dot is ~0.007 * |w| * |x| / sqrt(n); allow about 4 sigma.
        const double input_rms = std::sqrt(input_norm / double(n));
        const double activation_tolerance =
            act == GgmlType::F32 ? 1e-5 * std::sqrt(decoded_norm) * std::sqrt(input_norm)
                                 : 0.03 * std::sqrt(decoded_norm) * input_rms;
        EXPECT_NEAR(result, with_decoded, activation_tolerance) << type_name(type);
        EXPECT_NEAR(result, with_original,
                    activation_tolerance + 5 * std::sqrt(error_norm) * input_rms)
            << type_name(type);
    }
}

INSTANTIATE_TEST_SUITE_P(Quant, QuantDotAccuracy, ::testing::ValuesIn(test::weight_types()),
                         [](const auto& info) { return std::string(type_name(info.param)); });

// ---- dispatch ----

TEST(QuantDispatch, KernelComesFromTheActiveLevel) {
    const SimdLevel active = detail::active_simd_level();
    EXPECT_LE(active, detail::cpu_simd_level());
    EXPECT_EQ(std::string(simd_level_name()), detail::simd_level_name(active));
    for (GgmlType type : test::weight_types()) {
        EXPECT_EQ(vec_dot_kernel(type), detail::vec_dot_for_level(type, active)) << type_name(type);
        EXPECT_EQ(detail::vec_dot_for_level(type, SimdLevel::scalar), vec_dot_reference(type));
    }
}

// Run by HonoursUmaSimdCap in a child process with UMA_SIMD set (disabled in normal runs).
TEST(QuantDispatch, DISABLED_CappedLevelMatchesEnvironment) {
    const char* cap = std::getenv("UMA_SIMD");
    ASSERT_NE(cap, nullptr) << "run with UMA_SIMD set";
    const std::string requested = cap;
    const SimdLevel cpu = detail::cpu_simd_level();
    const SimdLevel wanted = requested == "scalar" ? SimdLevel::scalar
                             : requested == "avx2" ? SimdLevel::avx2
                             : requested == "neon" ? SimdLevel::neon
                                                   : SimdLevel::avx512;
    // The lower of the two within one architecture; across them, only scalar is shared.
    const SimdLevel expected = detail::runs_kernels_of(cpu, wanted)   ? wanted
                               : detail::runs_kernels_of(wanted, cpu) ? cpu
                                                                      : SimdLevel::scalar;
    EXPECT_EQ(detail::active_simd_level(), expected);
    if (wanted == SimdLevel::scalar) {
        EXPECT_EQ(vec_dot_kernel(GgmlType::Q4_0), vec_dot_reference(GgmlType::Q4_0));
    }
}

#if defined(__linux__)
int run_self_with(const std::string& env) {
    char path[4096];
    const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
    if (length <= 0) return -1;
    path[length] = '\0';
    const std::string command =
        env + " '" + std::string(path) +
        "' --gtest_also_run_disabled_tests"
        " --gtest_filter=QuantDispatch.DISABLED_CappedLevelMatchesEnvironment"
        " > /dev/null 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(QuantDispatch, HonoursUmaSimdCap) {
    for (const char* level : {"scalar", "avx2", "avx512", "neon"})
        EXPECT_EQ(run_self_with(std::string("UMA_SIMD=") + level), 0) << level;
    // An unknown level is an error, not a silent fallback.
    EXPECT_NE(run_self_with("UMA_SIMD=sse9"), 0);
}
#endif

}  // namespace
}  // namespace uma::cpu
