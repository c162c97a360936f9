// The SIMD attention row kernels against the scalar ones, on random rows of every cache type,
// with head dimensions that are and are not multiples of the vector width.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/attention_rows.h"
#include "test_quant_helpers.h"
#include "uma/core/fp16.h"

namespace uma::cpu::detail {
namespace {

std::vector<uint8_t> cache_row(GgmlType type, const std::vector<float>& values) {
    std::vector<uint8_t> row(values.size() * (type == GgmlType::F16 ? 2 : 4));
    for (size_t i = 0; i < values.size(); ++i) {
        if (type == GgmlType::F16) {
            const uint16_t h = fp32_to_fp16(values[i]);
            std::memcpy(row.data() + 2 * i, &h, 2);
        } else {
            std::memcpy(row.data() + 4 * i, &values[i], 4);
        }
    }
    return row;
}

TEST(AttentionRows, SimdKernelsMatchTheScalarOnes) {
    for (GgmlType type : {GgmlType::F16, GgmlType::F32}) {
        const AttentionRowKernels* reference = attention_row_kernels(type, SimdLevel::scalar);
        ASSERT_NE(reference, nullptr);
        for (SimdLevel level : {SimdLevel::avx2, SimdLevel::avx512}) {
            if (cpu_simd_level() < level) continue;
            const AttentionRowKernels* fast = level == SimdLevel::avx512
                                                  ? attention_row_kernels_avx512(type)
                                                  : attention_row_kernels_avx2(type);
            ASSERT_NE(fast, nullptr);
            for (int64_t dim : {64, 72, 128, 5}) {
                for (int heads : {1, 3, 8}) {
                    const auto row = cache_row(type, test::gaussian_values(dim, uint32_t(dim)));
                    const auto q = test::gaussian_values(dim * heads, 9);
                    std::vector<float> s_ref(static_cast<size_t>(heads)),
                        s_fast(static_cast<size_t>(heads));
                    reference->dot(row.data(), q.data(), dim, heads, dim, s_ref.data());
                    fast->dot(row.data(), q.data(), dim, heads, dim, s_fast.data());
                    for (int h = 0; h < heads; ++h)
                        EXPECT_NEAR(s_fast[size_t(h)], s_ref[size_t(h)],
                                    1e-4 * std::sqrt(double(dim)))
                            << type_name(type) << " dim " << dim << " head " << h;
                    const auto weights = test::gaussian_values(heads, 4);
                    auto out_ref = test::gaussian_values(dim * heads, 5);
                    auto out_fast = out_ref;
                    reference->accumulate(row.data(), weights.data(), heads, dim, out_ref.data(),
                                          dim);
                    fast->accumulate(row.data(), weights.data(), heads, dim, out_fast.data(), dim);
                    for (size_t i = 0; i < out_ref.size(); ++i)
                        EXPECT_NEAR(out_fast[i], out_ref[i], 1e-5)
                            << type_name(type) << " dim " << dim;
                }
            }
        }
    }
}

}  // namespace
}  // namespace uma::cpu::detail
