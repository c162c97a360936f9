#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "uma/core/ggml_type.h"

namespace uma {

enum class GgufValueType : uint32_t {
    UINT8 = 0,
    INT8 = 1,
    UINT16 = 2,
    INT16 = 3,
    UINT32 = 4,
    INT32 = 5,
    FLOAT32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    UINT64 = 10,
    INT64 = 11,
    FLOAT64 = 12,
};

std::string_view gguf_value_type_name(GgufValueType type);

// One metadata value. Scalars keep their exact GGUF type; arrays hold their items (which may be
// arrays themselves).
struct GgufValue {
    GgufValueType type = GgufValueType::UINT32;
    uint64_t uint_value = 0;  // UINT*, BOOL
    int64_t int_value = 0;    // INT*
    double float_value = 0;   // FLOAT*
    std::string string_value;
    GgufValueType array_type = GgufValueType::UINT32;
    std::vector<GgufValue> array;

    bool is_integer() const;
    bool is_number() const;
    // Conversions that check the value fits; they throw uma::Error naming `what` otherwise.
    int64_t as_int(std::string_view what) const;
    double as_float(std::string_view what) const;
    bool as_bool(std::string_view what) const;
    const std::string& as_string(std::string_view what) const;

    static GgufValue make_uint(GgufValueType t, uint64_t v);
    static GgufValue make_int(GgufValueType t, int64_t v);
    static GgufValue make_float(GgufValueType t, double v);
    static GgufValue make_bool(bool v);
    static GgufValue make_string(std::string v);
    static GgufValue make_array(GgufValueType item_type, std::vector<GgufValue> items);
};

struct GgufTensorInfo {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> dims;  // dims[0] is the innermost (contiguous) dimension
    uint64_t offset = 0;        // relative to the start of the data section
    const uint8_t* data = nullptr;
    size_t n_bytes = 0;

    int64_t n_elements() const;
    int64_t rows() const;  // product of dims[1..]
    int64_t dim(size_t i) const { return i < dims.size() ? dims[i] : 1; }
};

// A GGUF file (v2 or v3) read by mmap. Every structure is validated before use; tensor data is
// used in place from the mapping.
class GgufFile {
public:
    static std::unique_ptr<GgufFile> open(const std::string& path);
    // Parses a buffer the caller keeps alive (tests and fuzzing).
    static std::unique_ptr<GgufFile> from_memory(std::span<const uint8_t> bytes,
                                                 std::string display_name = "<memory>");
    ~GgufFile();
    GgufFile(const GgufFile&) = delete;
    GgufFile& operator=(const GgufFile&) = delete;

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    size_t alignment() const { return alignment_; }
    size_t file_size() const { return bytes_.size(); }
    size_t data_offset() const { return data_offset_; }
    // Whether the bytes are a mapping of the file (whose pages can be dropped and read again).
    bool file_mapped() const { return mapping_ != nullptr; }

    const std::vector<std::string>& keys() const { return key_order_; }
    const GgufValue* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }
    // Typed getters: the required forms throw "missing required key" errors naming the file.
    const GgufValue& require(std::string_view key) const;
    std::string get_string(std::string_view key, std::string fallback = {}) const;
    int64_t get_int(std::string_view key, int64_t fallback) const;
    int64_t require_int(std::string_view key) const;
    double get_float(std::string_view key, double fallback) const;
    bool get_bool(std::string_view key, bool fallback) const;

    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    const GgufTensorInfo* find_tensor(std::string_view name) const;
    const GgufTensorInfo& require_tensor(std::string_view name) const;

private:
    GgufFile() = default;
    void parse();

    std::string path_;
    std::span<const uint8_t> bytes_;
    void* mapping_ = nullptr;
    size_t mapping_size_ = 0;
    uint32_t version_ = 0;
    size_t alignment_ = 32;
    size_t data_offset_ = 0;
    std::map<std::string, GgufValue, std::less<>> metadata_;
    std::vector<std::string> key_order_;
    std::vector<GgufTensorInfo> tensors_;
    std::map<std::string, size_t, std::less<>> tensor_index_;
};

// Where a tensor goes in a GGUF file being written.
struct GgufTensorLayout {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> dims;
    size_t n_bytes = 0;
};

// The header of a GGUF v3 file: magic, counts, metadata in order, and tensor infos whose data
// offsets pack the tensors one after another at `alignment`; padded to `alignment`.
std::vector<uint8_t> gguf_header_bytes(
    const std::vector<std::pair<std::string, GgufValue>>& metadata,
    const std::vector<GgufTensorLayout>& tensors, size_t alignment);

// Writes GGUF v3 files: metadata in insertion order, tensors aligned to `alignment`.
class GgufWriter {
public:
    void set(std::string key, GgufValue value);
    void set_string(std::string key, std::string value);
    void set_u32(std::string key, uint32_t value);
    void set_i32(std::string key, int32_t value);
    void set_f32(std::string key, float value);
    void set_bool(std::string key, bool value);
    void set_string_array(std::string key, const std::vector<std::string>& values);
    void set_f32_array(std::string key, const std::vector<float>& values);
    void set_i32_array(std::string key, const std::vector<int32_t>& values);
    // Copies the tensor bytes; `data` must hold row_size(type, dims[0]) * rows bytes.
    void add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims, const void* data);
    void set_alignment(size_t alignment) { alignment_ = alignment; }

    std::vector<uint8_t> to_bytes() const;
    void write(const std::string& path) const;  // temp file + rename: never a half-written file

private:
    struct Tensor {
        std::string name;
        GgmlType type;
        std::vector<int64_t> dims;
        std::vector<uint8_t> data;
    };
    std::vector<std::pair<std::string, GgufValue>> metadata_;
    std::vector<Tensor> tensors_;
    size_t alignment_ = 32;
};

}  // namespace uma
