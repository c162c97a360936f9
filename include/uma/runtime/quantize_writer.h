#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "uma/core/gguf.h"

namespace uma {

// Writes a GGUF v3 file whose tensors are produced piece by piece, so that files of many gigabytes
// (quantized or synthetic models) never have to fit in memory. GgufWriter, by contrast, holds every
// tensor's bytes until it writes.
class GgufStreamWriter {
  public:
    struct Tensor {
        std::string name;
        GgmlType type = GgmlType::F32;
        std::vector<int64_t> dims;  // dims[0] is the row length

        int64_t rows() const;
        size_t row_bytes() const { return row_size(type, dims.at(0)); }
        size_t bytes() const { return row_bytes() * static_cast<size_t>(rows()); }
    };
    // Fills rows [row_begin, row_end) of tensor `index` into `out` (row_bytes() per row).
    using FillRows =
        std::function<void(size_t index, int64_t row_begin, int64_t row_end, uint8_t* out)>;

    void set(std::string key, GgufValue value);
    void add_tensor(Tensor tensor);
    const std::vector<Tensor>& tensors() const { return tensors_; }
    // Sum of the tensors' bytes (without alignment padding).
    size_t tensor_bytes() const;

    // Writes header, then each tensor in order through `fill`, in pieces of about `piece_bytes`.
    // The file appears under `path` only when complete (written as path.partial, then renamed).
    void write(const std::string& path, const FillRows& fill,
               size_t piece_bytes = size_t(64) << 20) const;

  private:
    std::vector<uint8_t> header_bytes() const;
    size_t alignment() const;

    std::vector<std::pair<std::string, GgufValue>> metadata_;
    std::vector<Tensor> tensors_;
};

}  // namespace uma
