// The packed formats: the AVX2 and AVX-512 kernels against the scalar kernel on the packed layout
// (tight, also at the extremes of every quant), and the packed product against the in-place
// reference dot product on the original rows (within the error of quantizing the activations
// differently). Also the backend's matrix product with row counts that leave a partial tile.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/packed_formats.h"
#include "backends/cpu/packed_weights.h"
#include "backends/cpu/quant_formats.h"
#include "test_quant_helpers.h"
#include "uma/backends/backend.h"
#include "uma/backends/cpu/quant.h"

namespace uma::cpu::detail {
namespace {

using test::gaussian_values;

const GgmlType kPackedTypes[] = {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::IQ4_NL,
                                 GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                 GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                                 GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_XS};
// The formats of blocks of 32 columns, which AVX-512 packs its own way.
bool blocks_of_32(GgmlType type) {
    return traits(type).block_size == 32;
}

// Every packed layout: the one each instruction set's kernels read, in each grouping of blocks.
// (NEON's kernels read AVX2's layout; kNeon pairs them with it.)
struct Layout {
    SimdLevel level;
    Grouping grouping;
};
const Layout kLayouts[] = {{SimdLevel::avx2, Grouping::standard},
                           {SimdLevel::avx512, Grouping::standard},
                           {SimdLevel::avx512, Grouping::wide}};
constexpr Layout kNeon{SimdLevel::neon, Grouping::standard};
const char* layout_name(Layout layout) {
    if (layout.level == SimdLevel::neon) return "NEON";
    if (layout.level == SimdLevel::avx2) return "AVX2";
    return layout.grouping == Grouping::wide ? "AVX-512 wide" : "AVX-512";
}
// The scalar kernel's format in that layout; nullptr where the type has no such grouping.
const PackedFormat* reference_format(GgmlType type, Layout layout) {
    return packed_format_reference(type, layout.level, layout.grouping);
}
PackedKernels simd_kernels(GgmlType type, Layout layout) {
    switch (layout.level) {
        case SimdLevel::avx512:
            return packed_kernels_avx512(type, layout.grouping);
        case SimdLevel::avx2:
            return packed_kernels_avx2(type);
        case SimdLevel::neon:
            return packed_kernels_neon(type);
        case SimdLevel::scalar:
            break;
    }
    return packed_kernels_reference(type);
}

struct Matrix {
    GgmlType type;
    int64_t rows, cols;
    size_t row_bytes;
    std::vector<uint8_t> bytes;
    std::vector<float> dequantized;  // [rows][cols]
};

// Rows of very different magnitudes, one block of zeros, one row all zero.
Matrix random_matrix(GgmlType type, int64_t rows, int64_t cols, uint32_t seed) {
    Matrix m{type, rows, cols, row_size(type, cols), {}, {}};
    m.bytes.resize(m.row_bytes * size_t(rows));
    m.dequantized.resize(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
        auto values = gaussian_values(cols, seed + uint32_t(r), std::pow(10.0f, float(r % 4) - 2));
        if (r == 5) std::fill(values.begin(), values.begin() + 32, 0.0f);
        if (r == 7) std::fill(values.begin(), values.end(), 0.0f);
        quantize_row(type, values.data(), m.bytes.data() + size_t(r) * m.row_bytes, cols);
        dequantize_row(type, m.bytes.data() + size_t(r) * m.row_bytes,
                       m.dequantized.data() + r * cols, cols);
    }
    return m;
}

std::vector<uint8_t> pack(const PackedFormat& format, const Matrix& m) {
    const size_t tile_bytes = format.tile_bytes(m.cols);
    std::vector<uint8_t> tiles(tile_bytes * size_t(m.rows / kTileRows));
    for (int64_t t = 0; t < m.rows / kTileRows; ++t)
        format.pack_tile(m.bytes.data() + size_t(t * kTileRows) * m.row_bytes, m.row_bytes, m.cols,
                         tiles.data() + size_t(t) * tile_bytes);
    return tiles;
}

std::vector<uint8_t> quantized_activations(const PackedFormat& format,
                                           QuantizeActivationFn quantize,
                                           const std::vector<float>& x, int64_t n_tokens,
                                           int64_t cols) {
    const size_t stride = format.activation_bytes(cols);
    std::vector<uint8_t> act(stride * size_t(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t)
        quantize(x.data() + t * cols, cols, act.data() + t * stride);
    return act;
}

std::vector<float> packed_product(const PackedFormat& format, PackedGemmFn gemm, const Matrix& m,
                                  const std::vector<uint8_t>& tiles,
                                  const std::vector<uint8_t>& act, int64_t n_tokens) {
    std::vector<float> y(size_t(n_tokens * m.rows), NAN);
    const size_t tile_bytes = format.tile_bytes(m.cols);
    for (int64_t t = 0; t < m.rows / kTileRows; ++t)
        gemm(tiles.data() + size_t(t) * tile_bytes, m.cols, act.data(),
             format.activation_bytes(m.cols), n_tokens, y.data() + t * kTileRows, m.rows);
    return y;
}

// sum |w| |x| per output: the scale against which activation-quantization error is measured.
double magnitude(const Matrix& m, const float* x, int64_t r) {
    double s = 0;
    for (int64_t c = 0; c < m.cols; ++c)
        s += std::fabs(double(m.dequantized[r * m.cols + c]) * x[c]);
    return s;
}

// Every layout of every type (AVX-512 packs the blocks of 32 its own way).
TEST(PackedKernels, ScalarKernelMatchesTheOriginalRows) {
    for (GgmlType type : kPackedTypes)
        for (Layout layout : kLayouts) {
            const PackedFormat* format = reference_format(type, layout);
            if (layout.grouping == Grouping::wide && format == nullptr) continue;
            ASSERT_NE(format, nullptr) << type_name(type) << " " << layout_name(layout);
            const int64_t rows = 48, cols = 512, n_tokens = 3;
            const Matrix m = random_matrix(type, rows, cols, 11);
            const auto tiles = pack(*format, m);
            const auto x = gaussian_values(n_tokens * cols, 3);
            const auto act =
                quantized_activations(*format, format->quantize_activation, x, n_tokens, cols);
            const auto y = packed_product(*format, format->gemm, m, tiles, act, n_tokens);
            for (int64_t t = 0; t < n_tokens; ++t) {
                for (int64_t r = 0; r < rows; ++r) {
                    double exact = 0;
                    for (int64_t c = 0; c < cols; ++c)
                        exact += double(m.dequantized[r * cols + c]) * x[t * cols + c];
                    // int8 activations: each carries at most half a step of 1/127 of its block's
                    // max.
                    const double tolerance = 0.02 * magnitude(m, x.data() + t * cols, r) + 1e-6;
                    EXPECT_NEAR(y[t * rows + r], exact, tolerance)
                        << type_name(type) << " " << layout_name(layout) << " token " << t
                        << " row " << r;
                    if (r == 7) {
                        EXPECT_EQ(y[t * rows + r], 0.0f);
                    }
                }
            }
        }
}

// The layouts of the blocks of 32 hold the same numbers in different places.
TEST(PackedKernels, Block32LayoutsDifferOnlyInPlacement) {
    int wide = 0;
    for (GgmlType type : kPackedTypes) {
        if (!blocks_of_32(type)) continue;
        const Matrix m = random_matrix(type, 16, 512, 5);
        const auto first = pack(*reference_format(type, kLayouts[0]), m);
        auto sorted_first = first;
        std::sort(sorted_first.begin(), sorted_first.end());
        for (Layout layout : {kLayouts[1], kLayouts[2]}) {
            const PackedFormat* format = reference_format(type, layout);
            if (format == nullptr) continue;
            wide += layout.grouping == Grouping::wide;
            const auto other = pack(*format, m);
            ASSERT_EQ(first.size(), other.size()) << type_name(type) << " " << layout_name(layout);
            EXPECT_NE(first, other) << type_name(type) << " " << layout_name(layout);
            auto sorted_other = other;
            std::sort(sorted_other.begin(), sorted_other.end());
            EXPECT_EQ(sorted_first, sorted_other) << type_name(type) << " " << layout_name(layout);
        }
    }
    EXPECT_EQ(wide, 3);  // IQ4_NL, Q4_1 and Q5_1
}

// A SIMD kernel set against the scalar kernels: the same activation bytes, and products within
// float rounding of the scalar ones, for several row lengths and every token-count path.
void expect_matches_scalar_kernels(Layout layout) {
    const char* name = layout_name(layout);
    for (GgmlType type : kPackedTypes) {
        const PackedFormat* format = reference_format(type, layout);
        const PackedKernels fast = simd_kernels(type, layout);
        if (layout.grouping == Grouping::wide && format == nullptr) {
            EXPECT_EQ(fast.gemm, nullptr) << name << " " << type_name(type);
            continue;
        }
        ASSERT_NE(format, nullptr) << name << " " << type_name(type);
        ASSERT_NE(fast.gemm, nullptr) << name << " " << type_name(type);
        for (int64_t cols : {256, 2048, 5632 / 256 * 256 + 256}) {
            const int64_t rows = 32;
            const Matrix m = random_matrix(type, rows, cols, uint32_t(cols));
            const auto tiles = pack(*format, m);
            // Every token count exercises a different mix of the four/three/two/one-token paths.
            for (int64_t n_tokens : {1, 2, 3, 4, 5, 6, 7, 9}) {
                auto x = gaussian_values(n_tokens * cols, uint32_t(n_tokens));
                for (int64_t i = 0; i < 64; ++i) x[size_t(i)] = 0.0f;  // an all-zero block
                const auto act_ref =
                    quantized_activations(*format, format->quantize_activation, x, n_tokens, cols);
                const auto act_fast =
                    quantized_activations(*format, fast.quantize_activation, x, n_tokens, cols);
                ASSERT_EQ(act_ref, act_fast) << name << " " << type_name(type) << " activations";
                const auto y_ref =
                    packed_product(*format, format->gemm, m, tiles, act_ref, n_tokens);
                const auto y_fast = packed_product(*format, fast.gemm, m, tiles, act_ref, n_tokens);
                // FMA vs. multiply-add, and the order of the float sums: both round at the scale
                // of the terms (sum |w| |x|, which the sum itself can be far below), not of y.
                for (int64_t t = 0; t < n_tokens; ++t)
                    for (int64_t r = 0; r < rows; ++r) {
                        const size_t i = size_t(t * rows + r);
                        ASSERT_NEAR(y_fast[i], y_ref[i],
                                    1e-4 * std::fabs(y_ref[i]) +
                                        1e-6 * magnitude(m, x.data() + t * cols, r) + 1e-6)
                            << name << " " << type_name(type) << " cols " << cols << " tokens "
                            << n_tokens << " token " << t << " row " << r;
                    }
            }
        }
    }
}

TEST(PackedKernels, Avx512MatchesTheScalarKernel) {
    if (!runs_kernels_of(cpu_simd_level(), SimdLevel::avx512))
        GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
    expect_matches_scalar_kernels({SimdLevel::avx512, Grouping::standard});
    expect_matches_scalar_kernels({SimdLevel::avx512, Grouping::wide});
}

TEST(PackedKernels, Avx2MatchesTheScalarKernel) {
    if (!runs_kernels_of(cpu_simd_level(), SimdLevel::avx2)) GTEST_SKIP() << "no AVX2 on this CPU";
    expect_matches_scalar_kernels({SimdLevel::avx2, Grouping::standard});
}

// On x86 machines the AArch64 build of these tests runs this one under qemu-user (tests/arm64).
TEST(PackedKernels, NeonMatchesTheScalarKernel) {
    if (cpu_simd_level() != SimdLevel::neon) GTEST_SKIP() << "no NEON dot product on this CPU";
    expect_matches_scalar_kernels(kNeon);
}

// Tiles of the largest quants the layouts hold (15 for nibbles, 31 for Q5_*, 63 for Q6_K, +-127 and
// -128 for Q8_0, scales at their maximum) against activations of +-127 of one sign: the worst case
// for every intermediate sum the SIMD kernels keep in 16 or 32 bits. Integer sums must come out
// exact.
TEST(PackedKernels, ExtremeQuantsDoNotOverflowIntermediateSums) {
    const int64_t cols = 512, rows = 16;
    for (GgmlType type : kPackedTypes)
        for (Layout layout : {kLayouts[0], kLayouts[1], kLayouts[2], kNeon}) {
            if (!runs_kernels_of(cpu_simd_level(), layout.level)) continue;
            const PackedFormat* format = reference_format(type, layout);
            const PackedKernels fast = simd_kernels(type, layout);
            if (format == nullptr || fast.gemm == nullptr) continue;  // none for this type
            const size_t row_bytes = row_size(type, cols);
            for (int variant = 0; variant < 2; ++variant) {
                std::vector<uint8_t> original(row_bytes * size_t(rows));
                // Every block: its fp16 scale(s) 1.0 (0x3C00), then quants of all ones (or, for
                // Q8_0 in the second variant, -128).
                const size_t block_bytes = traits(type).type_size;
                const int64_t blocks = cols / traits(type).block_size;
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t b = 0; b < blocks; ++b) {
                        uint8_t* block =
                            original.data() + size_t(r) * row_bytes + size_t(b) * block_bytes;
                        std::memset(block, variant == 0 ? 0xFF : 0x80, block_bytes);
                        if (blocks_of_32(type)) {  // IQ4_NL: entries 113 (or -127 and 1)
                            block[0] = 0x00, block[1] = 0x3C;  // d
                            if (type == GgmlType::Q4_1 || type == GgmlType::Q5_1)
                                block[2] = 0x00, block[3] = 0x3C;  // m
                            if (type == GgmlType::Q8_0 && variant == 0)
                                std::memset(block + 2, 0x7F, 32);
                        } else if (type == GgmlType::IQ4_XS) {
                            block[0] = 0x00, block[1] = 0x3C;  // d; scales 31 (or -24 and 0)
                        } else if (type == GgmlType::Q2_K) {
                            // scales and mins 15 (or 0 and 8), quants 3 (or 2 and 0); d, dmin 1
                            block[80] = 0x00, block[81] = 0x3C, block[82] = 0x00, block[83] = 0x3C;
                        } else if (type == GgmlType::Q3_K) {
                            block[108] = 0x00, block[109] = 0x3C;  // d; quants 3 (or mostly -4)
                        } else if (type == GgmlType::Q4_K || type == GgmlType::Q5_K) {
                            block[0] = 0x00, block[1] = 0x3C, block[2] = 0x00, block[3] = 0x3C;
                        } else {  // Q6_K: ql, qh, scales (127 or -128), then d
                            std::memset(block + 192, variant == 0 ? 0x7F : 0x80, 16);
                            block[208] = 0x00, block[209] = 0x3C;
                        }
                    }
                const size_t tile_bytes = format->tile_bytes(cols);
                std::vector<uint8_t> tile(tile_bytes);
                format->pack_tile(original.data(), row_bytes, cols, tile.data());
                for (float sign : {1.0f, -1.0f}) {
                    const std::vector<float> x(size_t(cols), sign);
                    {
                        const auto act =
                            quantized_activations(*format, format->quantize_activation, x, 1, cols);
                        std::vector<float> y_ref(rows), y_fast(rows);
                        format->gemm(tile.data(), cols, act.data(), act.size(), 1, y_ref.data(),
                                     rows);
                        fast.gemm(tile.data(), cols, act.data(), act.size(), 1, y_fast.data(),
                                  rows);
                        for (int64_t r = 0; r < rows; ++r)
                            ASSERT_NEAR(y_fast[r], y_ref[r], 1e-5 * std::fabs(y_ref[r]))
                                << type_name(type) << " " << layout_name(layout) << " variant "
                                << variant << " sign " << sign << " row " << r;
                    }
                }
            }
        }
}

// The backend's product against the in-place reference kernels, for row counts with and without a
// partial last tile and for decode and prompt-sized batches, and with rows that are not whole
// groups of a packed format (96 and 320 columns: Q4_0 packs groups of 128, Q8_0 of 64), which
// stay in place.
TEST(PackedKernels, BackendMatmulMatchesTheReferenceDotProduct) {
    auto backend = make_cpu_backend(2);
    for (GgmlType type : kPackedTypes) {
        for (int64_t cols : {int64_t(768), int64_t(96), int64_t(320)}) {
            if (!blocks_of_32(type) && cols != 768) continue;
            for (int64_t rows : {16, 40, 64}) {
                const Matrix m = random_matrix(type, rows, cols, uint32_t(rows) + 100);
                Weight w;
                w.name = "test";
                w.type = type;
                w.cols = cols;
                w.rows = rows;
                w.row_bytes = m.row_bytes;
                w.data = m.bytes.data();
                for (int64_t n_tokens : {1, 6}) {
                    const auto x = gaussian_values(n_tokens * cols, 77);
                    std::vector<float> y(size_t(n_tokens * rows));
                    backend->matmul(w, x.data(), n_tokens, y.data());
                    const GgmlType act_type = activation_type(type);
                    std::vector<uint8_t> act(row_size(act_type, cols));
                    for (int64_t t = 0; t < n_tokens; ++t) {
                        quantize_row(act_type, x.data() + t * cols, act.data(), cols);
                        for (int64_t r = 0; r < rows; ++r) {
                            float expected = 0;
                            vec_dot_reference(type)(cols, &expected,
                                                    m.bytes.data() + r * m.row_bytes, act.data());
                            EXPECT_NEAR(y[t * rows + r], expected,
                                        0.02 * magnitude(m, x.data() + t * cols, r) + 1e-6)
                                << type_name(type) << " cols " << cols << " rows " << rows
                                << " token " << t << " row " << r;
                        }
                    }
                }
            }
        }
    }
}

TEST(PackedKernels, FormatsNeedWholeGroupsOfColumns) {
    if (!runs_kernels_of(active_simd_level(), SimdLevel::avx2))
        GTEST_SKIP() << "these are the x86 formats; this CPU lacks the instruction set";
    EXPECT_NE(packed_format(GgmlType::Q4_0, 896), nullptr);  // Qwen2.5-0.5B: 7 groups of 128
    EXPECT_EQ(packed_format(GgmlType::Q4_0, 320), nullptr);
    EXPECT_NE(packed_format(GgmlType::Q8_0, 320), nullptr);
    EXPECT_EQ(packed_format(GgmlType::Q8_0, 96), nullptr);
    EXPECT_EQ(packed_format(GgmlType::Q4_K, 384), nullptr);
    EXPECT_NE(packed_format(GgmlType::Q6_K, 512), nullptr);
    // Wide groups where the row holds them, standard ones elsewhere.
    const bool wide = active_simd_level() >= SimdLevel::avx512;
    for (GgmlType type : {GgmlType::Q4_1, GgmlType::Q5_1, GgmlType::IQ4_NL}) {
        ASSERT_NE(packed_format(type, 896), nullptr) << type_name(type);
        EXPECT_EQ(packed_format(type, 896)->column_group, 128) << type_name(type);
        EXPECT_EQ(packed_format(type, 2048)->column_group, wide ? 256 : 128) << type_name(type);
    }
    EXPECT_EQ(packed_format(GgmlType::Q4_0, 2048)->column_group, 128);
}

// A group of products with one input gives what the products give one by one, whether the group
// runs as one (K-quants share their input format), falls apart (Q4_0 with Q8_0, F32), or has
// partial tiles.
TEST(PackedKernels, MatmulManyMatchesSeparateProducts) {
    auto backend = make_cpu_backend(2);
    const int64_t cols = 512;
    const std::vector<std::vector<std::pair<GgmlType, int64_t>>> groups = {
        {{GgmlType::Q4_K, 48}, {GgmlType::Q6_K, 16}, {GgmlType::Q4_K, 40}},
        {{GgmlType::Q4_0, 32}, {GgmlType::Q8_0, 32}},
        {{GgmlType::Q8_0, 64}, {GgmlType::F32, 16}},
    };
    for (const auto& group : groups) {
        std::vector<Matrix> matrices;
        std::vector<Weight> weights;
        for (const auto& [type, rows] : group)
            matrices.push_back(random_matrix(type, rows, cols, uint32_t(rows)));
        for (const Matrix& m : matrices) {
            Weight w;
            w.name = "test";
            w.type = m.type;
            w.cols = cols;
            w.rows = m.rows;
            w.row_bytes = m.row_bytes;
            w.data = m.bytes.data();
            weights.push_back(w);
        }
        for (int64_t n_tokens : {1, 5}) {
            const auto x = gaussian_values(n_tokens * cols, 21);
            std::vector<std::vector<float>> together(weights.size()), apart(weights.size());
            std::vector<MatmulTarget> targets;
            for (size_t i = 0; i < weights.size(); ++i) {
                together[i].assign(size_t(n_tokens * weights[i].rows), NAN);
                apart[i].assign(size_t(n_tokens * weights[i].rows), NAN);
                targets.push_back({&weights[i], together[i].data()});
            }
            backend->matmul_many(targets, x.data(), n_tokens);
            for (size_t i = 0; i < weights.size(); ++i) {
                backend->matmul(weights[i], x.data(), n_tokens, apart[i].data());
                EXPECT_EQ(together[i], apart[i]) << type_name(weights[i].type) << " in group";
            }
        }
    }
}

// Weights whose rows are also looked up (a tied embedding) stay in place: a packed copy would sit
// beside the file pages the lookups keep resident.
TEST(PackedKernels, RowLookupWeightsStayInPlace) {
    if (active_simd_level() == SimdLevel::scalar)
        GTEST_SKIP() << "packing needs AVX2 or NEON; this CPU lacks the instruction set";
    const Matrix m = random_matrix(GgmlType::Q4_0, 32, 256, 3);
    Weight w;
    w.name = "token_embd.weight";
    w.type = m.type;
    w.cols = m.cols;
    w.rows = m.rows;
    w.row_bytes = m.row_bytes;
    w.data = m.bytes.data();
    ThreadPool pool(1);
    PackedWeightCache cache;
    EXPECT_NE(cache.find_or_pack(w, pool), nullptr);
    Weight tied = w;
    tied.rows = 16;  // another key, so that the cache has not seen it
    tied.row_lookups = true;
    EXPECT_EQ(cache.find_or_pack(tied, pool), nullptr);
}

}  // namespace
}  // namespace uma::cpu::detail
