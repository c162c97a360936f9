// Encoding and decoding of the quantization formats: round-trip accuracy, exact decoding of
// hand-assembled blocks, and the errors for unsupported types and lengths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "backends/test_quant_helpers.h"
#include "uma/core/error.h"
#include "uma/core/fp16.h"

namespace uma::cpu {
namespace {

using test::dequantized;
using test::gaussian_values;
using test::quantized;
using test::rms;
using test::rms_difference;

struct RoundTripCase {
    GgmlType type;
    double max_relative_rms_error;  // RMS(decoded - input) / RMS(input) on Gaussian data
};

// Bounds sit ~20% above what the encoders achieve (Q8_0 0.0054, Q4_0 0.087, Q4_K 0.073,
// Q6_K 0.017, Q2_K 0.27, IQ4_XS 0.074, ...), so a regression in any of them shows.
const RoundTripCase kRoundTripCases[] = {
    {GgmlType::F32, 0.0},     {GgmlType::F16, 3e-4},   {GgmlType::BF16, 2.5e-3},
    {GgmlType::Q8_0, 0.007},  {GgmlType::Q8_K, 0.009}, {GgmlType::Q4_0, 0.1},
    {GgmlType::Q4_1, 0.095},  {GgmlType::Q5_0, 0.052}, {GgmlType::Q5_1, 0.046},
    {GgmlType::Q2_K, 0.33},   {GgmlType::Q3_K, 0.18},  {GgmlType::Q4_K, 0.09},
    {GgmlType::Q5_K, 0.045},  {GgmlType::Q6_K, 0.022}, {GgmlType::IQ4_NL, 0.09},
    {GgmlType::IQ4_XS, 0.09},
};

class QuantRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(QuantRoundTrip, DecodedValuesApproximateTheInput) {
    const auto [type, bound] = GetParam();
    const int64_t n = 256 * 64;
    const auto input = gaussian_values(n, 1234, 0.02f);  // weight-like magnitudes
    const auto bytes = quantized(type, input);
    ASSERT_EQ(bytes.size(), row_size(type, n));
    const auto output = dequantized(type, bytes.data(), n);
    const double relative = rms_difference(input.data(), output.data(), size_t(n)) / rms(input);
    RecordProperty("relative_rms_error", std::to_string(relative));
    EXPECT_LE(relative, bound) << type_name(type);
    if (bound > 0) {
        EXPECT_GT(relative, 0.0) << "lossy format decoded exactly: input unused?";
    }
}

TEST_P(QuantRoundTrip, ZeroRowStaysZero) {
    const GgmlType type = GetParam().type;
    const std::vector<float> zeros(512, 0.0f);
    const auto output = dequantized(type, quantized(type, zeros).data(), 512);
    for (float v : output) ASSERT_EQ(v, 0.0f) << type_name(type);
}

TEST_P(QuantRoundTrip, HandlesOutliersAndConstantRows) {
    const GgmlType type = GetParam().type;
    auto input = gaussian_values(512, 99);
    input[3] = 40.0f;     // one huge positive value
    input[300] = -55.0f;  // and a huge negative one in another super-block
    for (int i = 256; i < 288; ++i) input[size_t(i)] = -1.5f;  // a constant sub-block
    const auto output = dequantized(type, quantized(type, input).data(), 512);
    for (size_t i = 0; i < output.size(); ++i) ASSERT_TRUE(std::isfinite(output[i])) << i;
    // The extremes survive with the format's relative precision.
    EXPECT_NEAR(output[3], 40.0f, 40.0f * 0.15f) << type_name(type);
    EXPECT_NEAR(output[300], -55.0f, 55.0f * 0.15f) << type_name(type);
}

INSTANTIATE_TEST_SUITE_P(Quant, QuantRoundTrip, ::testing::ValuesIn(kRoundTripCases),
                         [](const auto& info) { return std::string(type_name(info.param.type)); });

// ---- hand-assembled blocks ----

void put_u16(std::vector<uint8_t>& bytes, uint16_t v) {
    bytes.push_back(uint8_t(v & 0xFF));
    bytes.push_back(uint8_t(v >> 8));
}

constexpr uint16_t kHalfOne = 0x3C00, kHalfHalf = 0x3800, kHalfQuarter = 0x3400, kHalfTwo = 0x4000;

// Every half converts to the single it stands for and back (AArch64 converts with the
// instruction, x86 with the portable code): exact, subnormals included; NaNs stay NaNs.
TEST(HalfPrecision, EveryHalfConvertsExactlyAndBack) {
    EXPECT_EQ(fp16_to_fp32(0x3C00), 1.0f);
    EXPECT_EQ(fp16_to_fp32(0xC000), -2.0f);
    EXPECT_EQ(fp16_to_fp32(0x7BFF), 65504.0f);
    EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(fp16_to_fp32(0x8000), 0.0f);
    EXPECT_TRUE(std::signbit(fp16_to_fp32(0x8000)));
    EXPECT_EQ(fp16_to_fp32(0xFC00), -std::numeric_limits<float>::infinity());
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = fp16_to_fp32(uint16_t(h));
        if ((h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0) {
            EXPECT_TRUE(std::isnan(f)) << std::hex << h;
            continue;
        }
        ASSERT_EQ(fp32_to_fp16(f), h) << std::hex << h << " -> " << f;
    }
}

TEST(QuantHandBuilt, Q4_0) {
    std::vector<uint8_t> block;
    put_u16(block, kHalfHalf);  // d = 0.5
    for (int j = 0; j < 16; ++j) block.push_back(uint8_t(j | (15 - j) << 4));
    ASSERT_EQ(block.size(), 18u);
    const auto v = dequantized(GgmlType::Q4_0, block.data(), 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(v[size_t(j)], 0.5f * float(j - 8)) << j;
        EXPECT_EQ(v[size_t(j + 16)], 0.5f * float(7 - j)) << j;
    }
    EXPECT_EQ(v[0], -4.0f);
    EXPECT_EQ(v[31], -4.0f);
    EXPECT_EQ(v[16], 3.5f);
}

TEST(QuantHandBuilt, Q8_0) {
    std::vector<uint8_t> block;
    put_u16(block, kHalfQuarter);  // d = 0.25
    for (int j = 0; j < 32; ++j) block.push_back(uint8_t(int8_t(j - 16)));
    const auto v = dequantized(GgmlType::Q8_0, block.data(), 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(v[size_t(j)], 0.25f * float(j - 16)) << j;
    EXPECT_EQ(v[0], -4.0f);
    EXPECT_EQ(v[31], 3.75f);
}

TEST(QuantHandBuilt, Q5_0) {
    std::vector<uint8_t> block;
    put_u16(block, kHalfOne);
    for (uint8_t b : {0x0F, 0x00, 0x00, 0x80}) block.push_back(b);  // fifth bits: 0-3 and 31
    for (int j = 0; j < 16; ++j) block.push_back(uint8_t(j | (15 - j) << 4));
    const auto v = dequantized(GgmlType::Q5_0, block.data(), 32);
    EXPECT_EQ(v[0], 0.0f);     // (0 | 16) - 16
    EXPECT_EQ(v[3], 3.0f);     // (3 | 16) - 16
    EXPECT_EQ(v[4], -12.0f);   // 4 - 16
    EXPECT_EQ(v[16], -1.0f);   // 15 - 16
    EXPECT_EQ(v[31], 0.0f);    // (0 | 16) - 16
    EXPECT_EQ(v[30], -15.0f);  // 1 - 16
}

// Q4_K with scales/mins that use the high bits of the 12-byte packing: d = 1, dmin = 0.5,
// scales {1,2,3,4,5,37,7,8}, mins {0,2,4,6,8,10,50,14}, every quant byte 0x3C (low 12, high 3).
TEST(QuantHandBuilt, Q4_K) {
    std::vector<uint8_t> block;
    put_u16(block, kHalfOne);
    put_u16(block, kHalfHalf);
    for (uint8_t b : {0x01, 0x82, 0x03, 0x04,   // scales 0-3, top bits of scales 4-7 (37 >> 4 = 2)
                      0x00, 0x02, 0xC4, 0x06,   // mins 0-3, top bits of mins 4-7 (50 >> 4 = 3)
                      0x85, 0xA5, 0x27, 0xE8})  // low nibbles of scales 4-7 | mins 4-7 << 4
        block.push_back(b);
    block.resize(144, 0x3C);
    const int scales[8] = {1, 2, 3, 4, 5, 37, 7, 8};
    const int mins[8] = {0, 2, 4, 6, 8, 10, 50, 14};
    const auto v = dequantized(GgmlType::Q4_K, block.data(), 256);
    for (int e = 0; e < 256; ++e) {
        const int sub = e / 32;
        const int q = sub % 2 == 0 ? 12 : 3;  // first half of each 64 uses the low nibbles
        EXPECT_EQ(v[size_t(e)], float(scales[sub]) * float(q) - 0.5f * float(mins[sub])) << e;
    }
    EXPECT_EQ(v[0], 12.0f);
    EXPECT_EQ(v[32], 5.0f);     // 2 * 3 - 0.5 * 2
    EXPECT_EQ(v[160], 106.0f);  // 37 * 3 - 0.5 * 10
    EXPECT_EQ(v[200], 59.0f);   // 7 * 12 - 0.5 * 50
    EXPECT_EQ(v[255], 17.0f);   // 8 * 3 - 0.5 * 14
}

// Q6_K: d = 0.5, scales 1..15 and -3, every ql byte 0x5A, every qh byte 0xE4 (high bit pairs
// 0, 1, 2, 3). Per 128 elements the quants are then 10, 26, 37, 53, i.e. -22, -6, 5, 21.
TEST(QuantHandBuilt, Q6_K) {
    std::vector<uint8_t> block(128, 0x5A);
    block.resize(192, 0xE4);
    for (int j = 0; j < 15; ++j) block.push_back(uint8_t(j + 1));
    block.push_back(uint8_t(int8_t(-3)));
    put_u16(block, kHalfHalf);
    ASSERT_EQ(block.size(), 210u);
    const auto v = dequantized(GgmlType::Q6_K, block.data(), 256);
    const int quants[4] = {-22, -6, 5, 21};
    for (int e = 0; e < 256; ++e) {
        const int scale = e / 16 == 15 ? -3 : e / 16 + 1;
        EXPECT_EQ(v[size_t(e)], 0.5f * float(scale) * float(quants[(e % 128) / 32])) << e;
    }
    EXPECT_EQ(v[0], -11.0f);
    EXPECT_EQ(v[40], -9.0f);    // scale 3, quant -6
    EXPECT_EQ(v[70], 12.5f);    // scale 5, quant 5
    EXPECT_EQ(v[130], -99.0f);  // scale 9, quant -22
    EXPECT_EQ(v[255], -31.5f);  // scale -3, quant 21
}

// Q3_K: d = 1; scale bytes chosen so sub-block j has scale j - 8 (biased j + 24); all low bits 1,
// high bits set only for the first 32 elements: quants 1 there, 1 - 4 = -3 elsewhere.
TEST(QuantHandBuilt, Q3_K) {
    std::vector<uint8_t> block(32, 0x01);  // bit 0 of every hmask byte: elements 0..31
    block.resize(96, 0x55);                // every 2-bit field = 1
    // Biased scales j + 24 = 24..39: low nibbles (j + 24) & 15, high bits (j + 24) >> 4.
    uint8_t scales[12] = {};
    for (int j = 0; j < 16; ++j) {
        const int biased = j + 24;
        if (j < 8)
            scales[j] = uint8_t(biased & 0xF);
        else
            scales[j - 8] |= uint8_t((biased & 0xF) << 4);
        scales[8 + j % 4] |= uint8_t((biased >> 4) << (2 * (j / 4)));
    }
    const uint8_t expected_scale_bytes[12] = {0x08, 0x19, 0x2A, 0x3B, 0x4C, 0x5D,
                                              0x6E, 0x7F, 0xA5, 0xA5, 0xA5, 0xA5};
    ASSERT_EQ(std::memcmp(scales, expected_scale_bytes, 12), 0);
    block.insert(block.end(), scales, scales + 12);
    put_u16(block, kHalfOne);
    ASSERT_EQ(block.size(), 110u);
    const auto v = dequantized(GgmlType::Q3_K, block.data(), 256);
    for (int e = 0; e < 256; ++e) {
        const int q = e < 32 ? 1 : -3;
        EXPECT_EQ(v[size_t(e)], float(e / 16 - 8) * float(q)) << e;
    }
    EXPECT_EQ(v[0], -8.0f);
    EXPECT_EQ(v[31], -7.0f);
    EXPECT_EQ(v[255], -21.0f);  // scale 7, quant -3
}

TEST(QuantHandBuilt, IQ4_NL) {
    std::vector<uint8_t> block;
    put_u16(block, kHalfTwo);  // d = 2
    for (int j = 0; j < 16; ++j) block.push_back(uint8_t(j | (15 - j) << 4));
    const auto v = dequantized(GgmlType::IQ4_NL, block.data(), 32);
    const int grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(v[size_t(j)], 2.0f * float(grid[j])) << j;
        EXPECT_EQ(v[size_t(j + 16)], 2.0f * float(grid[15 - j])) << j;
    }
    EXPECT_EQ(v[0], -254.0f);
    EXPECT_EQ(v[16], 226.0f);
}

// IQ4_XS: d = 0.5; sub-block scales -32, -1, 0, 31, 5, 6, 7, 8 (biased 0, 31, 32, 63, 37..40).
TEST(QuantHandBuilt, IQ4_XS) {
    const int biased[8] = {0, 31, 32, 63, 37, 38, 39, 40};
    uint16_t scales_h = 0;
    uint8_t scales_l[4] = {};
    for (int ib = 0; ib < 8; ++ib) {
        scales_l[ib / 2] |= uint8_t((biased[ib] & 0xF) << (4 * (ib % 2)));
        scales_h |= uint16_t((biased[ib] >> 4) << (2 * ib));
    }
    EXPECT_EQ(scales_h, 0xAAE4);  // high bits 0, 1, 2, 3, 2, 2, 2, 2
    std::vector<uint8_t> block;
    put_u16(block, kHalfHalf);
    put_u16(block, scales_h);
    block.insert(block.end(), scales_l, scales_l + 4);
    block.resize(136, 0xF0);  // low nibble 0 (-127), high nibble 15 (113)
    const auto v = dequantized(GgmlType::IQ4_XS, block.data(), 256);
    for (int e = 0; e < 256; ++e) {
        const float grid = e % 32 < 16 ? -127.0f : 113.0f;
        EXPECT_EQ(v[size_t(e)], 0.5f * float(biased[e / 32] - 32) * grid) << e;
    }
    EXPECT_EQ(v[0], 2032.0f);     // 0.5 * -32 * -127
    EXPECT_EQ(v[100], -1968.5f);  // sub-block 3 (scale 31), low nibble: 0.5 * 31 * -127
    EXPECT_EQ(v[127], 1751.5f);   // sub-block 3, high nibble: 0.5 * 31 * 113
}

// ---- encoders that must match ggml's exactly ----

TEST(QuantEncode, Q8_0MatchesGgmlReference) {
    std::vector<float> x(32);
    for (int j = 0; j < 32; ++j) x[size_t(j)] = 0.1f * float(j - 10);  // amax 2.1 at j = 31
    const auto bytes = quantized(GgmlType::Q8_0, x);
    const float d = x[31] / 127.0f;
    uint16_t stored_d;
    std::memcpy(&stored_d, bytes.data(), 2);
    EXPECT_EQ(stored_d, fp32_to_fp16(d));
    for (int j = 0; j < 32; ++j)
        EXPECT_EQ(int8_t(bytes[size_t(2 + j)]), int8_t(std::round(x[size_t(j)] * (1.0f / d)))) << j;
    EXPECT_EQ(int8_t(bytes[2 + 31]), 127);
    EXPECT_EQ(int8_t(bytes[2 + 10]), 0);
}

TEST(QuantEncode, Q4_0MapsTheExtremeToMinusEight) {
    std::vector<float> x(32, 0.0f);
    x[5] = -3.0f;  // the extreme: d = -3 / -8 = 0.375, stored q = 0
    x[6] = 1.5f;   // 1.5 / 0.375 = 4 -> q = 12
    const auto bytes = quantized(GgmlType::Q4_0, x);
    const auto v = dequantized(GgmlType::Q4_0, bytes.data(), 32);
    EXPECT_EQ(v[5], -3.0f);
    EXPECT_EQ(v[6], 1.5f);
    EXPECT_EQ(v[0], 0.0f);
    EXPECT_EQ(bytes[2 + 5] & 0xF, 0);
}

TEST(QuantEncode, Q8_KKeepsBlockSums) {
    const auto x = gaussian_values(512, 7);
    const auto bytes = quantized(GgmlType::Q8_K, x);
    ASSERT_EQ(bytes.size(), 2u * 292u);
    for (int b = 0; b < 2; ++b) {
        const uint8_t* block = bytes.data() + 292 * b;
        float d;
        std::memcpy(&d, block, 4);
        EXPECT_GT(std::fabs(d), 0.0f);
        int min_q = 127;
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) {
                sum += int8_t(block[4 + 16 * g + i]);
                min_q = std::min<int>(min_q, int8_t(block[4 + 16 * g + i]));
            }
            int16_t stored;
            std::memcpy(&stored, block + 4 + 256 + 2 * g, 2);
            EXPECT_EQ(stored, sum) << "block " << b << " group " << g;
        }
        EXPECT_GE(min_q, -127);  // never -128: the SIMD sign tricks rely on it
    }
}

// ---- errors and metadata ----

TEST(QuantErrors, UnsupportedTypesThrowNamingTheType) {
    float out[256];
    uint8_t bytes[512] = {};
    for (GgmlType type : {GgmlType::IQ2_XXS, GgmlType::Q8_1, GgmlType::I32, GgmlType::F64}) {
        try {
            dequantize_row(type, bytes, out, 256);
            FAIL() << "no error for " << type_name(type);
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(type_name(type)), std::string::npos) << e.what();
        }
        EXPECT_THROW(quantize_row(type, out, bytes, 256), Error);
        EXPECT_THROW(vec_dot_reference(type), Error);
        EXPECT_THROW(vec_dot_kernel(type), Error);
        EXPECT_THROW(activation_type(type), Error);
    }
    EXPECT_THROW(dequantize_row(static_cast<GgmlType>(99), bytes, out, 256), Error);
}

TEST(QuantErrors, RowLengthMustBeAMultipleOfTheBlock) {
    float values[300] = {};
    uint8_t bytes[1024] = {};
    EXPECT_THROW(quantize_row(GgmlType::Q4_0, values, bytes, 33), Error);
    EXPECT_THROW(dequantize_row(GgmlType::Q4_K, bytes, values, 128), Error);
    EXPECT_NO_THROW(dequantize_row(GgmlType::F16, bytes, values, 3));
}

TEST(QuantErrors, ActivationFormatsAreNotWeights) {
    EXPECT_THROW(vec_dot_reference(GgmlType::Q8_K), Error);
    EXPECT_THROW(vec_dot_kernel(GgmlType::Q8_K), Error);
}

TEST(QuantActivationType, PairsEachWeightTypeWithItsActivationFormat) {
    for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16})
        EXPECT_EQ(activation_type(t), GgmlType::F32) << type_name(t);
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                       GgmlType::Q8_0, GgmlType::IQ4_NL})
        EXPECT_EQ(activation_type(t), GgmlType::Q8_0) << type_name(t);
    for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                       GgmlType::Q6_K, GgmlType::IQ4_XS})
        EXPECT_EQ(activation_type(t), GgmlType::Q8_K) << type_name(t);
}

}  // namespace
}  // namespace uma::cpu
