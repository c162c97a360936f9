// Decoding tensors that llama.cpp's quantizer wrote: every quantized tensor of the tiny-llama
// test models must decode close to the same tensor of the F32 original. A decoder that misreads
// any bit field lands far outside these bounds, so passing shows the layouts match ggml's.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "backends/test_quant_helpers.h"
#include "test_data.h"
#include "uma/core/gguf.h"

namespace uma::cpu {
namespace {

struct ModelFile {
    const char* suffix;  // tiny-llama-<suffix>.gguf
    GgmlType main_type;  // a type the file must contain
};

const ModelFile kModels[] = {
    {"F16", GgmlType::F16},       {"BF16", GgmlType::BF16},     {"Q8_0", GgmlType::Q8_0},
    {"Q4_0", GgmlType::Q4_0},     {"Q4_1", GgmlType::Q4_1},     {"Q5_0", GgmlType::Q5_0},
    {"Q5_1", GgmlType::Q5_1},     {"Q2_K", GgmlType::Q2_K},     {"Q3_K_M", GgmlType::Q3_K},
    {"Q4_K_M", GgmlType::Q4_K},   {"Q5_K_M", GgmlType::Q5_K},   {"Q6_K", GgmlType::Q6_K},
    {"IQ4_NL", GgmlType::IQ4_NL}, {"IQ4_XS", GgmlType::IQ4_XS},
};

// Relative RMS error of llama.cpp's quantizers on these weights (measured: F16 2.1e-4, BF16 1.7e-3,
// Q8_0 0.0054, Q6_K 0.018, Q5_* <= 0.043, Q4_* and IQ4_* <= 0.087, Q3_K 0.15, Q2_K 0.30) with
// ~20% headroom. A misread bit field costs far more than that.
double error_bound(GgmlType type) {
    switch (type) {
        case GgmlType::F16:
            return 4e-4;
        case GgmlType::BF16:
            return 3e-3;
        case GgmlType::Q8_0:
            return 0.008;
        case GgmlType::Q6_K:
            return 0.025;
        case GgmlType::Q5_0:
        case GgmlType::Q5_1:
        case GgmlType::Q5_K:
            return 0.055;
        case GgmlType::Q4_0:
        case GgmlType::Q4_1:
        case GgmlType::Q4_K:
        case GgmlType::IQ4_NL:
        case GgmlType::IQ4_XS:
            return 0.1;
        case GgmlType::Q3_K:
            return 0.2;
        case GgmlType::Q2_K:
            return 0.37;
        default:
            return 0.0;
    }
}

std::string model_path(const std::string& suffix) {
    return test::data_path("golden/logits/models/tiny-llama-" + suffix + ".gguf").string();
}

std::vector<float> decode_tensor(const GgufTensorInfo& tensor) {
    std::vector<float> values(static_cast<size_t>(tensor.n_elements()));
    const int64_t row_length = tensor.dim(0);
    const size_t row_bytes = row_size(tensor.type, row_length);
    for (int64_t r = 0; r < tensor.rows(); ++r)
        dequantize_row(tensor.type, tensor.data + size_t(r) * row_bytes,
                       values.data() + size_t(r * row_length), row_length);
    return values;
}

class QuantGgufDecode : public ::testing::TestWithParam<ModelFile> {};

TEST_P(QuantGgufDecode, TensorsMatchTheF32Original) {
    const ModelFile model = GetParam();
    const auto original = GgufFile::open(model_path("F32"));
    const auto file = GgufFile::open(model_path(model.suffix));
    std::set<GgmlType> seen;
    int compared = 0;
    for (const GgufTensorInfo& tensor : file->tensors()) {
        if (tensor.dims.size() < 2) continue;  // norms stay F32 in every file
        const GgufTensorInfo& reference = original->require_tensor(tensor.name);
        ASSERT_EQ(reference.type, GgmlType::F32);
        ASSERT_EQ(reference.n_elements(), tensor.n_elements()) << tensor.name;
        const auto decoded = decode_tensor(tensor);
        const auto* expected = reinterpret_cast<const float*>(reference.data);
        const std::vector<float> expected_values(expected, expected + reference.n_elements());
        const double relative = test::rms_difference(decoded.data(), expected, decoded.size()) /
                                test::rms(expected_values);
        EXPECT_LE(relative, error_bound(tensor.type))
            << tensor.name << " (" << type_name(tensor.type) << ") in " << model.suffix;
        RecordProperty(tensor.name + "." + std::string(type_name(tensor.type)),
                       std::to_string(relative));
        seen.insert(tensor.type);
        ++compared;
    }
    EXPECT_GE(compared, 10);
    EXPECT_TRUE(seen.count(model.main_type))
        << model.suffix << " has no " << type_name(model.main_type) << " tensor";
}

// The kernels on real weights: every row of one projection dotted with a quantized activation,
// SIMD against reference and against the float dot of the decoded row.
TEST_P(QuantGgufDecode, KernelsAgreeOnRealRows) {
    const ModelFile model = GetParam();
    const auto file = GgufFile::open(model_path(model.suffix));
    std::set<GgmlType> checked;
    for (const GgufTensorInfo& tensor : file->tensors()) {
        if (tensor.dims.size() < 2 || checked.count(tensor.type)) continue;
        checked.insert(tensor.type);
        const int64_t n = tensor.dim(0);
        const size_t row_bytes = row_size(tensor.type, n);
        const auto input = test::gaussian_values(n, 77);
        const GgmlType act = activation_type(tensor.type);
        const auto activation = test::quantized(act, input);
        const auto activation_values = test::dequantized(act, activation.data(), n);
        for (int64_t r = 0; r < tensor.rows(); ++r) {
            const uint8_t* row = tensor.data + size_t(r) * row_bytes;
            const auto weights = test::dequantized(tensor.type, row, n);
            double exact = 0, magnitude = 0;
            for (size_t i = 0; i < size_t(n); ++i) {
                exact += double(weights[i]) * activation_values[i];
                magnitude += std::fabs(double(weights[i]) * activation_values[i]);
            }
            float reference = 0, fast = 0;
            vec_dot_reference(tensor.type)(n, &reference, row, activation.data());
            vec_dot_kernel(tensor.type)(n, &fast, row, activation.data());
            ASSERT_NEAR(reference, exact, 1e-5 * magnitude) << tensor.name << " row " << r;
            ASSERT_NEAR(fast, exact, 1e-5 * magnitude) << tensor.name << " row " << r;
        }
    }
    EXPECT_TRUE(checked.count(model.main_type));
}

INSTANTIATE_TEST_SUITE_P(Quant, QuantGgufDecode, ::testing::ValuesIn(kModels),
                         [](const auto& info) { return std::string(info.param.suffix); });

}  // namespace
}  // namespace uma::cpu
