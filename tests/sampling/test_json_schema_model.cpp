// End to end: a real model generating under a JSON schema through Session::generate.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_data.h"
#include "uma/runtime/loaded_model.h"
#include "uma/runtime/session.h"
#include "uma/sampling/grammar_constraint.h"
#include "uma/sampling/json_schema.h"

namespace uma {
namespace {

TEST(JsonSchema, ModelGenerationUnderASchemaParsesAndValidates) {
    // One thread: a 260K-parameter model gains nothing from more, and spinning workers slow down
    // a loaded test machine.
    auto loaded = LoadedModel::load(test::data_path("models/stories260K.gguf").string(), 1);
    Session session(*loaded.model, *loaded.tokenizer, *loaded.backend, 2048);
    auto trie = std::make_shared<const TokenTrie>(*loaded.tokenizer);
    // Every string and list is bounded, so the grammar is finite and generation must end.
    const char* schema_text = R"({"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 16},
        "age": {"type": "integer", "minimum": 1, "maximum": 99},
        "pet": {"enum": ["cat", "dog", "bird"]},
        "happy": {"type": "boolean"},
        "friends": {"type": "array", "items": {"type": "string", "maxLength": 10}, "maxItems": 3}},
        "required": ["name", "age", "pet"]})";
    const auto schema = nlohmann::json::parse(schema_text);
    const auto grammar = Grammar::parse(json_schema_to_gbnf(std::string_view(schema_text)));
    const auto prompt = loaded.tokenizer->encode("Once upon a time", true, false);

    for (int run = 0; run < 4; ++run) {
        GrammarConstraint constraint(grammar, trie);
        GenerateOptions options;
        options.max_tokens = 1500;
        options.sampling = run == 0 ? SamplerParams::greedy() : SamplerParams{};
        options.sampling.seed = static_cast<uint64_t>(run);
        options.constraint = &constraint;
        std::string text;
        const GenerateStats stats = session.generate(prompt, options, [&](const std::string& s) {
            text += s;
            return true;
        });
        SCOPED_TRACE("run " + std::to_string(run) + ": " + text);
        if (run == 0) std::printf("[ schema  ] stories260K greedy: %s\n", text.c_str());
        EXPECT_EQ(stats.stop_reason, "stop");
        nlohmann::json parsed;
        ASSERT_NO_THROW(parsed = nlohmann::json::parse(text));
        EXPECT_EQ(validate_json_schema(parsed, schema), std::nullopt);
    }
}

}  // namespace
}  // namespace uma
