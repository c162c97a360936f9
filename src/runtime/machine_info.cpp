#include "uma/runtime/machine_info.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "uma/backends/backend.h"
#include "uma/core/error.h"
#include "uma/runtime/bandwidth.h"

namespace uma {
namespace {

// The "Key: N kB" lines of a /proc file, as key (with its colon) -> N.
std::map<std::string, uint64_t> read_kib_fields(const char* path) {
    std::map<std::string, uint64_t> fields;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::string key;
        uint64_t kib = 0;
        if (words >> key >> kib) fields[key] = kib;
    }
    return fields;
}

uint64_t field_bytes(const std::map<std::string, uint64_t>& fields, const std::string& key) {
    const auto it = fields.find(key);
    return it == fields.end() ? 0 : it->second * 1024;
}

constexpr double kGB = 1e9;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string cpu_model_name() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

// Compute measurements are kept beside uma bench's bandwidth cache, keyed the same way.
std::filesystem::path compute_cache_file() {
    if (const char* path = std::getenv("UMA_BANDWIDTH_CACHE"); path && *path)
        return std::filesystem::path(path).parent_path() / "compute.json";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".uma" / "compute.json";
    return {};
}

double cached_matmul_flops(GgmlType type, int64_t n_tokens, int threads) {
    const auto path = compute_cache_file();
    const std::string cpu = cpu_model_name();
    const std::string key = std::string(type_name(type)) + "/n" + std::to_string(n_tokens) + "/t" +
                            std::to_string(threads);
    nlohmann::json cache = nlohmann::json::object();
    if (!path.empty()) {
        try {
            std::ifstream in(path);
            if (in) cache = nlohmann::json::parse(in);
        } catch (const std::exception&) {
            cache = nlohmann::json::object();  // damaged: measured again
        }
    }
    if (!cache.is_object() || cache.value("cpu", "") != cpu) cache = {{"cpu", cpu}};
    if (cache.contains("flops") && cache["flops"].contains(key) && cache["flops"][key].is_number())
        return cache["flops"][key].get<double>();
    const double flops = measure_matmul_flops(type, n_tokens, threads);
    if (!path.empty()) {
        cache["flops"][key] = flops;
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        std::ofstream(path) << cache.dump(2) << "\n";  // not fatal if it fails: measured again
    }
    return flops;
}

double parse_quantity(std::string_view text, std::string_view what) {
    const std::string s(text);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || !std::isfinite(v) || v <= 0)
        throw Error("machine spec: '" + s + "' is not a " + std::string(what));
    std::string unit(end);
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (unit == "gb" || unit == "g") return v * kGB;
    if (unit == "gib") return v * kGiB;
    if (unit == "tb") return v * 1e12;
    if (unit == "mb") return v * 1e6;
    if (unit == "gb/s") return v * kGB;
    if (unit == "tb/s") return v * 1e12;
    if (unit == "tflops") return v * 1e12;
    if (unit == "gflops") return v * 1e9;
    throw Error("machine spec: '" + s + "' has an unknown unit (GB, GB/s, TB/s, TFLOPS)");
}

MachineInfo preset(const char* name, const char* description, double memory_gb,
                   double bandwidth_gbs, double tflops, double usable_share) {
    MachineInfo m;
    m.name = name;
    m.description = description;
    m.total_memory = static_cast<uint64_t>(memory_gb * kGB);
    m.available_memory = static_cast<uint64_t>(memory_gb * kGB * usable_share);
    m.bandwidth = bandwidth_gbs * kGB;
    // Prompt processing reaches about half the GPU's peak; one token at a time is bandwidth-bound
    // long before the ALUs are busy, so the same figure caps it.
    m.prompt_flops = tflops * 1e12 * 0.5;
    m.generate_flops = tflops * 1e12 * 0.5;
    return m;
}

}  // namespace

MemoryInfo read_meminfo() {
    const auto fields = read_kib_fields("/proc/meminfo");
    MemoryInfo info;
    info.total = field_bytes(fields, "MemTotal:");
    info.available = field_bytes(fields, "MemAvailable:");
    if (info.total == 0) throw Error("cannot read the memory size from /proc/meminfo");
    return info;
}

uint64_t current_rss_bytes() {
    return field_bytes(read_kib_fields("/proc/self/status"), "VmRSS:");
}

AnonymousMemory current_anonymous_memory() {
    const auto fields = read_kib_fields("/proc/self/smaps_rollup");
    return {field_bytes(fields, "Anonymous:"), field_bytes(fields, "AnonHugePages:")};
}

double measure_matmul_flops(GgmlType type, int64_t n_tokens, int threads) {
    // A weight of 1024 rows of 4096 values: large enough to spread over the threads, small enough
    // to stay in cache, so that this measures arithmetic and not memory.
    Weight w;
    w.name = "probe";
    w.type = type;
    w.cols = 4096;
    w.rows = 1024;
    w.row_bytes = row_size(type, w.cols);
    // 0x11 bytes: small, normal fp16/fp32 scales and values in every format.
    std::vector<uint8_t> data(w.row_bytes * static_cast<size_t>(w.rows), 0x11);
    w.data = data.data();
    std::vector<float> x(static_cast<size_t>(n_tokens * w.cols), 0.01f);
    std::vector<float> y(static_cast<size_t>(n_tokens * w.rows));
    auto backend = make_cpu_backend(threads);
    backend->matmul(w, x.data(), n_tokens, y.data());  // warm up: threads, caches
    double best = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 50; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        backend->matmul(w, x.data(), n_tokens, y.data());
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, 2.0 * double(w.rows) * double(w.cols) * double(n_tokens) / s);
        if (std::chrono::steady_clock::now() - start > std::chrono::milliseconds(250) && i >= 2)
            break;
    }
    return best;
}

MachineInfo this_machine(GgmlType weight_type, int threads) {
    MachineInfo m;
    m.name = "this machine";
    m.measured = true;
    m.threads = threads;
    const MemoryInfo mem = read_meminfo();
    m.total_memory = mem.total;
    m.available_memory = mem.available;
    m.bandwidth = machine_read_bandwidth(threads).gigabytes_per_second * kGB;
    m.prompt_flops = cached_matmul_flops(weight_type, 64, threads);
    m.generate_flops = cached_matmul_flops(weight_type, 1, threads);
    m.description = cpu_model_name() + ", " + std::to_string(threads) + " threads";
    return m;
}

const std::vector<MachineInfo>& machine_presets() {
    // Apple silicon shares memory with the GPU, which may use about three quarters of it; a
    // discrete GPU's memory is usable but for the driver's reserve. Figures: memory of a common
    // configuration, the vendor's bandwidth, fp16/fp32 GPU TFLOPS.
    static const std::vector<MachineInfo> presets = {
        preset("m1", "Apple M1, 16 GB", 16, 68, 2.6, 0.75),
        preset("m1-pro", "Apple M1 Pro, 32 GB", 32, 200, 5.2, 0.75),
        preset("m1-max", "Apple M1 Max, 64 GB", 64, 400, 10.4, 0.75),
        preset("m1-ultra", "Apple M1 Ultra, 128 GB", 128, 800, 21, 0.75),
        preset("m2", "Apple M2, 24 GB", 24, 100, 3.6, 0.75),
        preset("m2-pro", "Apple M2 Pro, 32 GB", 32, 200, 6.8, 0.75),
        preset("m2-max", "Apple M2 Max, 96 GB", 96, 400, 13.6, 0.75),
        preset("m2-ultra", "Apple M2 Ultra, 192 GB", 192, 800, 27.2, 0.75),
        preset("m3", "Apple M3, 24 GB", 24, 100, 4.1, 0.75),
        preset("m3-pro", "Apple M3 Pro, 36 GB", 36, 150, 7.4, 0.75),
        preset("m3-max", "Apple M3 Max, 128 GB", 128, 400, 16.4, 0.75),
        preset("m3-ultra", "Apple M3 Ultra, 512 GB", 512, 819, 28, 0.75),
        preset("m4", "Apple M4, 32 GB", 32, 120, 4.3, 0.75),
        preset("m4-pro", "Apple M4 Pro, 64 GB", 64, 273, 9.2, 0.75),
        preset("m4-max", "Apple M4 Max, 128 GB", 128, 546, 18.4, 0.75),
        preset("rtx-3090", "NVIDIA RTX 3090, 24 GB", 24, 936, 71, 0.96),
        preset("rtx-4090", "NVIDIA RTX 4090, 24 GB", 24, 1008, 165, 0.96),
        preset("h100", "NVIDIA H100 SXM, 80 GB", 80, 3350, 990, 0.97),
        preset("h200", "NVIDIA H200, 141 GB", 141, 4800, 990, 0.97),
    };
    return presets;
}

MachineInfo parse_machine_spec(std::string_view spec) {
    std::vector<std::string> parts;
    std::string current;
    for (const char c : spec) {
        if (c == ',')
            parts.push_back(current), current.clear();
        else if (c != ' ')
            current.push_back(c);
    }
    parts.push_back(current);
    std::string first = parts[0];
    for (auto& c : first) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& p : machine_presets()) {
        if (p.name != first) continue;
        MachineInfo m = p;
        if (parts.size() > 2) throw Error("machine spec: a preset takes at most a memory size");
        if (parts.size() == 2) {  // "m2-max,64GB": the same chip with another memory size
            const double share = double(p.available_memory) / double(p.total_memory);
            m.total_memory = static_cast<uint64_t>(parse_quantity(parts[1], "memory size"));
            m.available_memory = static_cast<uint64_t>(double(m.total_memory) * share);
            m.description = p.description.substr(0, p.description.rfind(',')) + ", " + parts[1];
        }
        return m;
    }
    if (parts.size() < 2 || parts.size() > 3 ||
        !std::isdigit(static_cast<unsigned char>(first[0]))) {
        std::string names;
        for (const auto& p : machine_presets()) names += (names.empty() ? "" : ", ") + p.name;
        throw Error("unknown machine '" + std::string(spec) + "': give SIZE,BANDWIDTH (e.g. " +
                    "32GB,120GB/s, optionally ,20TFLOPS) or a preset: " + names);
    }
    MachineInfo m;
    m.name = std::string(spec);
    m.total_memory = static_cast<uint64_t>(parse_quantity(parts[0], "memory size"));
    // An unnamed machine keeps a tenth of its memory for the system.
    m.available_memory = m.total_memory / 10 * 9;
    m.bandwidth = parse_quantity(parts[1], "bandwidth");
    const double flops = parts.size() == 3 ? parse_quantity(parts[2], "compute figure") : 10e12;
    m.prompt_flops = m.generate_flops = flops * 0.5;
    m.description = parts[0] + " memory, " + parts[1] + " read";
    return m;
}

}  // namespace uma
