// Renders every real chat template in the shared test data for every case in
// golden/templates/cases.json and compares byte for byte with Jinja2's rendering (or, where the
// template raises, with the exact message it raises).
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "test_data.h"
#include "uma/chat/chat_template.h"
#include "uma/core/error.h"

namespace {

using Json = nlohmann::ordered_json;

std::string read_file(const std::filesystem::path& path) {
    std::ifstream f(path, std::ios::binary);
    EXPECT_TRUE(f.good()) << "cannot open " << path;
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// "2026-11-24T12:00:00" -> broken-down time with the weekday filled in.
std::tm parse_fixed_time(const std::string& iso) {
    std::tm tm{};
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    EXPECT_EQ(std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s), 6) << iso;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    timegm(&tm);
    return tm;
}

}  // namespace

TEST(ChatTemplateGolden, RendersEveryCaseByteForByte) {
    const auto cases_path = uma::test::data_path("golden/templates/cases.json");
    const auto golden_dir = cases_path.parent_path();
    const auto templates_dir = uma::test::data_path("templates");
    const Json cases = Json::parse(read_file(cases_path));

    const std::tm fixed = parse_fixed_time(cases.at("strftime_now_fixed").get<std::string>());
    uma::RenderOptions opts;
    opts.now = [fixed] { return fixed; };

    const std::string error_prefix = "TemplateError: ";
    size_t rendered = 0;
    size_t raised = 0;
    for (const Json& r : cases.at("renderings")) {
        const std::string tname = r.at("template").get<std::string>();
        const std::string cname = r.at("case").get<std::string>();
        const bool gen = r.at("add_generation_prompt").get<bool>();
        SCOPED_TRACE(tname + " / " + cname + (gen ? " / gen" : " / nogen"));

        const Json& c = cases.at("cases").at(cname);
        Json ctx = Json::object();
        ctx["messages"] = c.at("messages");
        if (c.contains("tools")) ctx["tools"] = c.at("tools");
        ctx["add_generation_prompt"] = gen;
        ctx["bos_token"] = cases.at("bos_token");
        ctx["eos_token"] = cases.at("eos_token");

        const uma::ChatTemplate tmpl(read_file(templates_dir / tname));
        if (r.contains("expected_error")) {
            std::string want = r.at("expected_error").get<std::string>();
            ASSERT_EQ(want.rfind(error_prefix, 0), 0u) << want;
            want = want.substr(error_prefix.size());
            try {
                const std::string out = tmpl.render(ctx, opts);
                ADD_FAILURE() << "expected the template to raise \"" << want << "\", got output:\n"
                              << out;
            } catch (const uma::Error& e) {
                EXPECT_EQ(std::string(e.what()), want);
            }
            ++raised;
        } else {
            const std::string want =
                read_file(golden_dir / r.at("expected_file").get<std::string>());
            std::string got;
            try {
                got = tmpl.render(ctx, opts);
            } catch (const uma::Error& e) {
                ADD_FAILURE() << "render failed: " << e.what();
                continue;
            }
            EXPECT_EQ(got, want);
            ++rendered;
        }
    }
    EXPECT_EQ(rendered + raised, cases.at("renderings").size());
    EXPECT_GT(rendered, 0u);
    EXPECT_GT(raised, 0u);
}

TEST(ChatTemplateGolden, EveryTemplateFileParses) {
    const auto templates_dir = uma::test::data_path("templates");
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(templates_dir)) {
        if (entry.path().extension() != ".jinja") continue;
        SCOPED_TRACE(entry.path().filename().string());
        EXPECT_NO_THROW(uma::ChatTemplate{read_file(entry.path())});
        ++n;
    }
    EXPECT_GT(n, 0u);
}

// Firefunction v2 has no golden rendering (it needs `functions` and `datetime` variables); check
// that it renders its filter block, the namespace bookkeeping and tool calls when given them.
TEST(ChatTemplateGolden, FirefunctionWithItsExtraVariables) {
    const auto path = uma::test::data_path("templates/fireworks-ai-llama-3-firefunction-v2.jinja");
    const uma::ChatTemplate tmpl(read_file(path));
    Json ctx = Json::parse(R"J({
        "messages": [
            {"role": "user", "content": "  weather?  "},
            {"role": "assistant", "content": "",
             "tool_calls": [{"function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]}
        ],
        "functions": "[{\"name\": \"get_weather\"}]",
        "datetime": "2026-11-24",
        "bos_token": "<s>"
    })J");
    const std::string out = tmpl.render(ctx);
    EXPECT_EQ(
        out.rfind("<s><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant",
                  0),
        0u)
        << out;
    EXPECT_NE(
        out.find(
            "Available functions as JSON spec:\n[{\"name\": \"get_weather\"}]\nToday is 2026-11-24."
            "<|eot_id|>"),
        std::string::npos)
        << out;
    EXPECT_NE(out.find("<|start_header_id|>user<|end_header_id|>\n\nweather?<|eot_id|>"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(" functools[{\"name\": \"get_weather\", \"arguments\": {\"city\": "
                       "\"Oslo\"}}]<|eot_id|>"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.substr(out.size() - 47), "<|start_header_id|>assistant<|end_header_id|>\n\n");
}
