#pragma once
// Temp directories and small GGUF files for the model store tests.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "uma/core/gguf.h"

namespace uma::test {

// A fresh directory, deleted with everything in it when the object goes.
class TempDir {
  public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("uma_store_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

// A valid GGUF file with one F32 tensor of `n_floats` values; `seed` makes files differ.
inline void write_test_gguf(const std::filesystem::path& path, int64_t n_floats = 1024,
                            float seed = 1) {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("general.name", "store test");
    std::vector<float> data(static_cast<size_t>(n_floats));
    for (size_t i = 0; i < data.size(); ++i) data[i] = seed + float(i % 97);
    w.add_tensor("weights", GgmlType::F32, {n_floats}, data.data());
    w.write(path.string());
}

}  // namespace uma::test
