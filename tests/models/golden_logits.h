#pragma once
// Reading ../shared/golden/logits: its manifest, the oracles' logits, and the comparison with the
// tolerances its README states.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <vector>

#include "test_data.h"

namespace uma::test {

struct Tolerance {
    double exact;
    double ref;
};

// Tolerances from golden/logits/README.md. uma quantizes activations to 8 bits for quantized
// weights, so quantized models get the "8-bit activations" row.
inline Tolerance tolerance_for(const nlohmann::json& tensor_types) {
    bool bf16 = false, quantized = false;
    for (const auto& [type, count] : tensor_types.items()) {
        if (type == "BF16")
            bf16 = true;
        else if (type != "F32" && type != "F16")
            quantized = true;
    }
    if (quantized) return {4e-2, 4e-2};
    if (bf16) return {1e-2, 1e-2};
    return {1e-3, 1e-3};
}

inline std::vector<float> read_f32(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    in.seekg(0, std::ios::end);
    std::vector<float> v(static_cast<size_t>(in.tellg()) / 4);
    in.seekg(0);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
    return v;
}

// The index of the largest logit (the first of equals).
inline size_t largest(std::span<const float> logits) {
    return size_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

struct Comparison {
    double rel_max_err;
    double argmax_agree;
};

inline Comparison compare(const std::vector<float>& ours, const std::vector<float>& oracle,
                          int64_t vocab) {
    double max_abs = 0, max_err = 0;
    for (size_t i = 0; i < oracle.size(); ++i) {
        max_abs = std::max(max_abs, double(std::abs(oracle[i])));
        max_err = std::max(max_err, double(std::abs(ours[i] - oracle[i])));
    }
    const size_t rows = oracle.size() / static_cast<size_t>(vocab);
    size_t agree = 0;
    for (size_t r = 0; r < rows; ++r) {
        std::span<const float> a(ours.data() + r * vocab, vocab),
            b(oracle.data() + r * vocab, vocab);
        agree += largest(a) == largest(b);
    }
    return {max_err / max_abs, double(agree) / double(rows)};
}

// stories260K (../shared/README.md): the prompt "Once upon a time" with BOS, and the reference's
// greedy continuation, 80 tokens including the prompt's four.
inline const std::vector<int32_t> kStoriesPrompt = {1, 403, 407, 261, 378};
inline const std::vector<int32_t> kStoriesContinuation = {
    403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
    401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
    328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267,
    337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13,  438, 310,
    439, 419, 357, 336, 432, 313, 438, 310, 432, 278, 316, 439, 419, 298, 414, 267};

inline nlohmann::json manifest() {
    std::ifstream in(data_path("golden/logits/MANIFEST.json"));
    return nlohmann::json::parse(in);
}

}  // namespace uma::test
