#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "test_data.h"
#include "uma/core/error.h"
#include "uma/core/gguf.h"

namespace uma {
namespace {

std::vector<uint8_t> small_file() {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_u32("llama.block_count", 2);
    w.set_f32("llama.rope.freq_base", 10000.0f);
    w.set_bool("flag", true);
    w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
    std::vector<GgufValue> inner = {
        GgufValue::make_array(GgufValueType::INT32, {GgufValue::make_int(GgufValueType::INT32, 1),
                                                     GgufValue::make_int(GgufValueType::INT32, 2)}),
        GgufValue::make_array(GgufValueType::INT32, {})};
    w.set("nested", GgufValue::make_array(GgufValueType::ARRAY, inner));
    std::vector<float> data(8 * 3);
    for (size_t i = 0; i < data.size(); ++i) data[i] = float(i);
    w.add_tensor("weight", GgmlType::F32, {8, 3}, data.data());
    w.add_tensor("bias", GgmlType::F32, {8}, data.data());
    return w.to_bytes();
}

std::string error_of(const std::vector<uint8_t>& bytes) {
    try {
        GgufFile::from_memory(bytes, "test.gguf");
    } catch (const Error& e) {
        return e.what();
    }
    return "<no error>";
}

// Offset of the first byte of the tensor-info section in small_file().
size_t tensor_info_offset(const std::vector<uint8_t>& bytes) {
    const std::string name = "weight";
    for (size_t i = 0; i + name.size() < bytes.size(); ++i)
        if (std::memcmp(bytes.data() + i, name.data(), name.size()) == 0) return i - 8;
    return 0;
}

TEST(Gguf, RoundTripsMetadataAndTensors) {
    const auto bytes = small_file();
    auto f = GgufFile::from_memory(bytes);
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->get_string("general.architecture"), "llama");
    EXPECT_EQ(f->require_int("llama.block_count"), 2);
    EXPECT_FLOAT_EQ(f->get_float("llama.rope.freq_base", 0), 10000.0);
    EXPECT_TRUE(f->get_bool("flag", false));
    const auto* tokens = f->find("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    ASSERT_EQ(tokens->array.size(), 3u);
    EXPECT_EQ(tokens->array[2].string_value, "c");
    const auto* nested = f->find("nested");
    ASSERT_NE(nested, nullptr);
    ASSERT_EQ(nested->array.size(), 2u);
    EXPECT_EQ(nested->array[0].array[1].as_int("x"), 2);
    EXPECT_TRUE(nested->array[1].array.empty());
    ASSERT_EQ(f->tensors().size(), 2u);
    const auto& w = f->require_tensor("weight");
    EXPECT_EQ(w.dims, (std::vector<int64_t>{8, 3}));
    EXPECT_EQ(w.rows(), 3);
    EXPECT_EQ(w.n_bytes, 96u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data) % 32, reinterpret_cast<uintptr_t>(bytes.data()) % 32);
    float v;
    std::memcpy(&v, w.data + 4 * 23, 4);
    EXPECT_EQ(v, 23.0f);
    EXPECT_EQ(f->keys().front(), "general.architecture");
}

TEST(Gguf, ReadsTheRealDemoModelByMmap) {
    auto f = GgufFile::open(test::data_path("models/stories260K.gguf").string());
    EXPECT_EQ(f->get_string("general.architecture"), "llama");
    EXPECT_EQ(f->tensors().size(), 48u);
    EXPECT_EQ(f->require_tensor("token_embd.weight").dims, (std::vector<int64_t>{64, 512}));
}

TEST(Gguf, WritesAFileAtomically) {
    auto path = std::filesystem::temp_directory_path() / ("uma_test_writer_" + std::to_string(::getpid()) + ".gguf");
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    float x[4] = {1, 2, 3, 4};
    w.add_tensor("t", GgmlType::F32, {4}, x);
    w.set_alignment(64);
    w.write(path.string());
    EXPECT_FALSE(std::filesystem::exists(path.string() + ".partial"));
    auto f = GgufFile::open(path.string());
    EXPECT_EQ(f->alignment(), 64u);
    EXPECT_EQ(f->data_offset() % 64, 0u);
    std::filesystem::remove(path);
}

TEST(Gguf, RejectsBadMagic) {
    auto bytes = small_file();
    std::memcpy(bytes.data(), "GGML", 4);
    EXPECT_NE(error_of(bytes).find("bad magic 'GGML'"), std::string::npos) << error_of(bytes);
}

TEST(Gguf, RejectsUnsupportedVersions) {
    auto bytes = small_file();
    bytes[4] = 1;
    EXPECT_NE(error_of(bytes).find("GGUF version 1 is not supported"), std::string::npos);
    bytes[4] = 7;
    EXPECT_NE(error_of(bytes).find("unsupported GGUF version 7"), std::string::npos);
}

TEST(Gguf, AcceptsVersion2) {
    auto bytes = small_file();
    bytes[4] = 2;
    EXPECT_EQ(GgufFile::from_memory(bytes)->version(), 2u);
}

TEST(Gguf, RejectsEveryTruncation) {
    const auto bytes = small_file();
    // Cutting the file anywhere must give a clear error, never a crash or a silent success.
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
        std::vector<uint8_t> part(bytes.begin(), bytes.begin() + cut);
        const std::string err = error_of(part);
        ASSERT_NE(err, "<no error>") << "cut at " << cut;
        ASSERT_TRUE(err.find("truncated") != std::string::npos ||
                    err.find("cannot fit") != std::string::npos ||
                    err.find("remain") != std::string::npos ||
                    err.find("outside the file") != std::string::npos)
            << "cut at " << cut << ": " << err;
    }
}

TEST(Gguf, RejectsImpossibleCounts) {
    auto bytes = small_file();
    const uint64_t huge = uint64_t(1) << 60;
    std::memcpy(bytes.data() + 8, &huge, 8);
    EXPECT_NE(error_of(bytes).find("tensor count 1152921504606846976 cannot fit"), std::string::npos);
    bytes = small_file();
    std::memcpy(bytes.data() + 16, &huge, 8);
    EXPECT_NE(error_of(bytes).find("metadata count 1152921504606846976 cannot fit"),
              std::string::npos);
}

TEST(Gguf, RejectsOversizedStringLength) {
    auto bytes = small_file();
    const uint64_t huge = uint64_t(1) << 40;
    std::memcpy(bytes.data() + 24, &huge, 8);  // length of the first key
    EXPECT_NE(error_of(bytes).find("claims a length of 1099511627776 bytes"), std::string::npos)
        << error_of(bytes);
}

TEST(Gguf, RejectsOversizedArrayLength) {
    GgufWriter w;
    w.set_i32_array("arr", {1, 2, 3});
    auto bytes = w.to_bytes();
    // header 24 + key (8+3) + type 4 + item type 4 -> count at 43
    const uint64_t huge = uint64_t(1) << 50;
    std::memcpy(bytes.data() + 43, &huge, 8);
    EXPECT_NE(error_of(bytes).find("claims 1125899906842624 array items"), std::string::npos)
        << error_of(bytes);
}

TEST(Gguf, RejectsUnknownValueType) {
    GgufWriter w;
    w.set_u32("k", 1);
    auto bytes = w.to_bytes();
    const uint32_t bad = 99;
    std::memcpy(bytes.data() + 24 + 8 + 1, &bad, 4);
    EXPECT_NE(error_of(bytes).find("metadata key 'k' has unknown value type 99"), std::string::npos);
}

TEST(Gguf, RejectsUnknownTensorType) {
    auto bytes = small_file();
    const size_t at = tensor_info_offset(bytes) + 8 + 6 + 4 + 16;  // name, n_dims, dims -> type
    const uint32_t bad = 77;
    std::memcpy(bytes.data() + at, &bad, 4);
    EXPECT_NE(error_of(bytes).find("tensor 'weight' has unknown tensor type id 77"),
              std::string::npos)
        << error_of(bytes);
}

TEST(Gguf, RejectsBadDimensions) {
    auto bytes = small_file();
    const size_t dims_at = tensor_info_offset(bytes) + 8 + 6;
    uint32_t five = 5;
    std::memcpy(bytes.data() + dims_at, &five, 4);
    EXPECT_NE(error_of(bytes).find("tensor 'weight' has 5 dimensions"), std::string::npos);

    bytes = small_file();
    uint64_t big = uint64_t(1) << 40;
    std::memcpy(bytes.data() + dims_at + 4, &big, 8);
    std::memcpy(bytes.data() + dims_at + 12, &big, 8);
    EXPECT_NE(error_of(bytes).find("dimensions whose product overflows"), std::string::npos)
        << error_of(bytes);

    bytes = small_file();
    uint64_t zero = 0;
    std::memcpy(bytes.data() + dims_at + 4, &zero, 8);
    EXPECT_NE(error_of(bytes).find("invalid dimension 0"), std::string::npos);
}

TEST(Gguf, RejectsMisalignedAndOutOfFileTensorData) {
    auto bytes = small_file();
    const size_t offset_at = tensor_info_offset(bytes) + 8 + 6 + 4 + 16 + 4;
    uint64_t misaligned = 4;
    std::memcpy(bytes.data() + offset_at, &misaligned, 8);
    EXPECT_NE(error_of(bytes).find("data offset 4 is not aligned to 32 bytes"), std::string::npos);
    uint64_t outside = 32 * 1000;
    std::memcpy(bytes.data() + offset_at, &outside, 8);
    EXPECT_NE(error_of(bytes).find("tensor 'weight' data (offset 32000"), std::string::npos)
        << error_of(bytes);
}

TEST(Gguf, RejectsBlockSizeMismatch) {
    GgufWriter w;
    std::vector<uint8_t> q(18 * 2);
    w.add_tensor("q", GgmlType::Q4_0, {64}, q.data());
    auto bytes = w.to_bytes();
    const uint64_t dim = 48;
    std::memcpy(bytes.data() + 24 + 8 + 1 + 4, &dim, 8);
    EXPECT_NE(error_of(bytes).find("row length 48, not a multiple of the block size 32"),
              std::string::npos)
        << error_of(bytes);
}

TEST(Gguf, RejectsBadAlignment) {
    GgufWriter w;
    w.set_u32("general.alignment", 24);
    EXPECT_NE(error_of(w.to_bytes()).find("general.alignment 24 is not a power of two"),
              std::string::npos);
}

TEST(Gguf, RejectsDuplicateKeysAndTensors) {
    GgufWriter w;
    float x[4] = {};
    w.add_tensor("t", GgmlType::F32, {4}, x);
    w.add_tensor("t", GgmlType::F32, {4}, x);
    EXPECT_NE(error_of(w.to_bytes()).find("tensor name 't' appears twice"), std::string::npos);
}

TEST(Gguf, ReportsMissingKeysAndTensors) {
    auto bytes = small_file();
    auto f = GgufFile::from_memory(bytes, "m.gguf");
    try {
        f->require("llama.embedding_length");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "m.gguf: missing required metadata key 'llama.embedding_length'");
    }
    try {
        f->require_tensor("output.weight");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "m.gguf: missing required tensor 'output.weight'");
    }
    try {
        f->get_int("general.architecture", 0);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("expected an integer, found string"),
                  std::string::npos);
    }
}

TEST(Gguf, OpeningMissingOrEmptyFilesFailsClearly) {
    try {
        GgufFile::open("/nonexistent/model.gguf");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot open model file '/nonexistent/model.gguf'"),
                  std::string::npos);
    }
    auto path = std::filesystem::temp_directory_path() / ("uma_empty_" + std::to_string(::getpid()) + ".gguf");
    std::ofstream(path).close();
    try {
        GgufFile::open(path.string());
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("the file is empty"), std::string::npos);
    }
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace uma
