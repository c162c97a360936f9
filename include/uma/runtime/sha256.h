#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace uma {

// Incremental SHA-256 (OpenSSL's, which uses the CPU's SHA instructions where there are some).
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* data, size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    std::string hex();  // finishes the hash: 64 lowercase hex digits

    static std::string of(std::string_view text);
    static std::string of_file(const std::filesystem::path& path);  // throws uma::Error

  private:
    struct State;
    std::unique_ptr<State> state_;
};

bool is_sha256_hex(std::string_view text);

}  // namespace uma
