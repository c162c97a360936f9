#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "uma/core/error.h"
#include "uma/core/gguf.h"

namespace uma {
namespace {

constexpr uint32_t kMaxArrayNesting = 8;

// Bounds-checked little-endian reader over the file bytes. Every read names what it was reading
// so that a truncated or corrupt file reports where it broke.
class Cursor {
public:
    Cursor(std::span<const uint8_t> bytes, const std::string& file) : bytes_(bytes), file_(file) {}

    size_t position() const { return pos_; }
    size_t remaining() const { return bytes_.size() - pos_; }

    template <typename T>
    T read(std::string_view what) {
        need(sizeof(T), what);
        T value;
        std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }

    std::string read_string(std::string_view what) {
        const uint64_t length = read<uint64_t>(what);
        if (length > remaining())
            fail(std::string(what) + " claims a length of " + std::to_string(length) +
                 " bytes but only " + std::to_string(remaining()) + " remain in the file");
        std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
        pos_ += length;
        return s;
    }

    [[noreturn]] void fail(const std::string& message) const {
        throw Error(file_ + ": invalid GGUF: " + message + " (at byte offset " +
                    std::to_string(pos_) + ")");
    }

private:
    void need(size_t n, std::string_view what) {
        if (n > remaining())
            fail("file is truncated while reading " + std::string(what) + " (needs " +
                 std::to_string(n) + " bytes, " + std::to_string(remaining()) + " remain)");
    }

    std::span<const uint8_t> bytes_;
    const std::string& file_;
    size_t pos_ = 0;
};

size_t min_encoded_size(GgufValueType type) {
    switch (type) {
        case GgufValueType::UINT8:
        case GgufValueType::INT8:
        case GgufValueType::BOOL: return 1;
        case GgufValueType::UINT16:
        case GgufValueType::INT16: return 2;
        case GgufValueType::UINT32:
        case GgufValueType::INT32:
        case GgufValueType::FLOAT32: return 4;
        case GgufValueType::UINT64:
        case GgufValueType::INT64:
        case GgufValueType::FLOAT64:
        case GgufValueType::STRING: return 8;
        case GgufValueType::ARRAY: return 12;
    }
    return 1;
}

bool is_valid_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::FLOAT64); }

GgufValue read_value(Cursor& in, GgufValueType type, const std::string& key, uint32_t depth) {
    switch (type) {
        case GgufValueType::UINT8: return GgufValue::make_uint(type, in.read<uint8_t>(key));
        case GgufValueType::UINT16: return GgufValue::make_uint(type, in.read<uint16_t>(key));
        case GgufValueType::UINT32: return GgufValue::make_uint(type, in.read<uint32_t>(key));
        case GgufValueType::UINT64: return GgufValue::make_uint(type, in.read<uint64_t>(key));
        case GgufValueType::INT8: return GgufValue::make_int(type, in.read<int8_t>(key));
        case GgufValueType::INT16: return GgufValue::make_int(type, in.read<int16_t>(key));
        case GgufValueType::INT32: return GgufValue::make_int(type, in.read<int32_t>(key));
        case GgufValueType::INT64: return GgufValue::make_int(type, in.read<int64_t>(key));
        case GgufValueType::FLOAT32: return GgufValue::make_float(type, in.read<float>(key));
        case GgufValueType::FLOAT64: return GgufValue::make_float(type, in.read<double>(key));
        case GgufValueType::BOOL: {
            const uint8_t b = in.read<uint8_t>(key);
            if (b > 1) in.fail("metadata key '" + key + "' has bool value " + std::to_string(b));
            return GgufValue::make_bool(b != 0);
        }
        case GgufValueType::STRING:
            return GgufValue::make_string(in.read_string("string value of key '" + key + "'"));
        case GgufValueType::ARRAY: {
            if (depth >= kMaxArrayNesting)
                in.fail("metadata key '" + key + "' nests arrays deeper than " +
                        std::to_string(kMaxArrayNesting) + " levels");
            const uint32_t item_type_id = in.read<uint32_t>("array type of key '" + key + "'");
            if (!is_valid_value_type(item_type_id))
                in.fail("metadata key '" + key + "' has an array of unknown value type " +
                        std::to_string(item_type_id));
            const auto item_type = static_cast<GgufValueType>(item_type_id);
            const uint64_t count = in.read<uint64_t>("array length of key '" + key + "'");
            if (count > in.remaining() / min_encoded_size(item_type))
                in.fail("metadata key '" + key + "' claims " + std::to_string(count) +
                        " array items, more than the " + std::to_string(in.remaining()) +
                        " remaining bytes can hold");
            std::vector<GgufValue> items;
            items.reserve(count);
            for (uint64_t i = 0; i < count; ++i)
                items.push_back(read_value(in, item_type, key, depth + 1));
            return GgufValue::make_array(item_type, std::move(items));
        }
    }
    in.fail("metadata key '" + key + "' has unknown value type");
}

}  // namespace

GgufFile::~GgufFile() {
    if (mapping_) munmap(mapping_, mapping_size_);
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open model file '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error("cannot stat '" + path + "': " + std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw Error("'" + path + "' is a directory, not a GGUF file");
    }
    if (st.st_size == 0) {
        ::close(fd);
        throw Error(path + ": invalid GGUF: the file is empty");
    }
    void* mapping = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    const int err = errno;
    ::close(fd);
    if (mapping == MAP_FAILED) throw Error("cannot map '" + path + "': " + std::strerror(err));

    std::unique_ptr<GgufFile> file(new GgufFile());
    file->path_ = path;
    file->mapping_ = mapping;
    file->mapping_size_ = static_cast<size_t>(st.st_size);
    file->bytes_ = {static_cast<const uint8_t*>(mapping), file->mapping_size_};
    file->parse();
    return file;
}

std::unique_ptr<GgufFile> GgufFile::from_memory(std::span<const uint8_t> bytes,
                                                std::string display_name) {
    std::unique_ptr<GgufFile> file(new GgufFile());
    file->path_ = std::move(display_name);
    file->bytes_ = bytes;
    file->parse();
    return file;
}

void GgufFile::parse() {
    Cursor in(bytes_, path_);
    const uint32_t magic = in.read<uint32_t>("the magic number");
    if (magic != 0x46554747u) {  // "GGUF" little-endian
        std::string shown;
        for (int i = 0; i < 4; ++i) {
            const char c = static_cast<char>((magic >> (8 * i)) & 0xff);
            shown += (c >= 32 && c < 127) ? c : '?';
        }
        in.fail("bad magic '" + shown + "' (expected 'GGUF'); this is not a GGUF file");
    }
    version_ = in.read<uint32_t>("the version");
    if (version_ == 1)
        in.fail("GGUF version 1 is not supported (only versions 2 and 3); re-convert the model");
    if (version_ != 2 && version_ != 3)
        in.fail("unsupported GGUF version " + std::to_string(version_) +
                " (supported: 2 and 3)");
    const uint64_t tensor_count = in.read<uint64_t>("the tensor count");
    const uint64_t kv_count = in.read<uint64_t>("the metadata count");
    constexpr size_t kMinKvBytes = 8 + 4 + 1;
    constexpr size_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
    if (kv_count > in.remaining() / kMinKvBytes)
        in.fail("metadata count " + std::to_string(kv_count) + " cannot fit in the file");
    if (tensor_count > in.remaining() / kMinTensorInfoBytes)
        in.fail("tensor count " + std::to_string(tensor_count) + " cannot fit in the file");

    for (uint64_t i = 0; i < kv_count; ++i) {
        std::string key = in.read_string("metadata key #" + std::to_string(i));
        const uint32_t type_id = in.read<uint32_t>("value type of key '" + key + "'");
        if (!is_valid_value_type(type_id))
            in.fail("metadata key '" + key + "' has unknown value type " +
                    std::to_string(type_id));
        GgufValue value = read_value(in, static_cast<GgufValueType>(type_id), key, 0);
        if (metadata_.count(key)) in.fail("metadata key '" + key + "' appears twice");
        key_order_.push_back(key);
        metadata_.emplace(std::move(key), std::move(value));
    }

    if (const GgufValue* align = find("general.alignment")) {
        if (!align->is_integer())
            in.fail("general.alignment must be an integer, found " +
                    std::string(gguf_value_type_name(align->type)));
        const int64_t a = align->as_int("general.alignment");
        if (a <= 0 || (a & (a - 1)) != 0 || a > (1 << 20))
            in.fail("general.alignment " + std::to_string(a) + " is not a power of two");
        alignment_ = static_cast<size_t>(a);
    }

    tensors_.reserve(tensor_count);
    for (uint64_t i = 0; i < tensor_count; ++i) {
        GgufTensorInfo info;
        info.name = in.read_string("tensor name #" + std::to_string(i));
        const std::string what = "tensor '" + info.name + "'";
        const uint32_t n_dims = in.read<uint32_t>("dimension count of " + what);
        if (n_dims == 0 || n_dims > 4)
            in.fail(what + " has " + std::to_string(n_dims) + " dimensions (must be 1 to 4)");
        int64_t elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const uint64_t dim = in.read<uint64_t>("dimensions of " + what);
            if (dim == 0 || dim > (uint64_t(1) << 62))
                in.fail(what + " has invalid dimension " + std::to_string(dim));
            if (__builtin_mul_overflow(elements, static_cast<int64_t>(dim), &elements) ||
                elements > (int64_t(1) << 50))
                in.fail(what + " has dimensions whose product overflows");
            info.dims.push_back(static_cast<int64_t>(dim));
        }
        const uint32_t type_id = in.read<uint32_t>("type of " + what);
        const auto traits = type_traits(type_id);
        if (!traits) in.fail(what + " has unknown tensor type id " + std::to_string(type_id));
        info.type = static_cast<GgmlType>(type_id);
        if (info.dims[0] % traits->block_size != 0)
            in.fail(what + " of type " + std::string(traits->name) + " has row length " +
                    std::to_string(info.dims[0]) + ", not a multiple of the block size " +
                    std::to_string(traits->block_size));
        info.n_bytes = static_cast<size_t>(elements / traits->block_size) * traits->type_size;
        info.offset = in.read<uint64_t>("data offset of " + what);
        if (info.offset % alignment_ != 0)
            in.fail(what + " data offset " + std::to_string(info.offset) +
                    " is not aligned to " + std::to_string(alignment_) + " bytes");
        if (tensor_index_.count(info.name)) in.fail("tensor name '" + info.name + "' appears twice");
        tensor_index_.emplace(info.name, tensors_.size());
        tensors_.push_back(std::move(info));
    }

    const size_t header_end = in.position();
    data_offset_ = (header_end + alignment_ - 1) / alignment_ * alignment_;
    if (!tensors_.empty() && data_offset_ > bytes_.size())
        throw Error(path_ + ": invalid GGUF: file is truncated before the tensor data section");
    const size_t data_size = bytes_.size() > data_offset_ ? bytes_.size() - data_offset_ : 0;
    for (auto& t : tensors_) {
        if (t.offset > data_size || t.n_bytes > data_size - t.offset)
            throw Error(path_ + ": invalid GGUF: tensor '" + t.name + "' data (offset " +
                        std::to_string(t.offset) + ", " + std::to_string(t.n_bytes) +
                        " bytes) lies outside the file (data section holds " +
                        std::to_string(data_size) + " bytes); the file is truncated or corrupt");
        t.data = bytes_.data() + data_offset_ + t.offset;
    }
}

const GgufValue* GgufFile::find(std::string_view key) const {
    auto it = metadata_.find(key);
    return it == metadata_.end() ? nullptr : &it->second;
}

const GgufValue& GgufFile::require(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) throw Error(path_ + ": missing required metadata key '" + std::string(key) + "'");
    return *v;
}

std::string GgufFile::get_string(std::string_view key, std::string fallback) const {
    const GgufValue* v = find(key);
    return v ? v->as_string(path_ + ": key '" + std::string(key) + "'") : fallback;
}

int64_t GgufFile::get_int(std::string_view key, int64_t fallback) const {
    const GgufValue* v = find(key);
    return v ? v->as_int(path_ + ": key '" + std::string(key) + "'") : fallback;
}

int64_t GgufFile::require_int(std::string_view key) const {
    return require(key).as_int(path_ + ": key '" + std::string(key) + "'");
}

double GgufFile::get_float(std::string_view key, double fallback) const {
    const GgufValue* v = find(key);
    return v ? v->as_float(path_ + ": key '" + std::string(key) + "'") : fallback;
}

bool GgufFile::get_bool(std::string_view key, bool fallback) const {
    const GgufValue* v = find(key);
    return v ? v->as_bool(path_ + ": key '" + std::string(key) + "'") : fallback;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::require_tensor(std::string_view name) const {
    const GgufTensorInfo* t = find_tensor(name);
    if (!t) throw Error(path_ + ": missing required tensor '" + std::string(name) + "'");
    return *t;
}

int64_t GgufTensorInfo::n_elements() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
}

int64_t GgufTensorInfo::rows() const {
    int64_t n = 1;
    for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
    return n;
}

}  // namespace uma
