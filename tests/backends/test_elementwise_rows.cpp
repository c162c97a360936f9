// The vectorized elementwise kernels against the plain loops, on random rows of many lengths
// (whole vectors and tails) and on inputs far out in both directions.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "backends/cpu/elementwise_rows.h"
#include "uma/backends/backend.h"

namespace uma::cpu::detail {
namespace {

std::vector<float> random_values(int64_t n, uint32_t seed, float scale) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = normal(rng);
    return v;
}

// The vector kernels this CPU runs, each named for the messages.
std::vector<std::pair<const char*, const ElementwiseKernels*>> fast_kernels() {
    std::vector<std::pair<const char*, const ElementwiseKernels*>> kernels;
    const SimdLevel cpu = cpu_simd_level();
    if (runs_kernels_of(cpu, SimdLevel::avx2) && elementwise_kernels_avx2())
        kernels.emplace_back("avx2", elementwise_kernels_avx2());
    if (runs_kernels_of(cpu, SimdLevel::avx512) && elementwise_kernels_avx512())
        kernels.emplace_back("avx512", elementwise_kernels_avx512());
    if (runs_kernels_of(cpu, SimdLevel::neon) && elementwise_kernels_neon())
        kernels.emplace_back("neon", elementwise_kernels_neon());
    return kernels;
}

TEST(ElementwiseRows, SwigluMatchesTheReference) {
    const auto kernels = fast_kernels();
    if (kernels.empty()) GTEST_SKIP() << "no AVX2 or NEON on this CPU";
    const auto& reference = elementwise_kernels_reference();
    for (const auto& [level, fast] : kernels)
        for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 100, 5632}) {
            for (float scale : {0.1f, 3.0f, 40.0f}) {
                auto gate = random_values(n, uint32_t(n), scale);
                const auto up = random_values(n, uint32_t(n) + 1, 1.0f);
                gate[0] = -200.0f;            // silu -> -0
                if (n > 1) gate[1] = 200.0f;  // silu -> x
                std::vector<float> expected(gate.size()), got(gate.size());
                reference.swiglu(gate.data(), up.data(), n, expected.data());
                fast->swiglu(gate.data(), up.data(), n, got.data());
                for (int64_t i = 0; i < n; ++i)
                    // The exponent reduction loses a few bits for large |gate| (about 5e-8 per
                    // unit).
                    ASSERT_NEAR(got[i], expected[i], 1e-5f * std::fabs(expected[i]) + 1e-30f)
                        << level << " n " << n << " scale " << scale << " i " << i << " gate "
                        << gate[i];
                // In place, as the transformer calls it.
                fast->swiglu(gate.data(), up.data(), n, gate.data());
                EXPECT_EQ(gate, got) << level;
            }
        }
}

TEST(ElementwiseRows, RmsNormMatchesTheReference) {
    const auto kernels = fast_kernels();
    if (kernels.empty()) GTEST_SKIP() << "no AVX2 or NEON on this CPU";
    const auto& reference = elementwise_kernels_reference();
    for (const auto& [level, fast] : kernels) {
        for (int64_t dim : {1, 3, 7, 8, 31, 64, 100, 2048, 4099}) {
            const auto x = random_values(dim, uint32_t(dim), 5.0f);
            const auto weight = random_values(dim, uint32_t(dim) + 7, 1.0f);
            for (const float* w : {weight.data(), static_cast<const float*>(nullptr)}) {
                std::vector<float> expected(x.size()), got(x.size());
                reference.rms_norm(x.data(), w, dim, 1e-5f, expected.data());
                fast->rms_norm(x.data(), w, dim, 1e-5f, got.data());
                for (int64_t i = 0; i < dim; ++i)
                    ASSERT_NEAR(got[i], expected[i], 1e-6f * std::fabs(expected[i]))
                        << level << " dim " << dim << " i " << i << (w ? " weighted" : "");
            }
        }
        // An all-zero row stays zero (eps keeps the scale finite).
        std::vector<float> zeros(48, 0.0f), out(48, 1.0f);
        fast->rms_norm(zeros.data(), nullptr, 48, 1e-6f, out.data());
        for (float v : out) EXPECT_EQ(v, 0.0f) << level;
    }
}

// Half precision is exact rounding, so the vector conversion must give the reference's bits:
// ordinary values, halfway cases of both parities, subnormal halves, values that underflow to
// zero or overflow to infinity, infinities and signed zeros. NaNs must stay NaNs.
TEST(ElementwiseRows, HalfConversionMatchesTheReference) {
    const auto kernels = fast_kernels();
    if (kernels.empty()) GTEST_SKIP() << "no AVX2 or NEON on this CPU";
    const auto& reference = elementwise_kernels_reference();
    std::vector<float> x;
    for (float scale : {1e-6f, 1e-3f, 1.0f, 300.0f, 6e4f})
        for (float v : random_values(200, uint32_t(scale * 1000) + 3, scale)) x.push_back(v);
    for (float v : {0.0f, -0.0f, 1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65504.0f, 65519.0f,
                    65520.0f, 1e6f, -1e6f, 5.96e-8f, 2.98e-8f, 2.99e-8f, 1e-9f, 6.1e-5f,
                    std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::denorm_min()})
        x.push_back(v);
    x.push_back(std::numeric_limits<float>::quiet_NaN());
    for (const auto& [level, fast] : kernels)
        for (int64_t n : {int64_t(1), int64_t(7), int64_t(8), int64_t(17), int64_t(x.size())}) {
            std::vector<uint16_t> expected(static_cast<size_t>(n)),
                got(static_cast<size_t>(n), 0x1234);
            // The last n values, so that every length ends on the specials.
            const float* from = x.data() + x.size() - size_t(n);
            reference.to_f16(from, n, expected.data());
            fast->to_f16(from, n, got.data());
            for (int64_t i = 0; i < n; ++i) {
                if (std::isnan(from[i])) {
                    EXPECT_EQ(got[size_t(i)] & 0x7c00, 0x7c00) << level;
                    EXPECT_NE(got[size_t(i)] & 0x03ff, 0) << level;
                } else {
                    ASSERT_EQ(got[size_t(i)], expected[size_t(i)])
                        << level << " n " << n << " value " << from[i];
                }
            }
        }
}

}  // namespace
}  // namespace uma::cpu::detail

namespace uma {
namespace {

// Rope keeps the angles of its last call; calls with other positions or parameters must not reuse
// them. Each call is checked against a backend that has seen nothing before.
TEST(ElementwiseRows, RopeAnglesFollowThePositionsAndParameters) {
    RopeParams base;
    base.n_rot = 8;
    RopeParams other = base;
    other.freq_base = 500000.0f;
    const std::vector<int32_t> first = {0, 1, 2}, second = {7, 8, 9};
    auto backend = make_cpu_backend(1);
    for (const auto& [positions, params] :
         {std::pair{&first, &base}, std::pair{&second, &base}, std::pair{&second, &other},
          std::pair{&first, &other}, std::pair{&first, &base}}) {
        auto x = std::vector<float>(3 * 2 * 8, 0.5f);
        for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 5) - 2.0f;
        auto expected = x;
        backend->rope(x.data(), 3, 2, 8, positions->data(), *params);
        make_cpu_backend(1)->rope(expected.data(), 3, 2, 8, positions->data(), *params);
        EXPECT_EQ(x, expected) << "positions from " << (*positions)[0] << ", base "
                               << params->freq_base;
    }
}

}  // namespace
}  // namespace uma
