// The prepared-activation kernels against the scalar reference dot product, on random rows.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backends/cpu/quant_formats.h"
#include "backends/cpu/quant_prepared.h"
#include "uma/backends/cpu/quant.h"

namespace uma::cpu::detail {
namespace {

TEST(QuantPrepared, Q4_0MatchesTheReferenceOnRandomRows) {
    if (cpu_simd_level() < SimdLevel::avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
    const PreparedKernel* kernel = prepared_kernel_avx512(GgmlType::Q4_0);
    ASSERT_NE(kernel, nullptr);
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    for (int64_t n : {128, 256, 2048, 5632}) {
        std::vector<float> x(n), w(n);
        const int64_t rows = 8;
        std::vector<uint8_t> weights(row_size(GgmlType::Q4_0, n) * rows);
        for (int64_t r = 0; r < rows; ++r) {
            // Rows of very different magnitudes, and some blocks all zero.
            for (auto& v : w) v = normal(rng) * std::pow(10.0f, float(r % 4) - 2);
            if (r == 3) std::fill(w.begin(), w.begin() + 64, 0.0f);
            quantize_row(GgmlType::Q4_0, w.data(), weights.data() + r * row_size(GgmlType::Q4_0, n),
                         n);
        }
        for (auto& v : x) v = normal(rng);
        std::vector<uint8_t> activation(row_size(GgmlType::Q8_0, n));
        quantize_row(GgmlType::Q8_0, x.data(), activation.data(), n);
        // The prepared row sits at the very end of its buffer, and so does the weight matrix:
        // a read past either would be caught by sanitizers.
        std::vector<uint8_t> prepared(kernel->prepared_bytes(n));
        kernel->prepare(activation.data(), prepared.data(), n);
        for (int64_t r = 0; r < rows; ++r) {
            const uint8_t* row = weights.data() + r * row_size(GgmlType::Q4_0, n);
            float fast = 0, reference = 0;
            kernel->dot(n, &fast, row, prepared.data());
            vec_dot_reference(GgmlType::Q4_0)(n, &reference, row, activation.data());
            EXPECT_NEAR(fast, reference, 1e-4 * (std::abs(reference) + 1e-3) + 1e-6)
                << "n " << n << " row " << r;
        }
    }
}

TEST(QuantPrepared, OnlyOfferedForWholeGroups) {
    if (active_simd_level() < SimdLevel::avx512) GTEST_SKIP() << "AVX-512 not active";
    EXPECT_NE(prepared_kernel(GgmlType::Q4_0, 2048), nullptr);
    EXPECT_EQ(prepared_kernel(GgmlType::Q4_0, 64), nullptr);  // stories260K's width
    EXPECT_EQ(prepared_kernel(GgmlType::IQ4_NL, 2048), nullptr);
}

}  // namespace
}  // namespace uma::cpu::detail
