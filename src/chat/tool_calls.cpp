// Tool calls in model output: detection of a template's convention, and one incremental parser
// used both for whole replies and for streams. The parser only ever decides from text it has
// seen: a decision is taken when no continuation could change it (otherwise it waits for more
// text), so every way of splitting a reply into deltas gives the same result as parsing it whole.
#include "uma/chat/tool_calls.h"

#include <utility>

#include "chat/tool_calls_internal.h"

namespace uma {

using namespace tool_call_detail;

ToolCallFormat detect_tool_call_format(std::string_view t) {
    auto has = [&](std::string_view x) { return t.find(x) != std::string_view::npos; };
    if (has(kHermesOpen)) return ToolCallFormat::Hermes;
    if (has(kDsCallsBegin) || has(kDsCallBegin)) return ToolCallFormat::DeepSeek;
    if (has(kMistralTag)) return ToolCallFormat::Mistral;
    if (has(kFnOpen) || (has(kFnRecipient) && has("all"))) return ToolCallFormat::Functionary;
    const bool tools = has("tools") || has("tool_calls");
    if (has(kPythonTag) || (has("<|start_header_id|>") && (tools || has("\"parameters\""))))
        return ToolCallFormat::Llama3;
    if (tools) return ToolCallFormat::Generic;
    return ToolCallFormat::None;
}

std::string_view tool_call_format_name(ToolCallFormat format) {
    switch (format) {
        case ToolCallFormat::None:
            return "none";
        case ToolCallFormat::Hermes:
            return "hermes";
        case ToolCallFormat::Llama3:
            return "llama3";
        case ToolCallFormat::Mistral:
            return "mistral";
        case ToolCallFormat::DeepSeek:
            return "deepseek";
        case ToolCallFormat::Functionary:
            return "functionary";
        case ToolCallFormat::Generic:
            return "generic";
    }
    return "none";
}

namespace tool_call_detail {

// Content assembly: whitespace next to a call is a separator and dropped; content resumed after
// calls is joined to earlier content with one newline. Text with no calls passes unchanged.
struct ContentSink {
    std::string out;
    std::string pending_ws;
    bool after_call = false;
    bool any = false;

    void text(std::string_view s) {
        size_t i = 0;
        while (i < s.size()) {
            size_t j = i;
            while (j < s.size() && is_ws(s[j])) ++j;
            pending_ws.append(s.substr(i, j - i));
            if (j == s.size()) break;
            size_t k = j;
            while (k < s.size() && !is_ws(s[k])) ++k;
            if (after_call) {
                if (any) out += '\n';
                after_call = false;
            } else {
                out += pending_ws;
            }
            pending_ws.clear();
            out.append(s.substr(j, k - j));
            any = true;
            i = k;
        }
    }
    void call() {
        pending_ws.clear();
        after_call = true;
    }
    void end() {
        if (!after_call) out += pending_ws;
        pending_ws.clear();
    }
};

}  // namespace tool_call_detail

struct ToolCallStream::State {
    ToolCallFormat format;
    std::string buf;  // text not yet decided
    bool at_start = true;
    bool finished = false;
    size_t call_count = 0;
    ContentSink sink;
    std::vector<ToolCall> calls;

    explicit State(ToolCallFormat f) : format(f) {}

    void emit(std::vector<ToolCall>& found) {
        for (auto& c : found) {
            if (c.id.empty()) c.id = "call_" + std::to_string(call_count);
            ++call_count;
            sink.call();
            calls.push_back(std::move(c));
        }
    }

    void run(bool final);
};
void ToolCallStream::State::run(bool final) {
    const std::vector<std::string_view> marks = call_markers(format);
    size_t pos = 0;
    for (;;) {
        const std::string_view rest = std::string_view(buf).substr(pos);
        if (at_start) {
            Attempt a = at_reply_start(format, rest, final);
            if (a.kind == Attempt::NeedMore) break;
            at_start = false;
            if (a.kind == Attempt::Ok) {
                emit(a.calls);
                pos += a.consumed;
            }
            continue;
        }
        if (rest.empty()) break;
        size_t at = std::string_view::npos;
        std::string_view marker;
        for (std::string_view m : marks) {
            const size_t p = rest.find(m);
            if (p < at) {
                at = p;
                marker = m;
            }
        }
        if (at == std::string_view::npos) {
            // Hold back a tail that could be the beginning of a marker.
            size_t keep = 0;
            if (!final) {
                for (std::string_view m : marks) {
                    for (size_t n = std::min(m.size() - 1, rest.size()); n > keep; --n) {
                        if (rest.substr(rest.size() - n) == m.substr(0, n)) {
                            keep = n;
                            break;
                        }
                    }
                }
            }
            sink.text(rest.substr(0, rest.size() - keep));
            pos += rest.size() - keep;
            break;
        }
        sink.text(rest.substr(0, at));
        pos += at;
        Attempt a = at_marker(marker, rest.substr(at), final);
        if (a.kind == Attempt::NeedMore) break;
        if (a.kind == Attempt::Ok) {
            emit(a.calls);
            pos += a.consumed;
        } else {
            sink.text(marker);
            pos += marker.size();
        }
    }
    buf.erase(0, pos);
}

ToolCallStream::ToolCallStream(ToolCallFormat format) : state_(std::make_unique<State>(format)) {}
ToolCallStream::~ToolCallStream() = default;
ToolCallStream::ToolCallStream(ToolCallStream&&) noexcept = default;
ToolCallStream& ToolCallStream::operator=(ToolCallStream&&) noexcept = default;

ToolCallStream::Update ToolCallStream::feed(std::string_view delta) {
    Update update;
    if (!state_) return update;
    State& s = *state_;
    if (s.finished || s.format == ToolCallFormat::None) {
        update.content = std::string(delta);
        return update;
    }
    s.buf.append(delta);
    s.run(false);
    update.content = std::move(s.sink.out);
    s.sink.out.clear();
    update.new_calls = std::move(s.calls);
    s.calls.clear();
    return update;
}

ToolCallStream::Update ToolCallStream::finish() {
    Update update;
    if (!state_) return update;
    State& s = *state_;
    if (s.finished) return update;
    s.finished = true;
    if (s.format != ToolCallFormat::None) s.run(true);
    s.sink.end();
    update.content = std::move(s.sink.out);
    s.sink.out.clear();
    update.new_calls = std::move(s.calls);
    s.calls.clear();
    return update;
}

ParsedReply parse_tool_calls(std::string_view text, ToolCallFormat format) {
    ParsedReply reply;
    if (format == ToolCallFormat::None) {
        reply.content = std::string(text);
        return reply;
    }
    ToolCallStream stream(format);
    ToolCallStream::Update a = stream.feed(text);
    ToolCallStream::Update b = stream.finish();
    reply.content = std::move(a.content) + b.content;
    reply.tool_calls = std::move(a.new_calls);
    for (auto& c : b.new_calls) reply.tool_calls.push_back(std::move(c));
    return reply;
}

}  // namespace uma
