#pragma once
// What a machine offers a model: memory, memory bandwidth and compute, measured on this machine
// or taken from a preset (Apple M1..M4 tiers, RTX 4090, H100) or a spec like "32GB,120GB/s".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uma/core/ggml_type.h"

namespace uma {

struct MachineInfo {
    std::string name;
    std::string description;
    uint64_t total_memory = 0;
    uint64_t available_memory = 0;  // what a model may use now (presets: their usable share)
    double bandwidth = 0;           // bytes/s of memory reads, all cores or the whole GPU
    double prompt_flops = 0;        // FLOP/s of batched matrix products (prompt processing)
    double generate_flops = 0;      // FLOP/s of matrix-vector products (one token at a time)
    int threads = 0;
    bool measured = false;  // this machine, not a preset
};

// This machine: memory from /proc/meminfo, read bandwidth (uma bench's cached measurement), and
// the CPU backend's own matrix throughput on weights of type `weight_type` (cached beside it).
MachineInfo this_machine(GgmlType weight_type, int threads);

struct MemoryInfo {
    uint64_t total = 0;
    uint64_t available = 0;
};
MemoryInfo read_meminfo();

// The backend's matrix throughput on `type` weights with `n_tokens` columns, in FLOP/s.
double measure_matmul_flops(GgmlType type, int64_t n_tokens, int threads);

// A preset name ("m2-max", "rtx-4090", "h100"), optionally with ",64GB" to change its memory,
// or "SIZE,BANDWIDTH[,COMPUTE]" ("32GB,120GB/s", "24GB,1008GB/s,80TFLOPS"). Throws uma::Error
// listing the presets when the text is neither.
MachineInfo parse_machine_spec(std::string_view spec);
const std::vector<MachineInfo>& machine_presets();

// RSS of this process right now (VmRSS), in bytes.
uint64_t current_rss_bytes();

// This process's anonymous memory (packed weights, the KV cache) and how much of it is in huge
// pages, from /proc/self/smaps_rollup; zeros where that cannot be read.
struct AnonymousMemory {
    uint64_t bytes = 0;
    uint64_t huge_page_bytes = 0;
};
AnonymousMemory current_anonymous_memory();

}  // namespace uma
