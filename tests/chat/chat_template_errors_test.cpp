// Errors (with line:column), raise_exception, lenient undefined values, the guards against
// runaway templates, the fallback template and the public API.
#include <gtest/gtest.h>

#include <string>

#include "uma/chat/chat_template.h"
#include "uma/core/error.h"

namespace {

using Json = nlohmann::ordered_json;

std::string render(const std::string& source, const Json& ctx = Json::object(),
                   const uma::RenderOptions& opts = {}) {
    return uma::ChatTemplate(source).render(ctx, opts);
}

// The message of the uma::Error that parsing or rendering `source` throws.
std::string error_of(const std::string& source, const Json& ctx = Json::object(),
                     const uma::RenderOptions& opts = {}) {
    try {
        const std::string out = render(source, ctx, opts);
        ADD_FAILURE() << "expected an error from: " << source << "\ngot: " << out;
    } catch (const uma::Error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST(ChatTemplateErrors, SyntaxErrorsNameLineAndColumn) {
    EXPECT_EQ(error_of("{% if x %}\n{{ 1 + }}{% endif %}"),
              "chat template: 2:8: unexpected end of print statement");
    EXPECT_EQ(error_of("{% for x in y %}\n  body"),
              "chat template: 2:7: unexpected end of template, expected 'endfor' or 'else'");
    EXPECT_EQ(error_of("ok\n\n   {% endif %}"), "chat template: 3:7: unexpected 'endif'");
    EXPECT_EQ(error_of("{% frobnicate %}"),
              "chat template: 1:4: encountered unknown tag 'frobnicate'");
    EXPECT_EQ(error_of("{{ [1, 2 }}"), "chat template: 1:10: unexpected '}', expected ']'");
    EXPECT_EQ(error_of("{{ 'abc }}"), "chat template: 1:4: unexpected char '''");
    EXPECT_EQ(error_of("{# never closed"), "chat template: 1:1: missing end of comment tag");
    EXPECT_EQ(error_of("{{ x"), "chat template: 1:1: unexpected end of template, expected '}}'");
    EXPECT_EQ(error_of("{% break %}"), "chat template: 1:4: 'break' outside of a loop");
    EXPECT_EQ(error_of("{% macro m(a=1, b) %}{% endmacro %}"),
              "chat template: 1:18: non-default argument follows default argument");
    EXPECT_EQ(error_of("{% include 'other.jinja' %}"),
              "chat template: 1:4: unsupported tag 'include' (templates must be self-contained)");
}

TEST(ChatTemplateErrors, RuntimeErrorsNameLineAndColumn) {
    EXPECT_EQ(error_of("line1\nline2 {{ 1 + 'a' }}"),
              "chat template: 2:12: unsupported operand type(s) for +: 'int' and 'str'");
    EXPECT_EQ(error_of("{{ x + 1 }}"), "chat template: 1:6: 'x' is undefined");
    EXPECT_EQ(error_of("{{ 1 / 0 }}"), "chat template: 1:6: division by zero");
    EXPECT_EQ(error_of("{{ 1 | nosuchfilter }}"),
              "chat template: 1:8: No filter named 'nosuchfilter'.");
    EXPECT_EQ(error_of("{{ 1 is nosuchtest }}"), "chat template: 1:9: No test named 'nosuchtest'.");
    EXPECT_EQ(error_of("{% for a, b in [1] %}{% endfor %}"),
              "chat template: 1:4: 'int' object is not iterable");
    EXPECT_EQ(error_of("{% set ns = 1 %}{% set ns.a = 2 %}"),
              "chat template: 1:20: cannot assign attribute on non-namespace object");
    EXPECT_EQ(error_of("{{ 'a' < 1 }}"),
              "chat template: 1:4: '<' not supported between instances of 'str' and 'int'");
    EXPECT_EQ(error_of("{{ undefined_fn() }}"), "chat template: 1:16: 'undefined_fn' is undefined");
}

TEST(ChatTemplateErrors, RaiseExceptionCarriesTheExactMessage) {
    const Json ctx = Json::parse(R"({"messages": [{"role": "system", "content": "x"}]})");
    EXPECT_EQ(error_of("{% if messages[0]['role'] == 'system' %}"
                       "{{ raise_exception('System role not supported') }}{% endif %}",
                       ctx),
              "System role not supported");
    // Raised from inside a macro, a loop and a filter argument alike.
    EXPECT_EQ(error_of("{% macro m(r) %}{{ raise_exception('Bad role: ' ~ r) }}{% endmacro %}"
                       "{% for m2 in messages %}{{ m(m2.role) | upper }}{% endfor %}",
                       ctx),
              "Bad role: system");
}

TEST(ChatTemplateErrors, UndefinedIsLenient) {
    EXPECT_EQ(render("[{{ x }}][{{ x.y.z }}][{{ x['k'] }}][{{ x.y is defined }}][{{ x|length }}]"),
              "[][][][False][0]");
    EXPECT_EQ(render("{% for i in x %}never{% else %}empty{% endfor %}"), "empty");
    EXPECT_EQ(render("{% if x %}yes{% else %}no{% endif %}{{ x is none }}{{ x == x }}"),
              "noFalseTrue");
    EXPECT_EQ(render("{{ x|default('fallback') }}|{{ x.y|default('deep') }}"), "fallback|deep");
}

TEST(ChatTemplateErrors, ContextValues) {
    const Json ctx = Json::parse(R"({"n": 3, "f": 2.0, "big": 18446744073709551615, "b": true,
                                     "z": null, "o": {"z": 1, "a": 2}, "l": [1, "two", [3]]})");
    EXPECT_EQ(render("{{ n }} {{ f }} {{ big }} {{ b }} {{ z }} {{ o }} {{ l }}", ctx),
              "3 2.0 1.8446744073709552e+19 True None {'z': 1, 'a': 2} [1, 'two', [3]]");
    // Key order is kept (nlohmann::ordered_json), which shows in tojson.
    EXPECT_EQ(render("{{ o|tojson }}", ctx), R"({"z": 1, "a": 2})");
    EXPECT_EQ(render("{{ 'ok' }}", Json()), "ok");  // null context: no variables
    EXPECT_THROW(render("x", Json::array()), uma::Error);
}

TEST(ChatTemplateLimits, StepBudgetStopsRunawayLoops) {
    uma::RenderOptions opts;
    opts.max_steps = 200000;
    const std::string msg =
        error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                 Json::object(), opts);
    EXPECT_NE(msg.find("render step limit exceeded"), std::string::npos) << msg;
}

TEST(ChatTemplateLimits, MacroRecursionIsBounded) {
    const std::string msg = error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
    EXPECT_NE(msg.find("maximum macro recursion depth exceeded"), std::string::npos) << msg;
}

TEST(ChatTemplateLimits, StringGrowthIsBounded) {
    uma::RenderOptions opts;
    opts.max_output_bytes = 1 << 20;
    const std::string msg = error_of(
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s }}",
        Json::object(), opts);
    EXPECT_NE(msg.find("exceeds the size limit"), std::string::npos) << msg;
    EXPECT_THROW(render("{{ 'ab' * 100000000 }}", Json::object(), opts), uma::Error);
    EXPECT_THROW(
        render("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", Json::object(), opts),
        uma::Error);
}

TEST(ChatTemplateLimits, DeepNestingIsRejected) {
    const std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
    EXPECT_NE(error_of("{{ " + deep + " }}").find("nested too deeply"), std::string::npos);
    const std::string lists = std::string(5000, '[') + std::string(5000, ']');
    EXPECT_NE(error_of("{{ " + lists + " }}").find("nested too deeply"), std::string::npos);
    std::string nots;
    for (int i = 0; i < 5000; ++i) nots += "not ";
    EXPECT_NE(error_of("{{ " + nots + "x }}").find("nested too deeply"), std::string::npos);
    std::string chain = "{{ 1";
    for (int i = 0; i < 5000; ++i) chain += " + 1";
    EXPECT_NE(error_of(chain + " }}").find("nested too deeply"), std::string::npos);
    std::string ifs;
    for (int i = 0; i < 5000; ++i) ifs += "{% if true %}";
    EXPECT_NE(error_of(ifs).find("nested too deeply"), std::string::npos);
}

TEST(ChatTemplateLimits, SelfReferencingValuesDoNotCrash) {
    EXPECT_THROW(render("{% set l = [] %}{% do l.append(l) %}{{ l }}"), uma::Error);
    EXPECT_THROW(render("{% set ns = namespace() %}{% set ns.me = ns %}{{ [ns]|tojson }}"),
                 uma::Error);
    EXPECT_EQ(render("{% set l = [] %}{% do l.append(l) %}{{ l|length }}"), "1");
}

TEST(ChatTemplateApi, CopyMoveAndReuse) {
    const uma::ChatTemplate a("{{ greeting }}, {{ name }}!");
    uma::ChatTemplate b = a;
    uma::ChatTemplate c = std::move(b);
    const Json ctx = Json::parse(R"({"greeting": "Hello", "name": "uma"})");
    EXPECT_EQ(a.render(ctx), "Hello, uma!");
    EXPECT_EQ(c.render(ctx), "Hello, uma!");
    EXPECT_EQ(c.render(ctx), "Hello, uma!");
    EXPECT_EQ(c.source(), "{{ greeting }}, {{ name }}!");
}

TEST(ChatTemplateApi, StrftimeNowUsesTheInjectedClock) {
    uma::RenderOptions opts;
    opts.now = [] {
        std::tm tm{};
        tm.tm_year = 2026 - 1900;
        tm.tm_mon = 10;
        tm.tm_mday = 24;
        tm.tm_hour = 12;
        timegm(&tm);
        return tm;
    };
    EXPECT_EQ(render("{{ strftime_now('%d %b %Y, %A %H:%M') }}", Json::object(), opts),
              "24 Nov 2026, Tuesday 12:00");
    // Without a clock it uses the system time: just check it renders a 4-digit year.
    EXPECT_EQ(render("{{ strftime_now('%Y')|length }}"), "4");
}

TEST(ChatTemplateFallback, RendersChatMl) {
    const uma::ChatTemplate tmpl(uma::fallback_chat_template());
    const Json ctx = Json::parse(R"({
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image"},
                                         {"type": "text", "text": " there"}]},
            {"role": "assistant", "content": null,
             "tool_calls": [{"type": "function",
                             "function": {"name": "f", "arguments": {"x": 1}}}]},
            {"role": "tool", "content": "42"}
        ],
        "add_generation_prompt": true})");
    EXPECT_EQ(tmpl.render(ctx),
              "<|im_start|>system\nBe brief.<|im_end|>\n"
              "<|im_start|>user\nHi there<|im_end|>\n"
              "<|im_start|>assistant\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 1}}\n"
              "</tool_call><|im_end|>\n"
              "<|im_start|>tool\n42<|im_end|>\n"
              "<|im_start|>assistant\n");
    Json no_gen = ctx;
    no_gen["add_generation_prompt"] = false;
    no_gen["messages"] = Json::parse(R"([{"role": "user", "content": "x"}])");
    EXPECT_EQ(tmpl.render(no_gen), "<|im_start|>user\nx<|im_end|>\n");
}
