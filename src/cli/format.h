#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace uma::cli {

std::string human_count(int64_t n);   // 1.1B, 260.1K
std::string human_bytes(size_t n);    // 637.8 MiB
std::string file_type_name(int64_t file_type);  // general.file_type -> "Q4_K_M"

}  // namespace uma::cli
