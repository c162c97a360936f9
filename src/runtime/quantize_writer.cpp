#include "uma/runtime/quantize_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "uma/core/error.h"

namespace uma {
namespace {

constexpr size_t kDefaultAlignment = 32;

size_t round_up(size_t n, size_t alignment) {
    return (n + alignment - 1) / alignment * alignment;
}

// A file descriptor that removes its (partial) file unless released.
class PartialFile {
  public:
    explicit PartialFile(std::string path) : path_(std::move(path)) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ < 0) throw Error("cannot create '" + path_ + "': " + std::strerror(errno));
    }
    ~PartialFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!kept_) ::unlink(path_.c_str());
    }
    PartialFile(const PartialFile&) = delete;
    PartialFile& operator=(const PartialFile&) = delete;

    void write(const uint8_t* data, size_t n) {
        while (n > 0) {
            const ssize_t written = ::write(fd_, data, n);
            if (written < 0) {
                if (errno == EINTR) continue;
                throw Error("cannot write '" + path_ + "': " + std::strerror(errno));
            }
            data += written;
            n -= static_cast<size_t>(written);
        }
    }
    void pad(size_t n) {
        static const uint8_t zeros[64] = {};
        while (n > 0) {
            const size_t piece = std::min(n, sizeof zeros);
            write(zeros, piece);
            n -= piece;
        }
    }
    void close_and_rename(const std::string& final_path) {
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) throw Error("cannot flush '" + path_ + "': " + std::strerror(errno));
        std::error_code ec;
        std::filesystem::rename(path_, final_path, ec);
        if (ec)
            throw Error("cannot rename '" + path_ + "' to '" + final_path + "': " + ec.message());
        kept_ = true;
    }

  private:
    std::string path_;
    int fd_ = -1;
    bool kept_ = false;
};

}  // namespace

int64_t GgufStreamWriter::Tensor::rows() const {
    int64_t n = 1;
    for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
    return n;
}

void GgufStreamWriter::set(std::string key, GgufValue value) {
    for (auto& [k, v] : metadata_)
        if (k == key) {
            v = std::move(value);
            return;
        }
    metadata_.emplace_back(std::move(key), std::move(value));
}

void GgufStreamWriter::add_tensor(Tensor tensor) {
    if (tensor.dims.empty() || tensor.dims.size() > 4)
        throw Error("GGUF writer: tensor '" + tensor.name + "' must have 1 to 4 dimensions");
    if (tensor.dims[0] % traits(tensor.type).block_size != 0)
        throw Error("GGUF writer: tensor '" + tensor.name + "' has rows of " +
                    std::to_string(tensor.dims[0]) + " elements, not a multiple of the " +
                    std::string(type_name(tensor.type)) + " block size");
    tensors_.push_back(std::move(tensor));
}

size_t GgufStreamWriter::tensor_bytes() const {
    size_t n = 0;
    for (const auto& t : tensors_) n += t.bytes();
    return n;
}

size_t GgufStreamWriter::alignment() const {
    for (const auto& [key, value] : metadata_)
        if (key == "general.alignment") {
            const int64_t a = value.as_int("general.alignment");
            if (a <= 0 || (a & (a - 1)) != 0)
                throw Error("GGUF writer: general.alignment " + std::to_string(a) +
                            " is not a power of two");
            return static_cast<size_t>(a);
        }
    return kDefaultAlignment;
}

std::vector<uint8_t> GgufStreamWriter::header_bytes() const {
    std::vector<GgufTensorLayout> layouts;
    for (const auto& t : tensors_) layouts.push_back({t.name, t.type, t.dims, t.bytes()});
    return gguf_header_bytes(metadata_, layouts, alignment());
}

void GgufStreamWriter::write(const std::string& path, const FillRows& fill,
                             size_t piece_bytes) const {
    const size_t align = alignment();
    PartialFile file(path + ".partial");
    const std::vector<uint8_t> header = header_bytes();
    file.write(header.data(), header.size());
    std::vector<uint8_t> buffer;
    for (size_t i = 0; i < tensors_.size(); ++i) {
        const Tensor& t = tensors_[i];
        const size_t row_bytes = t.row_bytes();
        const int64_t rows = t.rows();
        const int64_t rows_per_piece = std::max<int64_t>(
            1, static_cast<int64_t>(piece_bytes / std::max<size_t>(1, row_bytes)));
        for (int64_t begin = 0; begin < rows; begin += rows_per_piece) {
            const int64_t end = std::min(rows, begin + rows_per_piece);
            buffer.resize(row_bytes * static_cast<size_t>(end - begin));
            fill(i, begin, end, buffer.data());
            file.write(buffer.data(), buffer.size());
        }
        file.pad(round_up(t.bytes(), align) - t.bytes());
    }
    file.close_and_rename(path);
}

}  // namespace uma
