// Modelfile parsing: Ollama's syntax, and clear errors with line numbers for bad input.
#include <gtest/gtest.h>

#include "uma/core/error.h"
#include "uma/runtime/modelfile.h"
#include "uma/runtime/session.h"

namespace uma {
namespace {

std::string error_of(const std::string& text) {
    try {
        Modelfile::parse(text, "Modelfile");
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Modelfile, ParsesEveryInstruction) {
    const auto mf = Modelfile::parse(R"(# a comment
FROM ./stories.gguf
parameter temperature 0.7
PARAMETER num_ctx 2048
PARAMETER stop "<|im_end|>"
PARAMETER stop User:
SYSTEM You are a storyteller.
TEMPLATE """{% for m in messages %}{{ m.content }}
{% endfor %}"""
MESSAGE user Hello there
MESSAGE assistant "Hi!\nHow can I help?"
LICENSE MIT
)");
    EXPECT_EQ(mf.from, "./stories.gguf");
    EXPECT_EQ(mf.from_line, 2);
    EXPECT_EQ(mf.parameters.get_float("temperature"), 0.7);
    EXPECT_EQ(mf.parameters.get_int("num_ctx"), 2048);
    EXPECT_EQ(mf.parameters.stop(), (std::vector<std::string>{"<|im_end|>", "User:"}));
    EXPECT_EQ(mf.system, "You are a storyteller.");
    EXPECT_EQ(mf.template_text, "{% for m in messages %}{{ m.content }}\n{% endfor %}");
    ASSERT_EQ(mf.messages.size(), 2u);
    EXPECT_EQ(mf.messages[0].role, "user");
    EXPECT_EQ(mf.messages[0].content, "Hello there");
    EXPECT_EQ(mf.messages[1].content, "Hi!\nHow can I help?");
    EXPECT_EQ(mf.license, "MIT");
}

TEST(Modelfile, AcceptsWindowsLineEndingsAndTripleQuotesOnOneLine) {
    const auto mf = Modelfile::parse("FROM a.gguf\r\nSYSTEM \"\"\"Be brief.\"\"\"\r\n");
    EXPECT_EQ(mf.from, "a.gguf");
    EXPECT_EQ(mf.system, "Be brief.");
}

TEST(Modelfile, ErrorsNameTheLine) {
    EXPECT_EQ(
        error_of("FROM a.gguf\nFROB x\n"),
        "Modelfile:2: unknown instruction 'FROB' (expected FROM, PARAMETER, SYSTEM, TEMPLATE, "
        "MESSAGE, LICENSE)");
    EXPECT_EQ(error_of("SYSTEM hi\n"),
              "Modelfile: no FROM line (it names the GGUF file or model to build on)");
    EXPECT_EQ(error_of("FROM a\n\nSYSTEM \"\"\"never\nclosed\n"),
              "Modelfile:3: the \"\"\" string starting here is never closed");
    EXPECT_EQ(error_of("FROM a\nPARAMETER num_ctx lots\n"),
              "Modelfile:2: parameter num_ctx expects an integer, got 'lots'");
    EXPECT_EQ(error_of("FROM a\nPARAMETER temperature -1\n"),
              "Modelfile:2: parameter temperature must be 0 to 1000, got -1");
    EXPECT_NE(
        error_of("FROM a\nPARAMETER colour blue\n").find("Modelfile:2: unknown parameter 'colour'"),
        std::string::npos);
    EXPECT_EQ(error_of("FROM a\nMESSAGE robot hi\n"),
              "Modelfile:2: MESSAGE role must be system, user, assistant or tool, got 'robot'");
    EXPECT_EQ(
        error_of("FROM a\nSYSTEM \"unterminated\n"),
        "Modelfile:2: the quoted string is never closed (use \"\"\" for text over several lines)");
    EXPECT_EQ(error_of("FROM a\nFROM b\n"),
              "Modelfile:2: a Modelfile has one FROM (the first is on line 1)");
    EXPECT_EQ(error_of("FROM a\nSYSTEM \"x\" trailing\n"),
              "Modelfile:2: unexpected text after the closing \"");
    EXPECT_EQ(error_of("FROM a\nSYSTEM \xff\xfe\n"), "Modelfile:2: the text is not valid UTF-8");
    EXPECT_EQ(error_of("FROM a\nADAPTER lora.gguf\n"),
              "Modelfile:2: ADAPTER (LoRA adapters) is not supported yet");
    EXPECT_EQ(error_of("FROM\n"), "Modelfile:1: FROM needs a GGUF file path or a model name");
}

TEST(Modelfile, ToStringParsesBackToTheSameModelfile) {
    Modelfile mf;
    mf.from = "/models/blobs/sha256-abc";
    mf.system = "Line one\nLine \"two\" ends with a quote\"";
    mf.template_text = "{{ messages }}\n\"\"\" inside";
    mf.license = "  leading spaces";
    mf.parameters.set_text("temperature", "0.25");
    mf.parameters.set_text("stop", " ");
    mf.parameters.set_text("stop", "say \"hi\"\\n");
    mf.parameters.set_text("penalize_newline", "true");
    mf.messages.push_back({"user", "plain"});
    mf.messages.push_back({"assistant", "\r\nwindows"});
    const Modelfile back = Modelfile::parse(mf.to_string());
    EXPECT_EQ(back.from, mf.from);
    EXPECT_EQ(back.system, mf.system);
    EXPECT_EQ(back.template_text, mf.template_text);
    EXPECT_EQ(back.license, mf.license);
    EXPECT_EQ(back.parameters, mf.parameters);
    ASSERT_EQ(back.messages.size(), 2u);
    EXPECT_EQ(back.messages[1].content, "\r\nwindows");
}

TEST(ModelParameters, JsonFormChecksTypesAndStopReplaces) {
    ModelParameters p = ModelParameters::from_json(
        nlohmann::json{{"num_ctx", 4096}, {"top_p", 0.5}, {"stop", "a"}});
    EXPECT_EQ(p.get_int("num_ctx"), 4096);
    p.set_json("stop", nlohmann::json::array({"x", "y"}));
    EXPECT_EQ(p.stop(), (std::vector<std::string>{"x", "y"}));
    EXPECT_THROW(p.set_json("num_ctx", "big"), Error);
    EXPECT_THROW(p.set_json("top_p", 2.0), Error);
    EXPECT_THROW(p.set_json("nonsense", 1), Error);
    EXPECT_THROW(ModelParameters::from_json(nlohmann::json::array()), Error);
}

TEST(ModelParameters, AppliesToGenerationOptionsAndMergesKeyByKey) {
    ModelParameters base, overrides;
    base.set_text("temperature", "0.3");
    base.set_text("top_k", "7");
    overrides.set_text("temperature", "0");
    overrides.set_text("num_predict", "12");
    overrides.set_text("stop", "END");
    base.merge(overrides);
    GenerateOptions o;
    base.apply_to(o);
    EXPECT_EQ(o.sampling.temperature, 0.0f);
    EXPECT_EQ(o.sampling.top_k, 7);
    EXPECT_EQ(o.max_tokens, 12);
    EXPECT_EQ(o.stop, (std::vector<std::string>{"END"}));
}

}  // namespace
}  // namespace uma
