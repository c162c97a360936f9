// libFuzzer target: the GGUF reader must turn any byte string into a parsed file or a uma::Error,
// never a crash, a hang or an out-of-bounds read. Parsed files are also walked as a model loader
// would walk them.
#include <cstddef>
#include <cstdint>

#include "uma/core/error.h"
#include "uma/core/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto file = uma::GgufFile::from_memory({data, size}, "fuzz.gguf");
        volatile uint64_t sink = 0;
        for (const auto& key : file->keys()) {
            const uma::GgufValue* v = file->find(key);
            sink = sink + v->array.size() + v->string_value.size();
            if (v->is_number()) sink = sink + static_cast<uint64_t>(v->as_float(key));
        }
        for (const auto& t : file->tensors()) {
            // Touch the first and last byte of every tensor: both must lie inside the buffer.
            if (t.n_bytes > 0) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
        }
    } catch (const uma::Error&) {
    }
    return 0;
}
