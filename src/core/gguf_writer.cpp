#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "uma/core/error.h"
#include "uma/core/gguf.h"

namespace uma {
namespace {

class ByteSink {
public:
    template <typename T>
    void put(T value) {
        const auto* p = reinterpret_cast<const uint8_t*>(&value);
        bytes.insert(bytes.end(), p, p + sizeof(T));
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        bytes.insert(bytes.end(), s.begin(), s.end());
    }
    void pad_to(size_t alignment) {
        while (bytes.size() % alignment != 0) bytes.push_back(0);
    }
    std::vector<uint8_t> bytes;
};

void put_value(ByteSink& out, const GgufValue& v, bool with_type) {
    if (with_type) out.put<uint32_t>(static_cast<uint32_t>(v.type));
    switch (v.type) {
        case GgufValueType::UINT8: out.put<uint8_t>(static_cast<uint8_t>(v.uint_value)); break;
        case GgufValueType::UINT16: out.put<uint16_t>(static_cast<uint16_t>(v.uint_value)); break;
        case GgufValueType::UINT32: out.put<uint32_t>(static_cast<uint32_t>(v.uint_value)); break;
        case GgufValueType::UINT64: out.put<uint64_t>(v.uint_value); break;
        case GgufValueType::BOOL: out.put<uint8_t>(v.uint_value ? 1 : 0); break;
        case GgufValueType::INT8: out.put<int8_t>(static_cast<int8_t>(v.int_value)); break;
        case GgufValueType::INT16: out.put<int16_t>(static_cast<int16_t>(v.int_value)); break;
        case GgufValueType::INT32: out.put<int32_t>(static_cast<int32_t>(v.int_value)); break;
        case GgufValueType::INT64: out.put<int64_t>(v.int_value); break;
        case GgufValueType::FLOAT32: out.put<float>(static_cast<float>(v.float_value)); break;
        case GgufValueType::FLOAT64: out.put<double>(v.float_value); break;
        case GgufValueType::STRING: out.put_string(v.string_value); break;
        case GgufValueType::ARRAY:
            out.put<uint32_t>(static_cast<uint32_t>(v.array_type));
            out.put<uint64_t>(v.array.size());
            for (const auto& item : v.array) {
                if (item.type != v.array_type)
                    throw Error("GGUF writer: array item of type " +
                                std::string(gguf_value_type_name(item.type)) +
                                " in an array of " +
                                std::string(gguf_value_type_name(v.array_type)));
                put_value(out, item, false);
            }
            break;
    }
}

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
    for (auto& [k, v] : metadata_)
        if (k == key) {
            v = std::move(value);
            return;
        }
    metadata_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::set_string(std::string key, std::string value) {
    set(std::move(key), GgufValue::make_string(std::move(value)));
}
void GgufWriter::set_u32(std::string key, uint32_t value) {
    set(std::move(key), GgufValue::make_uint(GgufValueType::UINT32, value));
}
void GgufWriter::set_i32(std::string key, int32_t value) {
    set(std::move(key), GgufValue::make_int(GgufValueType::INT32, value));
}
void GgufWriter::set_f32(std::string key, float value) {
    set(std::move(key), GgufValue::make_float(GgufValueType::FLOAT32, value));
}
void GgufWriter::set_bool(std::string key, bool value) {
    set(std::move(key), GgufValue::make_bool(value));
}

void GgufWriter::set_string_array(std::string key, const std::vector<std::string>& values) {
    std::vector<GgufValue> items;
    items.reserve(values.size());
    for (const auto& s : values) items.push_back(GgufValue::make_string(s));
    set(std::move(key), GgufValue::make_array(GgufValueType::STRING, std::move(items)));
}

void GgufWriter::set_f32_array(std::string key, const std::vector<float>& values) {
    std::vector<GgufValue> items;
    items.reserve(values.size());
    for (float f : values) items.push_back(GgufValue::make_float(GgufValueType::FLOAT32, f));
    set(std::move(key), GgufValue::make_array(GgufValueType::FLOAT32, std::move(items)));
}

void GgufWriter::set_i32_array(std::string key, const std::vector<int32_t>& values) {
    std::vector<GgufValue> items;
    items.reserve(values.size());
    for (int32_t i : values) items.push_back(GgufValue::make_int(GgufValueType::INT32, i));
    set(std::move(key), GgufValue::make_array(GgufValueType::INT32, std::move(items)));
}

void GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims,
                            const void* data) {
    if (dims.empty() || dims.size() > 4)
        throw Error("GGUF writer: tensor '" + name + "' must have 1 to 4 dimensions");
    int64_t rows = 1;
    for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
    const size_t bytes = row_size(type, dims[0]) * static_cast<size_t>(rows);
    const auto* p = static_cast<const uint8_t*>(data);
    tensors_.push_back({std::move(name), type, std::move(dims), std::vector<uint8_t>(p, p + bytes)});
}

std::vector<uint8_t> gguf_header_bytes(
    const std::vector<std::pair<std::string, GgufValue>>& metadata,
    const std::vector<GgufTensorLayout>& tensors, size_t alignment) {
    ByteSink out;
    out.put<uint32_t>(0x46554747u);  // "GGUF"
    out.put<uint32_t>(3);
    out.put<uint64_t>(tensors.size());
    out.put<uint64_t>(metadata.size());
    for (const auto& [key, value] : metadata) {
        out.put_string(key);
        put_value(out, value, true);
    }
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        out.put_string(t.name);
        out.put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
        for (int64_t d : t.dims) out.put<uint64_t>(static_cast<uint64_t>(d));
        out.put<uint32_t>(static_cast<uint32_t>(t.type));
        out.put<uint64_t>(offset);
        offset += (t.n_bytes + alignment - 1) / alignment * alignment;
    }
    out.pad_to(alignment);
    return out.bytes;
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
    auto metadata = metadata_;
    if (alignment_ != 32)
        metadata.emplace_back("general.alignment",
                              GgufValue::make_uint(GgufValueType::UINT32, alignment_));
    std::vector<GgufTensorLayout> layouts;
    for (const auto& t : tensors_) layouts.push_back({t.name, t.type, t.dims, t.data.size()});
    ByteSink out;
    out.bytes = gguf_header_bytes(metadata, layouts, alignment_);
    for (const auto& t : tensors_) {
        out.bytes.insert(out.bytes.end(), t.data.begin(), t.data.end());
        out.pad_to(alignment_);
    }
    return out.bytes;
}

void GgufWriter::write(const std::string& path) const {
    const std::vector<uint8_t> bytes = to_bytes();
    const std::string temp = path + ".partial";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error("cannot create '" + temp + "': " + std::strerror(errno));
    size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            ::unlink(temp.c_str());
            throw Error("cannot write '" + temp + "': " + std::strerror(err));
        }
        written += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(temp.c_str());
        throw Error("cannot flush '" + temp + "': " + std::strerror(errno));
    }
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
    if (ec) {
        ::unlink(temp.c_str());
        throw Error("cannot rename '" + temp + "' to '" + path + "': " + ec.message());
    }
}

}  // namespace uma
