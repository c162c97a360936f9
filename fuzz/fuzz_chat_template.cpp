// libFuzzer target for the chat-template interpreter: parses the input as a template and renders
// it with a small fixed chat context under tight limits. Syntax and runtime errors are expected
// (uma::Error); crashes, hangs, leaks and sanitizer reports are bugs.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
//       fuzz/fuzz_chat_template.cpp src/chat/*.cpp -o fuzz_chat_template
//   ./fuzz_chat_template -max_total_time=60 corpus/   (seed corpus: any chat templates)
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>

#include "uma/chat/chat_template.h"
#include "uma/core/error.h"

namespace {

const nlohmann::ordered_json& context() {
    static const auto ctx = nlohmann::ordered_json::parse(R"J({
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Héllo 🚀 <b>&\"quotes\"</b>"},
            {"role": "assistant", "content": "",
             "tool_calls": [{"id": "call_1", "type": "function",
                             "function": {"name": "get_weather",
                                          "arguments": {"city": "Paris", "n": 2.5}}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"t\": 18}"}
        ],
        "tools": [{"type": "function",
                   "function": {"name": "get_weather", "description": "Weather.",
                                "parameters": {"type": "object",
                                               "properties": {"city": {"type": "string"}},
                                               "required": ["city"]}}}],
        "add_generation_prompt": true,
        "bos_token": "<s>",
        "eos_token": "</s>"
    })J");
    return ctx;
}

std::tm fixed_time() {
    std::tm tm{};
    tm.tm_year = 126;
    tm.tm_mon = 10;
    tm.tm_mday = 24;
    tm.tm_hour = 12;
    tm.tm_wday = 2;
    return tm;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 64 * 1024) return 0;
    uma::RenderOptions opts;
    opts.now = fixed_time;
    opts.max_output_bytes = 1 << 20;
    opts.max_steps = 200'000;
    opts.max_objects = 100'000;
    opts.max_call_depth = 40;
    opts.max_stack_bytes = 512 << 10;
    try {
        const uma::ChatTemplate tmpl(std::string(reinterpret_cast<const char*>(data), size));
        const std::string out = tmpl.render(context(), opts);
        if (out.size() > opts.max_output_bytes) __builtin_trap();
    } catch (const uma::Error&) {
    }
    return 0;
}
