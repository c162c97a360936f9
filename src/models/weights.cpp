#include "weights.h"

#include "uma/backends/cpu/quant.h"
#include "uma/core/error.h"

namespace uma {
namespace {

std::string shape_text(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

}  // namespace

Weight WeightLoader::to_weight(const GgufTensorInfo& t, int64_t cols, int64_t rows,
                               int64_t count) const {
    std::vector<int64_t> expected = {cols, rows};
    if (count > 1 || t.dims.size() == 3) expected.push_back(count);
    std::vector<int64_t> actual = t.dims;
    while (actual.size() > expected.size() && actual.back() == 1) actual.pop_back();
    if (actual != expected)
        throw Error(file_.path() + ": tensor '" + t.name + "' has shape " + shape_text(t.dims) +
                    ", expected " + shape_text(expected) + " from the model's hyperparameters");
    if (!traits(t.type).supported)
        throw Error(file_.path() + ": tensor '" + t.name + "' has type " +
                    std::string(type_name(t.type)) + ", which uma does not support");
    Weight w;
    w.name = t.name;
    w.type = t.type;
    w.cols = cols;
    w.rows = rows;
    w.count = count;
    w.row_bytes = row_size(t.type, cols);
    w.data = t.data;
    w.file_mapped = file_.file_mapped();
    matrices_.push_back(w);
    return w;
}

Weight WeightLoader::matrix(const std::string& name, int64_t cols, int64_t rows) const {
    return to_weight(file_.require_tensor(name), cols, rows, 1);
}

Weight WeightLoader::optional_matrix(const std::string& name, int64_t cols, int64_t rows) const {
    const GgufTensorInfo* t = file_.find_tensor(name);
    return t ? to_weight(*t, cols, rows, 1) : Weight{};
}

Weight WeightLoader::matrices(const std::string& name, int64_t cols, int64_t rows,
                              int64_t count) const {
    return to_weight(file_.require_tensor(name), cols, rows, count);
}

Weight WeightLoader::optional_matrices(const std::string& name, int64_t cols, int64_t rows,
                                       int64_t count) const {
    const GgufTensorInfo* t = file_.find_tensor(name);
    return t ? to_weight(*t, cols, rows, count) : Weight{};
}

const float* WeightLoader::vector(const std::string& name, int64_t n) {
    const GgufTensorInfo& t = file_.require_tensor(name);
    if (t.n_elements() != n)
        throw Error(file_.path() + ": tensor '" + name + "' has shape " + shape_text(t.dims) +
                    ", expected " + std::to_string(n) + " elements");
    if (t.type == GgmlType::F32) return reinterpret_cast<const float*>(t.data);
    if (!traits(t.type).supported)
        throw Error(file_.path() + ": tensor '" + name + "' has type " +
                    std::string(type_name(t.type)) + ", which uma does not support");
    converted_.emplace_back(static_cast<size_t>(n));
    cpu::dequantize_row(t.type, t.data, converted_.back().data(), n);
    return converted_.back().data();
}

const float* WeightLoader::optional_vector(const std::string& name, int64_t n) {
    return file_.find_tensor(name) ? vector(name, n) : nullptr;
}

}  // namespace uma
