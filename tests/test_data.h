#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace uma::test {

// The shared test data (../shared beside the repository, or $UMA_TEST_DATA). Missing data is a
// failure naming where we looked, never a skip: a missing oracle must not pass silently.
inline std::filesystem::path data_dir() {
    const char* env = std::getenv("UMA_TEST_DATA");
    std::filesystem::path dir = env && *env ? env : UMA_TEST_DATA_DEFAULT;
    if (!std::filesystem::exists(dir / "README.md")) {
        ADD_FAILURE() << "test data not found at " << dir
                      << " (set UMA_TEST_DATA to the shared test-data directory)";
        throw std::runtime_error("test data missing: " + dir.string());
    }
    return dir;
}

inline std::filesystem::path data_path(const std::string& relative) {
    auto path = data_dir() / relative;
    if (!std::filesystem::exists(path)) {
        ADD_FAILURE() << "test data file missing: " << path;
        throw std::runtime_error("test data missing: " + path.string());
    }
    return path;
}

inline std::string uma_binary() { return UMA_BINARY_PATH; }

}  // namespace uma::test
