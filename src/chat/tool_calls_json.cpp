// Tool-call parsing internals: JSON scanning and turning JSON into calls.
#include <nlohmann/json.hpp>
#include <utility>

#include "chat/tool_calls_internal.h"

namespace uma::tool_call_detail {

namespace {

using Json = nlohmann::json;

std::string dump_compact(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json parse_json(std::string_view s) {
    return Json::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
}

// Arguments given as an object (or a JSON string holding one), serialised compactly.
bool arguments_text(const Json& value, std::string& out) {
    if (value.is_null()) {
        out = "{}";
        return true;
    }
    if (value.is_string()) {
        const Json inner = parse_json(value.get_ref<const std::string&>());
        if (inner.is_discarded() || !inner.is_object()) return false;
        out = dump_compact(inner);
        return true;
    }
    if (!value.is_object()) return false;
    out = dump_compact(value);
    return true;
}

// One call from {"name", "arguments"} / {"tool_name", "parameters"} / {"id", "function": {...}}.
bool call_from_json(const Json& j, bool require_arguments, ToolCall& out) {
    if (!j.is_object()) return false;
    const Json* body = &j;
    out.id.clear();
    if (auto id = j.find("id"); id != j.end() && id->is_string()) out.id = id->get<std::string>();
    if (auto fn = j.find("function"); fn != j.end() && fn->is_object()) body = &*fn;
    auto name = body->find("name");
    if (name == body->end() || !name->is_string()) name = body->find("tool_name");
    if (name == body->end() || !name->is_string() || name->get_ref<const std::string&>().empty())
        return false;
    out.name = name->get<std::string>();
    auto args = body->find("arguments");
    if (args == body->end()) args = body->find("parameters");
    if (args == body->end()) {
        if (require_arguments) return false;
        out.arguments = "{}";
        return true;
    }
    return arguments_text(*args, out.arguments);
}

// A call, a list of calls, or {"tool_calls": [...]} / {"tool_call": {...}}; all or nothing.
bool calls_from_json(const Json& j, bool require_arguments, std::vector<ToolCall>& out) {
    std::vector<ToolCall> calls;
    const Json* list = nullptr;
    if (j.is_array()) {
        list = &j;
    } else if (j.is_object()) {
        if (auto tc = j.find("tool_calls"); tc != j.end() && tc->is_array()) list = &*tc;
        if (auto tc = j.find("tool_call"); !list && tc != j.end() && tc->is_object())
            return calls_from_json(*tc, require_arguments, out);
    }
    if (list) {
        if (list->empty()) return false;
        for (const auto& item : *list) {
            ToolCall call;
            if (!call_from_json(item, require_arguments, call)) return false;
            calls.push_back(std::move(call));
        }
    } else {
        ToolCall call;
        if (!call_from_json(j, require_arguments, call)) return false;
        calls.push_back(std::move(call));
    }
    for (auto& c : calls) out.push_back(std::move(c));
    return true;
}

}  // namespace

Match match_lit(std::string_view s, size_t i, std::string_view lit) {
    const size_t n = std::min(lit.size(), s.size() - std::min(i, s.size()));
    if (s.compare(std::min(i, s.size()), n, lit, 0, n) != 0) return Match::No;
    return n == lit.size() ? Match::Yes : Match::Partial;
}

ScanResult scan_json(std::string_view s, size_t i) {
    if (i >= s.size() || (s[i] != '{' && s[i] != '[')) return {Scan::Invalid, 0};
    std::string closers;
    bool in_string = false, escaped = false;
    for (size_t j = i; j < s.size(); ++j) {
        const char c = s[j];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            closers.push_back(c == '{' ? '}' : ']');
        } else if (c == '}' || c == ']') {
            if (closers.empty() || closers.back() != c) return {Scan::Invalid, 0};
            closers.pop_back();
            if (closers.empty()) return {Scan::Complete, j + 1};
        }
    }
    return {Scan::Incomplete, 0};
}

// Checks that s from i could begin a JSON call: `{ "` (object) or `[ {` (list), whitespace allowed.
Match json_call_opening(std::string_view s, size_t i) {
    if (i >= s.size()) return Match::Partial;
    const char open = s[i];
    if (open != '{' && open != '[') return Match::No;
    i = skip_ws(s, i + 1);
    if (i >= s.size()) return Match::Partial;
    if (open == '{') return s[i] == '"' ? Match::Yes : Match::No;
    return s[i] == '{' ? json_call_opening(s, i) : Match::No;
}

bool arguments_from_text(std::string_view json, std::string& out) {
    const Json j = parse_json(json);
    return !j.is_discarded() && arguments_text(j, out);
}

bool call_from_text(std::string_view json, bool require_arguments, ToolCall& out) {
    const Json j = parse_json(json);
    return !j.is_discarded() && call_from_json(j, require_arguments, out);
}

Attempt json_region(std::string_view s, size_t i, bool final, const RegionRules& rules) {
    // Decisions about an unfinished JSON value must not depend on later text: look no further
    // than the first end tag.
    std::string_view limited = s;
    bool closed = false;
    if (!rules.end_tag.empty()) {
        if (size_t p = s.find(rules.end_tag, i); p != std::string_view::npos) {
            limited = s.substr(0, p);
            closed = true;
        }
    }
    i = skip_ws(limited, i);
    bool fenced = false;
    switch (match_lit(limited, i, kFence)) {
        case Match::Yes:
            fenced = true;
            i += kFence.size();
            switch (match_lit(limited, i, "json")) {
                case Match::Yes:
                    i += 4;
                    break;
                case Match::Partial:
                    return closed ? Attempt{} : need_more_or_not(final);
                case Match::No:
                    break;
            }
            i = skip_ws(limited, i);
            break;
        case Match::Partial:
            if (i < limited.size()) return closed ? Attempt{} : need_more_or_not(final);
            break;
        case Match::No:
            break;
    }
    if (i >= limited.size()) return closed ? Attempt{} : need_more_or_not(final);
    const ScanResult scan = scan_json(limited, i);
    if (scan.kind == Scan::Invalid) return {};
    if (scan.kind == Scan::Incomplete) return closed ? Attempt{} : need_more_or_not(final);
    const Json j = parse_json(limited.substr(i, scan.end - i));
    std::vector<ToolCall> calls;
    if (j.is_discarded() || !calls_from_json(j, rules.require_arguments, calls)) return {};
    size_t end = scan.end;
    size_t e = skip_ws(s, end);
    if (fenced) {
        const Match m = match_lit(s, e, kFence);
        if (m == Match::Yes) {
            end = e + kFence.size();
            e = skip_ws(s, end);
        } else if (m == Match::Partial && e < s.size()) {
            if (!final) return need_more();
        }
    }
    if (e >= s.size()) {
        if (!final) return need_more();
        return ok(end, std::move(calls));
    }
    if (!rules.end_tag.empty()) {
        const Match m = match_lit(s, e, rules.end_tag);
        if (m == Match::Yes) return ok(e + rules.end_tag.size(), std::move(calls));
        if (m == Match::Partial) return final ? Attempt{} : need_more();
    }
    if (!rules.follow.empty()) {
        const Match m = match_lit(s, e, rules.follow);
        if (m == Match::Yes) return ok(end, std::move(calls));
        if (m == Match::Partial) return final ? Attempt{} : need_more();
    }
    if (rules.strict) return {};
    return ok(end, std::move(calls));
}
}  // namespace uma::tool_call_detail
