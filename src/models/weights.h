#pragma once
#include <deque>
#include <string>
#include <vector>

#include "uma/backends/backend.h"
#include "uma/core/gguf.h"

namespace uma {

// Finds a model's tensors by name and checks their shapes against the hyperparameters before any
// of them is used. Matrices stay in the file mapping; small vectors (norms, biases) stored in a
// type other than F32 are converted once into storage this loader owns.
class WeightLoader {
  public:
    explicit WeightLoader(const GgufFile& file) : file_(file) {}

    Weight matrix(const std::string& name, int64_t cols, int64_t rows) const;
    Weight optional_matrix(const std::string& name, int64_t cols, int64_t rows) const;
    // A stack of `count` matrices (dims [cols, rows, count]), as MoE experts are stored.
    Weight matrices(const std::string& name, int64_t cols, int64_t rows, int64_t count) const;
    Weight optional_matrices(const std::string& name, int64_t cols, int64_t rows,
                             int64_t count) const;
    const float* vector(const std::string& name, int64_t n);
    const float* optional_vector(const std::string& name, int64_t n);

    // Every matrix handed out so far, in load order.
    const std::vector<Weight>& matrices() const { return matrices_; }

    static std::string layer_tensor(int64_t layer, const std::string& suffix) {
        return "blk." + std::to_string(layer) + "." + suffix;
    }

  private:
    Weight to_weight(const GgufTensorInfo& t, int64_t cols, int64_t rows, int64_t count) const;

    const GgufFile& file_;
    std::deque<std::vector<float>> converted_;
    mutable std::vector<Weight> matrices_;  // a record of what to_weight returned  // deque:
                                            // pointers stay valid as it grows
};

}  // namespace uma
