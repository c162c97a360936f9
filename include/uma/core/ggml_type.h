#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace uma {

// Tensor element types, numbered as in the GGUF format.
enum class GgmlType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
};

struct TypeTraits {
    std::string_view name;
    int64_t block_size;  // elements per block
    size_t type_size;    // bytes per block
    bool supported;      // uma can compute with it
};

// Traits of a type id read from a file; nullopt when the id is not a GGML type at all.
std::optional<TypeTraits> type_traits(uint32_t type_id);
const TypeTraits& traits(GgmlType type);
std::string_view type_name(GgmlType type);
std::optional<GgmlType> type_from_name(std::string_view name);  // "Q4_K", "q4_k", "f16", ...

// Bytes needed for n elements of a row; n must be a multiple of the block size.
size_t row_size(GgmlType type, int64_t n);

}  // namespace uma
