// Tool-call parsing internals: the recognisers of each model family's call syntax.
#include <utility>

#include "chat/tool_calls_internal.h"

namespace uma::tool_call_detail {

namespace {

// Llama 3: JSON calls separated by ';' (after <|python_tag|>, or as the whole reply).
Attempt bare_llama3(std::string_view s, size_t i, bool final, bool strict) {
    std::vector<ToolCall> calls;
    for (;;) {
        i = skip_ws(s, i);
        if (i >= s.size()) {
            if (!final) return need_more();
            return calls.empty() ? Attempt{} : ok(s.size(), std::move(calls));
        }
        const Match opening = json_call_opening(s, i);
        if (opening == Match::No || s[i] != '{') return {};
        const ScanResult scan = scan_json(s, i);
        if (scan.kind == Scan::Invalid) return {};
        if (scan.kind == Scan::Incomplete) return need_more_or_not(final);
        ToolCall call;
        if (!call_from_text(s.substr(i, scan.end - i), strict, call)) return {};
        calls.push_back(std::move(call));
        const size_t e = skip_ws(s, scan.end);
        if (e >= s.size()) {
            if (!final) return need_more();
            return ok(scan.end, std::move(calls));
        }
        if (s[e] == ';') {
            i = e + 1;
            continue;
        }
        for (std::string_view end :
             {std::string_view("<|eom_id|>"), std::string_view("<|eot_id|>")}) {
            const Match m = match_lit(s, e, end);
            if (m == Match::Yes) return ok(e + end.size(), std::move(calls));
            if (m == Match::Partial) return need_more_or_not(final);
        }
        if (strict) return {};
        return ok(scan.end, std::move(calls));
    }
}

// Generic: the whole reply is a call or list of calls, maybe in a ```json fence, maybe after
// "Action:" (Command-R).
Attempt bare_generic(std::string_view s, bool final) {
    size_t i = skip_ws(s, 0);
    if (i >= s.size()) return need_more_or_not(final);
    switch (match_lit(s, i, "Action:")) {
        case Match::Yes:
            i = skip_ws(s, i + 7);
            break;
        case Match::Partial:
            return need_more_or_not(final);
        case Match::No:
            break;
    }
    if (i >= s.size()) return need_more_or_not(final);
    if (s[i] == '`') {
        if (match_lit(s, i, kFence) == Match::Partial) return need_more_or_not(final);
    } else if (json_call_opening(s, i) == Match::Partial) {
        return need_more_or_not(final);
    } else if (json_call_opening(s, i) == Match::No) {
        return {};
    }
    RegionRules rules;
    rules.strict = true;
    rules.require_arguments = true;
    return json_region(s, i, final, rules);
}

// Functionary v3.2: ">>>NAME\n{...}"; ">>>all\n" introduces content.
Attempt functionary_recipient(std::string_view s, size_t i, bool final) {
    size_t j = i;
    while (j < s.size() && is_name_char(s[j])) ++j;
    if (j >= s.size()) return need_more_or_not(final);
    if (j == i || s[j] != '\n') return {};
    const std::string_view name = s.substr(i, j - i);
    if (name == "all") return ok(j + 1, {});
    const size_t k = skip_ws(s, j + 1);
    if (k >= s.size()) return need_more_or_not(final);
    if (s[k] != '{') return {};
    const ScanResult scan = scan_json(s, k);
    if (scan.kind == Scan::Invalid) return {};
    if (scan.kind == Scan::Incomplete) return need_more_or_not(final);
    ToolCall call;
    call.name = std::string(name);
    if (!arguments_from_text(s.substr(k, scan.end - k), call.arguments)) return {};
    std::vector<ToolCall> calls;
    calls.push_back(std::move(call));
    return ok(scan.end, std::move(calls));
}

// Functionary v3.1: "<function=NAME>{...}</function>"; i is just past "<function=".
Attempt functionary_v31(std::string_view s, size_t i, bool final) {
    size_t j = i;
    while (j < s.size() && is_name_char(s[j])) ++j;
    if (j >= s.size()) return need_more_or_not(final);
    if (j == i || s[j] != '>') return {};
    const std::string name(s.substr(i, j - i));
    const size_t k = skip_ws(s, j + 1);
    if (k >= s.size()) return need_more_or_not(final);
    if (s[k] != '{') return {};
    const size_t limit = s.find(kFnClose, k);
    const std::string_view limited = limit == std::string_view::npos ? s : s.substr(0, limit);
    const ScanResult scan = scan_json(limited, k);
    if (scan.kind == Scan::Invalid) return {};
    if (scan.kind == Scan::Incomplete)
        return limit != std::string_view::npos ? Attempt{} : need_more_or_not(final);
    ToolCall call;
    call.name = name;
    if (!arguments_from_text(s.substr(k, scan.end - k), call.arguments)) return {};
    std::vector<ToolCall> calls;
    calls.push_back(std::move(call));
    const size_t e = skip_ws(s, scan.end);
    if (e >= s.size()) return final ? ok(scan.end, std::move(calls)) : need_more();
    const Match m = match_lit(s, e, kFnClose);
    if (m == Match::Yes) return ok(e + kFnClose.size(), std::move(calls));
    if (m == Match::Partial) return final ? Attempt{} : need_more();
    return ok(scan.end, std::move(calls));
}

// DeepSeek:
// "<｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{...}\n```<｜tool▁call▁end｜>"; i is
// just past the call-begin token.
Attempt deepseek_call(std::string_view s, size_t i, bool final) {
    size_t end = std::string_view::npos, consumed = 0;
    for (std::string_view tag : {kDsCallEnd, kDsCallsEnd, kDsCallBegin}) {
        const size_t p = s.find(tag, i);
        if (p < end) {
            end = p;
            consumed = tag == kDsCallEnd ? p + tag.size() : p;
        }
    }
    if (end == std::string_view::npos) {
        if (!final) return need_more();
        end = consumed = s.size();
    }
    const std::string_view region = s.substr(i, end - i);
    const size_t sep = region.find(kDsSep);
    if (sep == std::string_view::npos) return {};
    size_t n = sep + kDsSep.size();
    size_t nl = n;
    while (nl < region.size() && region[nl] != '\n' && region[nl] != '`' && region[nl] != '{') ++nl;
    std::string_view name = region.substr(n, nl - n);
    while (!name.empty() && is_ws(name.back())) name.remove_suffix(1);
    while (!name.empty() && is_ws(name.front())) name.remove_prefix(1);
    if (name.empty()) return {};
    std::string_view body = region.substr(nl);
    size_t b = skip_ws(body, 0);
    if (match_lit(body, b, kFence) == Match::Yes) {
        b += kFence.size();
        if (match_lit(body, b, "json") == Match::Yes) b += 4;
    }
    body = body.substr(b);
    while (!body.empty() && is_ws(body.back())) body.remove_suffix(1);
    if (body.size() >= kFence.size() && body.substr(body.size() - kFence.size()) == kFence)
        body.remove_suffix(kFence.size());
    ToolCall call;
    call.name = std::string(name);
    if (!arguments_from_text(body, call.arguments)) return {};
    std::vector<ToolCall> calls;
    calls.push_back(std::move(call));
    return ok(consumed, std::move(calls));
}

}  // namespace

std::vector<std::string_view> call_markers(ToolCallFormat format) {
    switch (format) {
        case ToolCallFormat::Hermes:
            return {kHermesOpen};
        case ToolCallFormat::Llama3:
            return {kPythonTag};
        case ToolCallFormat::Mistral:
            return {kMistralTag};
        case ToolCallFormat::DeepSeek:
            return {kDsCallsBegin, kDsCallBegin, kDsCallsEnd};
        case ToolCallFormat::Functionary:
            return {kFnRecipient, kFnOpen};
        default:
            return {};
    }
}

Attempt at_reply_start(ToolCallFormat format, std::string_view s, bool final) {
    switch (format) {
        case ToolCallFormat::Hermes: {
            const size_t i = skip_ws(s, 0);
            if (i >= s.size()) return need_more_or_not(final);
            if (s[i] != '{') return {};
            const Match m = json_call_opening(s, i);
            if (m != Match::Yes) return m == Match::Partial ? need_more_or_not(final) : Attempt{};
            RegionRules rules;
            rules.end_tag = kHermesClose;
            rules.follow = kHermesOpen;
            rules.strict = true;
            rules.require_arguments = true;
            return json_region(s, i, final, rules);
        }
        case ToolCallFormat::Llama3: {
            const size_t i = skip_ws(s, 0);
            if (i >= s.size()) return need_more_or_not(final);
            if (s[i] != '{') return {};
            const Match m = json_call_opening(s, i);
            if (m != Match::Yes) return m == Match::Partial ? need_more_or_not(final) : Attempt{};
            return bare_llama3(s, i, final, /*strict=*/true);
        }
        case ToolCallFormat::Mistral: {
            const size_t i = skip_ws(s, 0);
            if (i >= s.size()) return need_more_or_not(final);
            if (s[i] != '[') return {};
            const Match m = json_call_opening(s, i);
            if (m != Match::Yes) return m == Match::Partial ? need_more_or_not(final) : Attempt{};
            RegionRules rules;
            rules.require_arguments = true;
            return json_region(s, i, final, rules);
        }
        case ToolCallFormat::Generic:
            return bare_generic(s, final);
        case ToolCallFormat::Functionary:
            // The v3.2 generation prompt ends with ">>>": the reply starts with the recipient.
            return functionary_recipient(s, 0, final);
        default:
            return {};
    }
}

Attempt at_marker(std::string_view marker, std::string_view s, bool final) {
    const size_t i = marker.size();
    if (marker == kHermesOpen) {
        RegionRules rules;
        rules.end_tag = kHermesClose;
        return json_region(s, i, final, rules);
    }
    if (marker == kPythonTag) return bare_llama3(s, i, final, /*strict=*/false);
    if (marker == kMistralTag) return json_region(s, i, final, RegionRules{});
    if (marker == kDsCallsBegin || marker == kDsCallsEnd) return ok(i, {});
    if (marker == kDsCallBegin) return deepseek_call(s, i, final);
    if (marker == kFnRecipient) return functionary_recipient(s, i, final);
    if (marker == kFnOpen) return functionary_v31(s, i, final);
    return {};
}
}  // namespace uma::tool_call_detail
