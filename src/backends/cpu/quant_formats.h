#pragma once
// Private interface between the format implementations (one file per family) and the public
// dispatch in quant_dispatch.cpp. Tests include it to reach the per-level SIMD kernels.
#include <cstdint>

#include "uma/backends/cpu/quant.h"
#include "uma/core/ggml_type.h"

namespace uma::cpu::detail {

// What one format provides in plain scalar C++.
struct FormatOps {
    void (*dequantize)(const void* src, float* dst, int64_t n);
    void (*quantize)(const float* src, void* dst, int64_t n);
    VecDotFn vec_dot;          // reference dot with an activation row; nullptr if not a weight type
    GgmlType activation_type;  // the format vec_dot expects for its activation row
};

// Each family answers for its own types and returns nullptr for the others.
const FormatOps* float_format_ops(GgmlType type);   // F32, F16, BF16
const FormatOps* legacy_format_ops(GgmlType type);  // Q4_0, Q4_1, Q5_0, Q5_1, Q8_0
const FormatOps* kquant_format_ops(GgmlType type);  // Q2_K .. Q6_K, Q8_K
const FormatOps* iq4_format_ops(GgmlType type);     // IQ4_NL, IQ4_XS

// The instruction sets with kernels of their own: on x86-64 AVX2 and AVX-512 (VNNI), each level
// including the one below; on AArch64 NEON with the dot-product instructions.
enum class SimdLevel { scalar = 0, avx2 = 1, avx512 = 2, neon = 3 };

// Whether a CPU at level `cpu` runs the kernels written for `level`.
constexpr bool runs_kernels_of(SimdLevel cpu, SimdLevel level) {
    if (level == SimdLevel::scalar) return true;
    if ((cpu == SimdLevel::neon) != (level == SimdLevel::neon)) return false;
    return cpu >= level;
}

const char* simd_level_name(SimdLevel level);
// What the CPU (and the build) can run, ignoring UMA_SIMD.
SimdLevel cpu_simd_level();
// The level the dispatcher uses: cpu_simd_level() capped by UMA_SIMD (scalar|avx2|avx512|neon;
// a level of the other architecture caps to scalar).
SimdLevel active_simd_level();

// The kernels written for exactly one instruction set; nullptr where that set has no kernel for
// the type (or the build is not for that architecture). Call them only when cpu_simd_level()
// allows.
VecDotFn vec_dot_avx2(GgmlType weight_type);
VecDotFn vec_dot_avx512(GgmlType weight_type);
VecDotFn vec_dot_neon(GgmlType weight_type);  // AArch64 with the dot-product instructions

// The AVX2 kernels by family (quant_float_avx2.cpp, quant_legacy_avx2.cpp,
// quant_kquants_avx2.cpp), combined by vec_dot_avx2.
VecDotFn float_vec_dot_avx2(GgmlType weight_type);
VecDotFn legacy_vec_dot_avx2(GgmlType weight_type);
VecDotFn kquant_vec_dot_avx2(GgmlType weight_type);

// The fastest kernel at or below `level`, falling back to the scalar reference.
VecDotFn vec_dot_for_level(GgmlType weight_type, SimdLevel level);

}  // namespace uma::cpu::detail
