// The AVX2, AVX-512 and NEON attention kernels against the scalar ones, on random cache rows of
// both cache types, head dimensions with and without a fixed-size kernel, head counts around the
// group of four, and a ring buffer that wraps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/attention_rows.h"
#include "test_quant_helpers.h"
#include "uma/core/fp16.h"

namespace uma::cpu::detail {
namespace {

// The kernels of one instruction set, or nullptr (with the reason) where this CPU lacks it.
const AttentionRowKernels* simd_kernels(SimdLevel level, GgmlType type) {
    if (!runs_kernels_of(cpu_simd_level(), level)) return nullptr;
    switch (level) {
        case SimdLevel::avx512:
            return attention_row_kernels_avx512(type);
        case SimdLevel::avx2:
            return attention_row_kernels_avx2(type);
        case SimdLevel::neon:
            return attention_row_kernels_neon(type);
        case SimdLevel::scalar:
            break;
    }
    return nullptr;
}

class AttentionRowsSimd : public ::testing::TestWithParam<SimdLevel> {};

TEST_P(AttentionRowsSimd, KernelsMatchTheScalarOnes) {
    if (!runs_kernels_of(cpu_simd_level(), GetParam()))
        GTEST_SKIP() << "this CPU lacks the instruction set";
    for (GgmlType type : {GgmlType::F16, GgmlType::F32}) {
        const AttentionRowKernels* reference = attention_row_kernels(type, SimdLevel::scalar);
        const AttentionRowKernels* fast = simd_kernels(GetParam(), type);
        ASSERT_NE(reference, nullptr);
        ASSERT_NE(fast, nullptr);
        for (int64_t dim : {64, 128, 96, 80, 192, 256, 48, 72, 5}) {
            for (int heads : {1, 3, 4, 6, 7, 8, 12, 15, 16, 19, 32})
                for (int64_t n : {29, 70}) {
                    // Rows 60 .. 60 + n - 1 wrap past 101; 70 keys are two whole tiles of 32 and
                    // part of a third for the kernels that transpose them.
                    const int64_t ring = 101, first = 60;
                    const size_t row_bytes = size_t(dim) * (type == GgmlType::F16 ? 2 : 4);
                    const auto rows =
                        test::cache_bytes(type, test::gaussian_values(ring * dim, uint32_t(dim)));
                    const CacheRows view{rows.data(), row_bytes, first, ring};
                    const auto q = test::gaussian_values(dim * heads, 9);
                    std::vector<float> s_ref(size_t(heads * n)), s_fast(size_t(heads * n));
                    reference->scores(view, n, q.data(), dim, heads, dim, s_ref.data(), n);
                    fast->scores(view, n, q.data(), dim, heads, dim, s_fast.data(), n);
                    for (size_t i = 0; i < s_ref.size(); ++i)
                        ASSERT_NEAR(s_fast[i], s_ref[i], 1e-4 * std::sqrt(double(dim)))
                            << type_name(type) << " dim " << dim << " heads " << heads << " n "
                            << n;
                    const auto weights = test::gaussian_values(heads * n, 4);
                    std::vector<float> o_ref(size_t(heads * dim), NAN),
                        o_fast(size_t(heads * dim), NAN);
                    reference->weighted_sum(view, n, weights.data(), n, heads, dim, o_ref.data(),
                                            dim);
                    fast->weighted_sum(view, n, weights.data(), n, heads, dim, o_fast.data(), dim);
                    for (size_t i = 0; i < o_ref.size(); ++i)
                        ASSERT_NEAR(o_fast[i], o_ref[i], 1e-4 * std::sqrt(double(n)))
                            << type_name(type) << " dim " << dim << " heads " << heads << " n "
                            << n;
                }
        }
    }
}

TEST_P(AttentionRowsSimd, MaximumIsExact) {
    if (!runs_kernels_of(cpu_simd_level(), GetParam()))
        GTEST_SKIP() << "this CPU lacks the instruction set";
    const AttentionRowKernels* fast = simd_kernels(GetParam(), GgmlType::F16);
    ASSERT_NE(fast, nullptr);
    for (int64_t n : {1, 7, 8, 15, 16, 17, 33, 100}) {
        for (int64_t at = 0; at < n; at += std::max<int64_t>(1, n / 5)) {
            auto x = test::gaussian_values(n, uint32_t(n + at));
            for (auto& v : x) v = -std::fabs(v) - 1.0f;  // all negative, as softmax scores can be
            x[size_t(at)] = -0.5f;
            EXPECT_EQ(fast->max(x.data(), n), -0.5f) << "n " << n << " at " << at;
        }
    }
}

TEST_P(AttentionRowsSimd, ExponentialMatchesTheLibrary) {
    if (!runs_kernels_of(cpu_simd_level(), GetParam()))
        GTEST_SKIP() << "this CPU lacks the instruction set";
    const AttentionRowKernels* reference = attention_row_kernels(GgmlType::F16, SimdLevel::scalar);
    const AttentionRowKernels* fast = simd_kernels(GetParam(), GgmlType::F16);
    ASSERT_NE(fast, nullptr);
    for (int64_t n : {1, 15, 16, 17, 100}) {
        // Softmax arguments: x - max <= 0, down to where the terms no longer matter.
        auto x = test::gaussian_values(n, uint32_t(n), 10.0f);
        for (auto& v : x) v = 3.0f - std::fabs(v);
        x[0] = -1000.0f;  // underflows
        auto y = x;
        const float max = 3.0f;
        const float sum_ref = reference->exp_sum(x.data(), n, max);
        const float sum_fast = fast->exp_sum(y.data(), n, max);
        EXPECT_NEAR(sum_fast, sum_ref, 4e-6 * sum_ref + 1e-30);
        for (int64_t i = 0; i < n; ++i)
            EXPECT_NEAR(y[size_t(i)], x[size_t(i)], 4e-6 * x[size_t(i)] + 1e-30) << "at " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Levels, AttentionRowsSimd,
                         ::testing::Values(SimdLevel::avx2, SimdLevel::avx512, SimdLevel::neon),
                         [](const ::testing::TestParamInfo<SimdLevel>& info) {
                             return std::string(simd_level_name(info.param));
                         });

}  // namespace
}  // namespace uma::cpu::detail
