#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "uma/runtime/quantize.h"
#include "uma/runtime/quantize_writer.h"

namespace uma {

// The architecture and sizes of a well-known model, for writing a random-weight stand-in with its
// real tensor names and shapes.
struct SynthShape {
    std::string_view name;          // "tinyllama-1.1b"
    std::string_view architecture;  // "llama" or "qwen2"
    int64_t n_embd, n_layer, n_head, n_head_kv, n_ff;
    int64_t n_vocab;  // embedding rows; 0: exactly the tokenizer's size
    int64_t n_ctx;
    double rope_base;
    double norm_eps;
    bool tied_output;           // no output.weight: the embedding doubles as the output projection
    double llama3_rope_factor;  // > 0: write Llama 3.1-style rope_freqs.weight with this factor
    std::string_view vocab_file;  // the tokenizer, from the shared vocab directory
};

std::span<const SynthShape> synth_shapes();
// The error lists every shape.
const SynthShape& find_synth_shape(std::string_view name);

struct SynthOptions {
    std::string output_path;
    std::string vocab_path;  // a GGUF with tokenizer.* keys; empty: the shape's file, found by
                             // find_vocab_file
    uint64_t seed = 1;
    int n_threads = 0;
};

struct SynthReport {
    int64_t parameters = 0;
    size_t tensor_bytes = 0;
    int64_t n_vocab = 0;
    std::string vocab_path;
    double seconds = 0;
};

// Writes a model of `shape` whose matrices hold random values (uniform, std 0.02; norms 1) encoded
// in `scheme` with its per-tensor mix. Only a pool of distinct rows per tensor is generated and
// quantized, and the tensor is tiled from it: memory traffic and compute are those of the real
// model, while a 7B file takes seconds instead of many minutes to write.
SynthReport synth_model(const SynthShape& shape, const QuantScheme& scheme,
                        const SynthOptions& options);

// The tensors synth_model writes for `shape` in `scheme` with an embedding of n_vocab rows.
std::vector<GgufStreamWriter::Tensor> synth_tensors(const SynthShape& shape,
                                                    const QuantScheme& scheme, int64_t n_vocab);

// Finds a vocabulary GGUF by file name: $UMA_VOCAB_DIR, $UMA_TEST_DATA/vocab, then the shared
// test-data directory beside the repository as seen from the executable and the working directory.
std::string find_vocab_file(std::string_view file_name);

}  // namespace uma
