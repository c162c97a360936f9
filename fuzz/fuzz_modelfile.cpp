// libFuzzer target: any byte string is a parsed Modelfile or a uma::Error, never a crash or hang;
// and a parsed Modelfile written back out (Modelfile::to_string) parses to the same Modelfile.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "uma/core/error.h"
#include "uma/runtime/modelfile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    uma::Modelfile first;
    try {
        first = uma::Modelfile::parse({reinterpret_cast<const char*>(data), size});
    } catch (const uma::Error&) {
        return 0;
    }
    const uma::Modelfile second = uma::Modelfile::parse(first.to_string());
    const bool same_messages = first.messages.size() == second.messages.size() && [&] {
        for (size_t i = 0; i < first.messages.size(); ++i)
            if (first.messages[i].role != second.messages[i].role ||
                first.messages[i].content != second.messages[i].content)
                return false;
        return true;
    }();
    if (first.from != second.from || first.system != second.system ||
        first.template_text != second.template_text || first.license != second.license ||
        !(first.parameters == second.parameters) || !same_messages)
        std::abort();  // the round trip changed something
    return 0;
}
