// The vectorized elementwise kernels against the plain loops, on random rows of many lengths
// (whole vectors and tails) and on inputs far out in both directions.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
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

const ElementwiseKernels* fast_kernels() {
    return cpu_simd_level() >= SimdLevel::avx512 ? elementwise_kernels_avx512() : nullptr;
}

TEST(ElementwiseRows, Avx512SwigluMatchesTheReference) {
    const ElementwiseKernels* fast = fast_kernels();
    if (fast == nullptr) GTEST_SKIP() << "no AVX-512 on this CPU";
    const auto& reference = elementwise_kernels_reference();
    for (int64_t n : {1, 15, 16, 17, 100, 5632}) {
        for (float scale : {0.1f, 3.0f, 40.0f}) {
            auto gate = random_values(n, uint32_t(n), scale);
            const auto up = random_values(n, uint32_t(n) + 1, 1.0f);
            gate[0] = -200.0f;            // silu -> -0
            if (n > 1) gate[1] = 200.0f;  // silu -> x
            std::vector<float> expected(gate.size()), got(gate.size());
            reference.swiglu(gate.data(), up.data(), n, expected.data());
            fast->swiglu(gate.data(), up.data(), n, got.data());
            for (int64_t i = 0; i < n; ++i)
                // The exponent reduction loses a few bits for large |gate| (about 5e-8 per unit).
                ASSERT_NEAR(got[i], expected[i], 1e-5f * std::fabs(expected[i]) + 1e-30f)
                    << "n " << n << " scale " << scale << " i " << i << " gate " << gate[i];
            // In place, as the transformer calls it.
            fast->swiglu(gate.data(), up.data(), n, gate.data());
            EXPECT_EQ(gate, got);
        }
    }
}

TEST(ElementwiseRows, Avx512RmsNormMatchesTheReference) {
    const ElementwiseKernels* fast = fast_kernels();
    if (fast == nullptr) GTEST_SKIP() << "no AVX-512 on this CPU";
    const auto& reference = elementwise_kernels_reference();
    for (int64_t dim : {1, 7, 8, 31, 64, 100, 2048, 4099}) {
        const auto x = random_values(dim, uint32_t(dim), 5.0f);
        const auto weight = random_values(dim, uint32_t(dim) + 7, 1.0f);
        for (const float* w : {weight.data(), static_cast<const float*>(nullptr)}) {
            std::vector<float> expected(x.size()), got(x.size());
            reference.rms_norm(x.data(), w, dim, 1e-5f, expected.data());
            fast->rms_norm(x.data(), w, dim, 1e-5f, got.data());
            for (int64_t i = 0; i < dim; ++i)
                ASSERT_NEAR(got[i], expected[i], 1e-6f * std::fabs(expected[i]))
                    << "dim " << dim << " i " << i << (w ? " weighted" : "");
        }
    }
    // An all-zero row stays zero (eps keeps the scale finite).
    std::vector<float> zeros(48, 0.0f), out(48, 1.0f);
    fast->rms_norm(zeros.data(), nullptr, 48, 1e-6f, out.data());
    for (float v : out) EXPECT_EQ(v, 0.0f);
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
