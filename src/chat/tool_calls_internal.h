#pragma once
// Internals of the tool-call parser (src/chat/tool_calls*.cpp): the markers, JSON scanning and
// the per-format recognisers. Every recogniser looks at text that may still grow and answers
// NeedMore unless no continuation could change its answer, which is what makes streaming
// split-invariant.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "uma/chat/tool_calls.h"

namespace uma::tool_call_detail {

inline constexpr std::string_view kHermesOpen = "<tool_call>";
inline constexpr std::string_view kHermesClose = "</tool_call>";
inline constexpr std::string_view kPythonTag = "<|python_tag|>";
inline constexpr std::string_view kMistralTag = "[TOOL_CALLS]";
inline constexpr std::string_view kDsCallsBegin = "<｜tool▁calls▁begin｜>";
inline constexpr std::string_view kDsCallsEnd = "<｜tool▁calls▁end｜>";
inline constexpr std::string_view kDsCallBegin = "<｜tool▁call▁begin｜>";
inline constexpr std::string_view kDsCallEnd = "<｜tool▁call▁end｜>";
inline constexpr std::string_view kDsSep = "<｜tool▁sep｜>";
inline constexpr std::string_view kFnRecipient = ">>>";
inline constexpr std::string_view kFnOpen = "<function=";
inline constexpr std::string_view kFnClose = "</function>";
inline constexpr std::string_view kFence = "```";

inline bool is_ws(char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

inline size_t skip_ws(std::string_view s, size_t i) {
    while (i < s.size() && is_ws(s[i])) ++i;
    return i;
}

inline bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

// Whether s, from i, starts with lit: Yes; Partial when s ends first but agrees so far (including
// when nothing is left), so more text could still make it Yes; No otherwise.
enum class Match { Yes, Partial, No };
Match match_lit(std::string_view s, size_t i, std::string_view lit);

// The end of the JSON object or list starting at s[i] ('{' or '['), found by bracket matching
// outside strings: Complete with the end, Incomplete when s ends first, Invalid on a mismatch.
enum class Scan { Complete, Incomplete, Invalid };
struct ScanResult {
    Scan kind;
    size_t end = 0;
};
ScanResult scan_json(std::string_view s, size_t i);

// Whether s from i could begin a JSON call: `{ "` (object) or `[ { "` (list), whitespace allowed.
Match json_call_opening(std::string_view s, size_t i);

// Arguments as JSON text (an object, or a JSON string holding one), serialised compactly.
bool arguments_from_text(std::string_view json, std::string& out);
// One call from the JSON text of {"name", "arguments"} / {"tool_name", "parameters"} /
// {"id", "function": {...}}.
bool call_from_text(std::string_view json, bool require_arguments, ToolCall& out);

// The outcome of looking at a possible call: wait for more text, not a call (the marker stays
// content), or calls covering the first `consumed` bytes.
struct Attempt {
    enum Kind { NeedMore, NotCall, Ok } kind = NotCall;
    size_t consumed = 0;
    std::vector<ToolCall> calls;
};

inline Attempt need_more() {
    Attempt a;
    a.kind = Attempt::NeedMore;
    return a;
}
inline Attempt need_more_or_not(bool final) {
    return final ? Attempt{} : need_more();
}
inline Attempt ok(size_t consumed, std::vector<ToolCall> calls) {
    Attempt a;
    a.kind = Attempt::Ok;
    a.consumed = consumed;
    a.calls = std::move(calls);
    return a;
}

// JSON call(s) at s[i] (after whitespace, maybe in a ``` fence), then the end tag. `follow` is
// a tag that may also end the call without being consumed. Strict: the call must be followed by
// end_tag, follow or the end of the reply; lenient: anything may follow.
struct RegionRules {
    std::string_view end_tag;
    std::string_view follow;
    bool strict = false;
    bool require_arguments = false;
};
Attempt json_region(std::string_view s, size_t i, bool final, const RegionRules& rules);

// The markers that open a call (or a block of calls) in a format.
std::vector<std::string_view> call_markers(ToolCallFormat format);
// Forms without an opening marker, tried only at the very beginning of a reply.
Attempt at_reply_start(ToolCallFormat format, std::string_view s, bool final);
// A call opened by `marker`, which s begins with.
Attempt at_marker(std::string_view marker, std::string_view s, bool final);

}  // namespace uma::tool_call_detail
