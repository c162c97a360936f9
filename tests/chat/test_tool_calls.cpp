// Tool-call parsing: every format, whole replies and streams (split anywhere, the stream must
// agree with the whole parse), and detection on the real chat templates.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "test_data.h"
#include "uma/chat/tool_calls.h"

namespace {

using uma::parse_tool_calls;
using uma::ParsedReply;
using uma::ToolCall;
using uma::ToolCallFormat;
using uma::ToolCallStream;

std::string read_template(const std::string& name) {
    std::ifstream f(uma::test::data_path("templates/" + name), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void expect_call(const ToolCall& call, const std::string& id, const std::string& name,
                 const std::string& arguments) {
    EXPECT_EQ(call.id, id);
    EXPECT_EQ(call.name, name);
    EXPECT_EQ(call.arguments, arguments);
}

// Streams `text` in the given chunks and checks that the result equals the whole parse.
void expect_stream_matches(const std::string& text, ToolCallFormat format,
                           const std::vector<size_t>& cuts, const ParsedReply& whole) {
    ToolCallStream stream(format);
    std::string content;
    std::vector<ToolCall> calls;
    size_t begin = 0;
    auto take = [&](ToolCallStream::Update u) {
        content += u.content;
        for (auto& c : u.new_calls) calls.push_back(std::move(c));
    };
    for (size_t cut : cuts) {
        take(stream.feed(std::string_view(text).substr(begin, cut - begin)));
        begin = cut;
    }
    take(stream.feed(std::string_view(text).substr(begin)));
    take(stream.finish());
    std::string where;
    for (size_t c : cuts) where += std::to_string(c) + " ";
    ASSERT_EQ(content, whole.content) << "cuts: " << where << "\ntext: " << text;
    ASSERT_EQ(calls.size(), whole.tool_calls.size()) << "cuts: " << where << "\ntext: " << text;
    for (size_t i = 0; i < calls.size(); ++i) {
        EXPECT_EQ(calls[i].id, whole.tool_calls[i].id);
        EXPECT_EQ(calls[i].name, whole.tool_calls[i].name);
        EXPECT_EQ(calls[i].arguments, whole.tool_calls[i].arguments) << "cuts: " << where;
    }
}

// Every single split point, every pair of split points for short texts, byte-by-byte, and
// random chunkings.
void expect_split_invariant(const std::string& text, ToolCallFormat format) {
    const ParsedReply whole = parse_tool_calls(text, format);
    expect_stream_matches(text, format, {}, whole);
    for (size_t i = 0; i <= text.size(); ++i) expect_stream_matches(text, format, {i}, whole);
    if (text.size() <= 120)
        for (size_t i = 0; i <= text.size(); ++i)
            for (size_t j = i; j <= text.size(); ++j)
                expect_stream_matches(text, format, {i, j}, whole);
    std::vector<size_t> bytes;
    for (size_t i = 1; i < text.size(); ++i) bytes.push_back(i);
    expect_stream_matches(text, format, bytes, whole);
    std::mt19937 rng(12345);
    for (int round = 0; round < 50; ++round) {
        std::vector<size_t> cuts;
        size_t at = 0;
        while (true) {
            at += 1 + rng() % 7;
            if (at >= text.size()) break;
            cuts.push_back(at);
        }
        expect_stream_matches(text, format, cuts, whole);
    }
}

// ---- Hermes / Qwen ----

TEST(ToolCallsHermes, OneCallWithContentBefore) {
    const auto r = parse_tool_calls(
        "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
        "\"Paris\"}}\n</tool_call>",
        ToolCallFormat::Hermes);
    EXPECT_EQ(r.content, "Let me check.");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    expect_call(r.tool_calls[0], "call_0", "get_weather", "{\"city\":\"Paris\"}");
}

TEST(ToolCallsHermes, SeveralCallsAndContentAfter) {
    const auto r = parse_tool_calls(
        "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n"
        "<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>\nDone.",
        ToolCallFormat::Hermes);
    EXPECT_EQ(r.content, "Done.");
    ASSERT_EQ(r.tool_calls.size(), 2u);
    expect_call(r.tool_calls[0], "call_0", "a", "{\"x\":1}");
    expect_call(r.tool_calls[1], "call_1", "b", "{}");
}

TEST(ToolCallsHermes, ContentOnBothSidesIsJoined) {
    const auto r = parse_tool_calls(
        "Before\n<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>\nAfter\n",
        ToolCallFormat::Hermes);
    EXPECT_EQ(r.content, "Before\nAfter\n");
    ASSERT_EQ(r.tool_calls.size(), 1u);
}

TEST(ToolCallsHermes, ArgumentsAsString) {
    const auto r = parse_tool_calls(
        "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"q\\\": \\\"x y\\\", \\\"n\\\": "
        "2}\"}</tool_call>",
        ToolCallFormat::Hermes);
    EXPECT_EQ(r.content, "");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    expect_call(r.tool_calls[0], "call_0", "f", "{\"n\":2,\"q\":\"x y\"}");
}

TEST(ToolCallsHermes, MalformedJsonStaysContent) {
    const std::string text =
        "Hi <tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}</tool_call> bye";
    const auto r = parse_tool_calls(text, ToolCallFormat::Hermes);
    EXPECT_EQ(r.content, text);
    EXPECT_TRUE(r.tool_calls.empty());
    const std::string truncated = "<tool_call>{\"name\": \"f\", \"argum";
    const auto t = parse_tool_calls(truncated, ToolCallFormat::Hermes);
    EXPECT_EQ(t.content, truncated);
    EXPECT_TRUE(t.tool_calls.empty());
}

TEST(ToolCallsHermes, MissingOpeningTag) {
    const auto r = parse_tool_calls("{\"name\": \"f\", \"arguments\": {\"a\": true}}\n</tool_call>",
                                    ToolCallFormat::Hermes);
    EXPECT_EQ(r.content, "");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    expect_call(r.tool_calls[0], "call_0", "f", "{\"a\":true}");
    // A JSON answer that is not a call stays content.
    const auto j = parse_tool_calls("{\"answer\": 42}", ToolCallFormat::Hermes);
    EXPECT_EQ(j.content, "{\"answer\": 42}");
    EXPECT_TRUE(j.tool_calls.empty());
}

TEST(ToolCallsHermes, MissingClosingTagAtEnd) {
    const auto r = parse_tool_calls("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n",
                                    ToolCallFormat::Hermes);
    EXPECT_EQ(r.content, "");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    expect_call(r.tool_calls[0], "call_0", "f", "{}");
}

TEST(ToolCallsHermes, UnicodeArguments) {
    const auto r = parse_tool_calls(
        "<tool_call>{\"name\": \"translate\", \"arguments\": {\"text\": \"こんにちは 🌍\", "
        "\"esc\": \"\\u00e9\"}}</tool_call>",
        ToolCallFormat::Hermes);
    ASSERT_EQ(r.tool_calls.size(), 1u);
    EXPECT_EQ(r.tool_calls[0].arguments, "{\"esc\":\"é\",\"text\":\"こんにちは 🌍\"}");
}

TEST(ToolCallsHermes, ModelIdIsKept) {
    const auto r = parse_tool_calls(
        "<tool_call>{\"id\": \"abc\", \"name\": \"f\", \"arguments\": {}}</tool_call>"
        "<tool_call>{\"name\": \"g\", \"arguments\": {}}</tool_call>",
        ToolCallFormat::Hermes);
    ASSERT_EQ(r.tool_calls.size(), 2u);
    EXPECT_EQ(r.tool_calls[0].id, "abc");
    EXPECT_EQ(r.tool_calls[1].id, "call_1");
}

// ---- Llama 3 ----

TEST(ToolCallsLlama3, BareJsonWholeReply) {
    const auto r =
        parse_tool_calls("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}",
                         ToolCallFormat::Llama3);
    EXPECT_EQ(r.content, "");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    expect_call(r.tool_calls[0], "call_0", "get_weather", "{\"city\":\"Oslo\"}");
}

TEST(ToolCallsLlama3, PythonTagSeveralCalls) {
    const auto r = parse_tool_calls(
        "<|python_tag|>{\"name\": \"a\", \"parameters\": {\"x\": 1}}; {\"name\": \"b\", "
        "\"arguments\": \"{\\\"y\\\": 2}\"}",
        ToolCallFormat::Llama3);
    EXPECT_EQ(r.content, "");
    ASSERT_EQ(r.tool_calls.size(), 2u);
    expect_call(r.tool_calls[0], "call_0", "a", "{\"x\":1}");
    expect_call(r.tool_calls[1], "call_1", "b", "{\"y\":2}");
}

TEST(ToolCallsLlama3, ContentBeforePythonTag) {
    const auto r = parse_tool_calls(
        "Looking it up.\n<|python_tag|>{\"name\": \"a\", \"parameters\": {}}<|eom_id|>",
        ToolCallFormat::Llama3);
    EXPECT_EQ(r.content, "Looking it up.");
    ASSERT_EQ(r.tool_calls.size(), 1u);
}

TEST(ToolCallsLlama3, JsonFollowedByProseIsContent) {
    const std::string text = "{\"name\": \"a\", \"parameters\": {}} is how you would call it.";
    const auto r = parse_tool_calls(text, ToolCallFormat::Llama3);
    EXPECT_EQ(r.content, text);
    EXPECT_TRUE(r.tool_calls.empty());
}

TEST(ToolCallsLlama3, MalformedStaysContent) {
    const std::string text = "<|python_tag|>{\"name\": \"a\", \"parameters\": {";
    const auto r = parse_tool_calls(text, ToolCallFormat::Llama3);
    EXPECT_EQ(r.content, text);
    EXPECT_TRUE(r.tool_calls.empty());
    const auto p = parse_tool_calls("<|python_tag|>print(1)", ToolCallFormat::Llama3);
    EXPECT_EQ(p.content, "<|python_tag|>print(1)");
}

TEST(ToolCallsLlama3, PlainReply) {
    const auto r = parse_tool_calls("The weather is fine.\n", ToolCallFormat::Llama3);
    EXPECT_EQ(r.content, "The weather is fine.\n");
    EXPECT_TRUE(r.tool_calls.empty());
}

// ---- Mistral ----

TEST(ToolCallsMistral, TaggedListWithIds) {
    const auto r = parse_tool_calls(
        "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"k\": \"v\"}, \"id\": \"abcDEF123\"}, "
        "{\"name\": \"b\", \"arguments\": {}}]",
        ToolCallFormat::Mistral);
    EXPECT_EQ(r.content, "");
    ASSERT_EQ(r.tool_calls.size(), 2u);
    expect_call(r.tool_calls[0], "abcDEF123", "a", "{\"k\":\"v\"}");
    expect_call(r.tool_calls[1], "call_1", "b", "{}");
}

TEST(ToolCallsMistral, ContentBeforeTag) {
    const auto r = parse_tool_calls(
        "Sure. [TOOL_CALLS] [{\"name\": \"a\", \"arguments\": \"{\\\"n\\\": 1}\"}]",
        ToolCallFormat::Mistral);
    EXPECT_EQ(r.content, "Sure.");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    expect_call(r.tool_calls[0], "call_0", "a", "{\"n\":1}");
}

TEST(ToolCallsMistral, ListWithoutTag) {
    const auto r = parse_tool_calls("[{\"name\": \"a\", \"arguments\": {\"u\": \"ü\"}}]",
                                    ToolCallFormat::Mistral);
    EXPECT_EQ(r.content, "");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    expect_call(r.tool_calls[0], "call_0", "a", "{\"u\":\"ü\"}");
    const std::string list = "[{\"name\": \"Alice\", \"age\": 3}]";
    EXPECT_EQ(parse_tool_calls(list, ToolCallFormat::Mistral).content, list);
}

TEST(ToolCallsMistral, MalformedStaysContent) {
    const std::string text = "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {]}]";
    const auto r = parse_tool_calls(text, ToolCallFormat::Mistral);
    EXPECT_EQ(r.content, text);
    EXPECT_TRUE(r.tool_calls.empty());
}

// ---- DeepSeek ----

const std::string kDsCall1 =
    "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": "
    "\"Berlin\"}\n```<｜tool▁call▁end｜>";
const std::string kDsCall2 =
    "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{\"tz\": \"CET\"}\n```"
    "<｜tool▁call▁end｜>";

TEST(ToolCallsDeepSeek, OneAndSeveralCalls) {
    const auto one = parse_tool_calls(
        "I will check.\n<｜tool▁calls▁begin｜>" + kDsCall1 + "<｜tool▁calls▁end｜>",
        ToolCallFormat::DeepSeek);
    EXPECT_EQ(one.content, "I will check.");
    ASSERT_EQ(one.tool_calls.size(), 1u);
    expect_call(one.tool_calls[0], "call_0", "get_weather", "{\"city\":\"Berlin\"}");
    const auto two = parse_tool_calls(
        "<｜tool▁calls▁begin｜>" + kDsCall1 + "\n" + kDsCall2 + "<｜tool▁calls▁end｜>\nOK",
        ToolCallFormat::DeepSeek);
    EXPECT_EQ(two.content, "OK");
    ASSERT_EQ(two.tool_calls.size(), 2u);
    expect_call(two.tool_calls[1], "call_1", "get_time", "{\"tz\":\"CET\"}");
}

TEST(ToolCallsDeepSeek, MalformedStaysContent) {
    const std::string bad =
        "<｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{\"a\": }\n```<｜tool▁call▁end｜>";
    const auto r = parse_tool_calls(bad, ToolCallFormat::DeepSeek);
    EXPECT_EQ(r.content, bad);
    EXPECT_TRUE(r.tool_calls.empty());
}

// ---- Functionary ----

TEST(ToolCallsFunctionary, V32Recipients) {
    const auto r =
        parse_tool_calls("all\nLet me look.>>>get_weather\n{\"city\": \"Rome\"}>>>get_time\n{}",
                         ToolCallFormat::Functionary);
    EXPECT_EQ(r.content, "Let me look.");
    ASSERT_EQ(r.tool_calls.size(), 2u);
    expect_call(r.tool_calls[0], "call_0", "get_weather", "{\"city\":\"Rome\"}");
    expect_call(r.tool_calls[1], "call_1", "get_time", "{}");
    const auto first =
        parse_tool_calls("get_weather\n{\"city\": \"Rome\"}", ToolCallFormat::Functionary);
    ASSERT_EQ(first.tool_calls.size(), 1u);
    EXPECT_EQ(first.content, "");
    EXPECT_EQ(parse_tool_calls(">>>all\nHello", ToolCallFormat::Functionary).content, "Hello");
    EXPECT_EQ(parse_tool_calls("Hello there", ToolCallFormat::Functionary).content, "Hello there");
}

TEST(ToolCallsFunctionary, V31FunctionTags) {
    const auto r = parse_tool_calls(
        "Checking.<function=get_weather>{\"city\": \"Lyon\"}</function><function=f>{}</function>",
        ToolCallFormat::Functionary);
    EXPECT_EQ(r.content, "Checking.");
    ASSERT_EQ(r.tool_calls.size(), 2u);
    expect_call(r.tool_calls[0], "call_0", "get_weather", "{\"city\":\"Lyon\"}");
    const std::string bad = "<function=f>{\"a\": </function>";
    EXPECT_EQ(parse_tool_calls(bad, ToolCallFormat::Functionary).content, bad);
}

// ---- Generic / Command-R ----

TEST(ToolCallsGeneric, ObjectListFenceAndAction) {
    const auto obj =
        parse_tool_calls("{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n", ToolCallFormat::Generic);
    ASSERT_EQ(obj.tool_calls.size(), 1u);
    EXPECT_EQ(obj.content, "");
    const auto list = parse_tool_calls(
        "```json\n[{\"name\": \"f\", \"arguments\": {}}, {\"name\": \"g\", \"arguments\": "
        "\"{}\"}]\n```",
        ToolCallFormat::Generic);
    ASSERT_EQ(list.tool_calls.size(), 2u);
    EXPECT_EQ(list.content, "");
    const auto cmdr = parse_tool_calls(
        "Action: ```json\n[\n    {\n        \"tool_name\": \"internet_search\",\n        "
        "\"parameters\": {\"query\": \"uma\"}\n    }\n]\n```",
        ToolCallFormat::Generic);
    ASSERT_EQ(cmdr.tool_calls.size(), 1u);
    expect_call(cmdr.tool_calls[0], "call_0", "internet_search", "{\"query\":\"uma\"}");
    EXPECT_EQ(cmdr.content, "");
}

TEST(ToolCallsGeneric, NotACallStaysContent) {
    for (const std::string text : {"{\"name\": \"f\", \"arguments\": {}} and more",
                                   "{\"name\": \"Bob\"}", "Action: go", "[1, 2]", "{\"a\": "}) {
        const auto r = parse_tool_calls(text, ToolCallFormat::Generic);
        EXPECT_EQ(r.content, text);
        EXPECT_TRUE(r.tool_calls.empty()) << text;
    }
}

TEST(ToolCallsNone, EverythingIsContent) {
    const std::string text = "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>";
    const auto r = parse_tool_calls(text, ToolCallFormat::None);
    EXPECT_EQ(r.content, text);
    EXPECT_TRUE(r.tool_calls.empty());
}

// ---- Streaming ----

TEST(ToolCallsStream, ReleasesPlainTextAndHoldsPartialMarker) {
    ToolCallStream s(ToolCallFormat::Hermes);
    EXPECT_EQ(s.feed("Hello").content, "Hello");
    EXPECT_EQ(s.feed(" wor<tool").content, " wor");
    auto u = s.feed("_call>{\"name\": \"f\", \"arguments\": {}}");
    EXPECT_EQ(u.content, "");
    EXPECT_TRUE(u.new_calls.empty());
    u = s.feed("</tool_call>");
    ASSERT_EQ(u.new_calls.size(), 1u);
    EXPECT_EQ(u.new_calls[0].name, "f");
    u = s.finish();
    EXPECT_EQ(u.content, "");
    EXPECT_TRUE(u.new_calls.empty());
}

TEST(ToolCallsStream, NotAMarkerIsReleased) {
    ToolCallStream s(ToolCallFormat::Hermes);
    EXPECT_EQ(s.feed("a <b").content, "a <b");  // "<b" cannot begin "<tool_call>"
    // Whitespace is held until it is known not to separate content from a call.
    EXPECT_EQ(s.feed(" <to").content, "");
    EXPECT_EQ(s.feed("p>").content, " <top>");
    EXPECT_EQ(s.finish().content, "");
}

TEST(ToolCallsStream, BareJsonHeldUntilFinish) {
    ToolCallStream s(ToolCallFormat::Llama3);
    EXPECT_EQ(s.feed("{\"name\": \"f\", ").content, "");
    auto u = s.feed("\"parameters\": {}}");
    EXPECT_EQ(u.content, "");
    EXPECT_TRUE(u.new_calls.empty());
    u = s.finish();
    ASSERT_EQ(u.new_calls.size(), 1u);
    EXPECT_EQ(u.content, "");

    ToolCallStream t(ToolCallFormat::Llama3);
    EXPECT_EQ(t.feed("Hi {").content, "Hi {");
    ToolCallStream v(ToolCallFormat::Generic);
    EXPECT_EQ(v.feed("{oops").content, "{oops");
}

TEST(ToolCallsStream, SplitAnywhereMatchesWholeParse) {
    const std::vector<std::pair<ToolCallFormat, std::string>> cases = {
        {ToolCallFormat::Hermes,
         "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
         "\"Paris\"}}\n</tool_call>\n<tool_call>{\"name\": \"b\", \"arguments\": \"{}\"}"
         "</tool_call>\nThanks <b>x</b>"},
        {ToolCallFormat::Hermes, "{\"name\": \"f\", \"arguments\": {\"s\": \"é}\"}}</tool_call>"},
        {ToolCallFormat::Hermes,
         "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}</tool_call> x"},
        {ToolCallFormat::Hermes, "\n<tool_call>{\"name\": \"f\", \"arguments\": {}}\n"},
        {ToolCallFormat::Hermes, "{\"answer\": 42} <tool_call>"},
        {ToolCallFormat::Llama3,
         "<|python_tag|>{\"name\": \"a\", \"parameters\": {\"x\": 1}}; {\"name\": \"b\", "
         "\"parameters\": {}}"},
        {ToolCallFormat::Llama3, " {\"name\": \"a\", \"parameters\": {\"q\": \"日本\"}}\n"},
        {ToolCallFormat::Llama3, "{\"name\": \"a\", \"parameters\": {}} no"},
        {ToolCallFormat::Mistral,
         "Ok [TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}, \"id\": \"x1\"}] done"},
        {ToolCallFormat::Mistral, "[{\"name\": \"a\", \"arguments\": {\"v\": [1, {\"w\": 2}]}}]"},
        {ToolCallFormat::Mistral, "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {]}] tail"},
        {ToolCallFormat::DeepSeek,
         "Thinking.\n<｜tool▁calls▁begin｜>" + kDsCall1 + "\n" + kDsCall2 + "<｜tool▁calls▁end｜>"},
        {ToolCallFormat::Functionary,
         "all\nLet me look.>>>get_weather\n{\"city\": \"Rome\"}\n>>>all\nmore"},
        {ToolCallFormat::Functionary, "<function=f>{\"a\": \"<\"}</function> ok >>> x"},
        {ToolCallFormat::Generic,
         "Action: ```json\n[{\"tool_name\": \"s\", \"parameters\": {\"q\": 1}}]\n```\n"},
        {ToolCallFormat::Generic, "```json\n{\"name\": \"f\", \"arguments\": {}}\n``` trailing"},
        {ToolCallFormat::None, "<tool_call>{}</tool_call>  \n"},
    };
    for (const auto& [format, text] : cases) {
        SCOPED_TRACE(text);
        expect_split_invariant(text, format);
    }
}

// Random replies assembled from markers, JSON pieces (whole and broken) and text: whatever the
// parse decides, the stream must decide the same for every split.
TEST(ToolCallsStream, RandomRepliesSplitAnywhere) {
    const std::vector<std::string> pieces = {
        "<tool_call>",
        "</tool_call>",
        "<|python_tag|>",
        "[TOOL_CALLS]",
        "<｜tool▁calls▁begin｜>",
        "<｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n",
        "\n```<｜tool▁call▁end｜>",
        "<｜tool▁calls▁end｜>",
        ">>>",
        "all\n",
        "get\n",
        "<function=f>",
        "</function>",
        "Action: ",
        "```json\n",
        "```",
        "{\"name\": \"f\", \"arguments\": {\"a\": 1}}",
        "{\"name\": \"g\", \"parameters\": {}}",
        "[{\"name\": \"h\", \"arguments\": \"{}\"}]",
        "{\"a\": ",
        "}",
        "]",
        ";",
        " ",
        "\n",
        "text",
        "é",
        "<",
        "{",
        "[",
        "\"",
        "<tool"};
    std::mt19937 rng(7);
    for (ToolCallFormat format :
         {ToolCallFormat::Hermes, ToolCallFormat::Llama3, ToolCallFormat::Mistral,
          ToolCallFormat::DeepSeek, ToolCallFormat::Functionary, ToolCallFormat::Generic}) {
        for (int n = 0; n < 150; ++n) {
            std::string text;
            const size_t count = 1 + rng() % 6;
            for (size_t k = 0; k < count; ++k) text += pieces[rng() % pieces.size()];
            SCOPED_TRACE(std::string(uma::tool_call_format_name(format)) + ": " + text);
            const ParsedReply whole = parse_tool_calls(text, format);
            for (size_t i = 0; i <= text.size(); ++i)
                expect_stream_matches(text, format, {i}, whole);
            for (int round = 0; round < 10; ++round) {
                std::vector<size_t> cuts;
                for (size_t at = 1 + rng() % 5; at < text.size(); at += 1 + rng() % 5)
                    cuts.push_back(at);
                expect_stream_matches(text, format, cuts, whole);
            }
            if (HasFatalFailure()) return;
        }
    }
}

TEST(ToolCallsStream, MoveAndFeedAfterFinish) {
    ToolCallStream a(ToolCallFormat::Hermes);
    a.feed("x");
    ToolCallStream b(std::move(a));
    EXPECT_EQ(b.finish().content, "");  // "x" was released by feed already
    EXPECT_EQ(b.feed("late").content, "late");
}

// ---- Detection ----

TEST(ToolCallsDetect, RealTemplates) {
    const std::vector<std::pair<std::string, ToolCallFormat>> expected = {
        {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", ToolCallFormat::Hermes},
        {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", ToolCallFormat::Hermes},
        {"Qwen-Qwen2.5-7B-Instruct.jinja", ToolCallFormat::Hermes},
        {"meta-llama-Llama-3.1-8B-Instruct.jinja", ToolCallFormat::Llama3},
        {"meta-llama-Llama-3.2-3B-Instruct.jinja", ToolCallFormat::Llama3},
        {"meta-llama-Llama-3.3-70B-Instruct.jinja", ToolCallFormat::Llama3},
        {"mistralai-Mistral-Nemo-Instruct-2407.jinja", ToolCallFormat::Mistral},
        {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", ToolCallFormat::DeepSeek},
        {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", ToolCallFormat::DeepSeek},
        {"llama-cpp-deepseek-r1.jinja", ToolCallFormat::DeepSeek},
        {"meetkai-functionary-medium-v3.1.jinja", ToolCallFormat::Functionary},
        {"meetkai-functionary-medium-v3.2.jinja", ToolCallFormat::Functionary},
        {"CohereForAI-c4ai-command-r-plus-tool_use.jinja", ToolCallFormat::Generic},
        {"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", ToolCallFormat::Generic},
        {"fireworks-ai-llama-3-firefunction-v2.jinja", ToolCallFormat::Llama3},
        {"google-gemma-2-2b-it.jinja", ToolCallFormat::None},
        {"microsoft-Phi-3.5-mini-instruct.jinja", ToolCallFormat::None},
    };
    for (const auto& [name, format] : expected) {
        EXPECT_EQ(uma::tool_call_format_name(uma::detect_tool_call_format(read_template(name))),
                  uma::tool_call_format_name(format))
            << name;
    }
    EXPECT_EQ(uma::detect_tool_call_format(""), ToolCallFormat::None);
    EXPECT_EQ(uma::detect_tool_call_format("{% if tools %}{{ tools | tojson }}{% endif %}"),
              ToolCallFormat::Generic);
}

TEST(ToolCallsDetect, FormatNames) {
    EXPECT_EQ(uma::tool_call_format_name(ToolCallFormat::None), "none");
    EXPECT_EQ(uma::tool_call_format_name(ToolCallFormat::Hermes), "hermes");
    EXPECT_EQ(uma::tool_call_format_name(ToolCallFormat::Llama3), "llama3");
    EXPECT_EQ(uma::tool_call_format_name(ToolCallFormat::Mistral), "mistral");
    EXPECT_EQ(uma::tool_call_format_name(ToolCallFormat::DeepSeek), "deepseek");
    EXPECT_EQ(uma::tool_call_format_name(ToolCallFormat::Functionary), "functionary");
    EXPECT_EQ(uma::tool_call_format_name(ToolCallFormat::Generic), "generic");
}

}  // namespace
