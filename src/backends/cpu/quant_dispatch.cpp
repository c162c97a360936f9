// The public quantization API: finds the format family for a type, checks row lengths, and picks
// the dot-product kernel for this CPU once.
#include <array>
#include <cstdlib>
#include <string>
#include <string_view>

#include "backends/cpu/packed_formats.h"
#include "backends/cpu/quant_formats.h"
#include "backends/cpu/quant_prepared.h"
#include "uma/backends/cpu/quant.h"
#include "uma/core/error.h"

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

namespace uma::cpu {
namespace detail {

const char* simd_level_name(SimdLevel level) {
    switch (level) {
        case SimdLevel::avx512:
            return "avx512";
        case SimdLevel::avx2:
            return "avx2";
        case SimdLevel::neon:
            return "neon";
        case SimdLevel::scalar:
            break;
    }
    return "scalar";
}

SimdLevel cpu_simd_level() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // Exactly the extensions the *_avx2.cpp / *_avx512.cpp files are compiled for. (Clang's
    // __builtin_cpu_supports has no "f16c", so that one bit comes from CPUID leaf 1 directly.)
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c &&
                      __builtin_cpu_supports("bmi2");
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                        __builtin_cpu_supports("avx512vnni");
    if (avx2 && avx512) return SimdLevel::avx512;
    if (avx2) return SimdLevel::avx2;
#elif defined(__aarch64__)
    // The NEON kernels use the dot-product instructions (ARMv8.2 and later: every Apple M chip,
    // Graviton 2 on); cores without them take the scalar ones.
#if defined(__linux__)
    const bool dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__APPLE__)
    int has = 0;
    size_t size = sizeof has;
    const bool dotprod =
        sysctlbyname("hw.optional.arm.FEAT_DotProd", &has, &size, nullptr, 0) == 0 && has != 0;
#else
    const bool dotprod = false;
#endif
    if (dotprod && packed_kernels_neon(GgmlType::Q4_0).gemm != nullptr) return SimdLevel::neon;
#endif
    return SimdLevel::scalar;
}

SimdLevel active_simd_level() {
    static const SimdLevel level = [] {
        const SimdLevel supported = cpu_simd_level();
        const char* cap = std::getenv("UMA_SIMD");
        if (cap == nullptr || *cap == '\0') return supported;
        const std::string_view requested = cap;
        SimdLevel limit;
        if (requested == "scalar")
            limit = SimdLevel::scalar;
        else if (requested == "avx2")
            limit = SimdLevel::avx2;
        else if (requested == "avx512")
            limit = SimdLevel::avx512;
        else if (requested == "neon")
            limit = SimdLevel::neon;
        else
            throw Error("UMA_SIMD=" + std::string(requested) +
                        " is not one of scalar, avx2, avx512, neon");
        if (runs_kernels_of(supported, limit)) return limit;
        return runs_kernels_of(limit, supported) ? supported : SimdLevel::scalar;
    }();
    return level;
}

namespace {

const FormatOps* find_format(GgmlType type) {
    for (const auto family :
         {float_format_ops, legacy_format_ops, kquant_format_ops, iq4_format_ops})
        if (const FormatOps* ops = family(type)) return ops;
    return nullptr;
}

std::string describe(GgmlType type) {
    const auto traits = type_traits(static_cast<uint32_t>(type));
    return traits ? std::string(traits->name) : "id " + std::to_string(static_cast<uint32_t>(type));
}

const FormatOps& require_format(GgmlType type, std::string_view operation) {
    const FormatOps* ops = find_format(type);
    if (ops == nullptr)
        throw Error(std::string(operation) + ": tensor type " + describe(type) +
                    " is not supported by the CPU backend");
    return *ops;
}

void check_row_length(GgmlType type, int64_t n, std::string_view operation) {
    const int64_t block = traits(type).block_size;
    if (n < 0 || n % block != 0)
        throw Error(std::string(operation) + ": a row of " + std::to_string(n) + " " +
                    describe(type) + " elements is not a multiple of the block size " +
                    std::to_string(block));
}

VecDotFn require_reference(GgmlType type) {
    const FormatOps& ops = require_format(type, "vec_dot");
    if (ops.vec_dot == nullptr)
        throw Error("vec_dot: " + describe(type) + " is an activation format, not a weight type");
    return ops.vec_dot;
}

// Type ids are small (GGUF numbers them 0..30); the table covers every id a GgmlType can name.
constexpr size_t kTypeIdCount = 32;

struct DispatchTable {
    std::array<VecDotFn, kTypeIdCount> kernels{};
};

}  // namespace

VecDotFn vec_dot_avx2(GgmlType weight_type) {
    for (const auto family : {float_vec_dot_avx2, legacy_vec_dot_avx2, kquant_vec_dot_avx2})
        if (const VecDotFn kernel = family(weight_type)) return kernel;
    return nullptr;
}

VecDotFn vec_dot_for_level(GgmlType weight_type, SimdLevel level) {
    const VecDotFn reference = require_reference(weight_type);
    if (runs_kernels_of(level, SimdLevel::neon))
        if (const VecDotFn kernel = vec_dot_neon(weight_type)) return kernel;
    if (runs_kernels_of(level, SimdLevel::avx512))
        if (const VecDotFn kernel = vec_dot_avx512(weight_type)) return kernel;
    if (runs_kernels_of(level, SimdLevel::avx2))
        if (const VecDotFn kernel = vec_dot_avx2(weight_type)) return kernel;
    return reference;
}

const PreparedKernel* prepared_kernel(GgmlType weight_type, int64_t n) {
    if (!runs_kernels_of(active_simd_level(), SimdLevel::avx512)) return nullptr;
    const PreparedKernel* kernel = prepared_kernel_avx512(weight_type);
    return kernel != nullptr && n % kernel->group == 0 ? kernel : nullptr;
}

}  // namespace detail

using detail::require_format;

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
    const detail::FormatOps& ops = require_format(type, "dequantize_row");
    detail::check_row_length(type, n, "dequantize_row");
    ops.dequantize(src, dst, n);
}

void quantize_row(GgmlType type, const float* src, void* dst, int64_t n) {
    const detail::FormatOps& ops = require_format(type, "quantize_row");
    detail::check_row_length(type, n, "quantize_row");
    ops.quantize(src, dst, n);
}

GgmlType activation_type(GgmlType weight_type) {
    return require_format(weight_type, "activation_type").activation_type;
}

VecDotFn vec_dot_reference(GgmlType weight_type) {
    return detail::require_reference(weight_type);
}

VecDotFn vec_dot_kernel(GgmlType weight_type) {
    // Built once: every supported weight type gets the best kernel of the active level.
    static const detail::DispatchTable table = [] {
        detail::DispatchTable built;
        const detail::SimdLevel level = detail::active_simd_level();
        for (uint32_t id = 0; id < detail::kTypeIdCount; ++id) {
            const auto type = static_cast<GgmlType>(id);
            const detail::FormatOps* ops = detail::find_format(type);
            if (ops != nullptr && ops->vec_dot != nullptr)
                built.kernels[id] = detail::vec_dot_for_level(type, level);
        }
        return built;
    }();
    const auto id = static_cast<uint32_t>(weight_type);
    if (id < detail::kTypeIdCount && table.kernels[id] != nullptr) return table.kernels[id];
    return detail::require_reference(weight_type);  // throws the precise error
}

const char* simd_level_name() {
    return detail::simd_level_name(detail::active_simd_level());
}

}  // namespace uma::cpu
