// JSON Schema -> grammar: what the grammars accept, errors for what is unsupported, the
// validator, and random sampling under schema grammars with real vocabularies (every output must
// parse and validate).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sampling/test_grammar_util.h"
#include "test_data.h"
#include "uma/core/error.h"
#include "uma/core/gguf.h"
#include "uma/sampling/json_schema.h"

namespace uma {
namespace {

using nlohmann::ordered_json;

std::shared_ptr<const Grammar> schema_grammar(const char* schema) {
    return Grammar::parse(json_schema_to_gbnf(std::string_view(schema)));
}

bool schema_accepts(const char* schema, std::string_view text) {
    GrammarMatcher m(schema_grammar(schema));
    if (!m.accepts(text)) return false;
    m.accept(text);
    return m.is_complete();
}

std::string conversion_error(const char* schema) {
    try {
        Grammar::parse(json_schema_to_gbnf(std::string_view(schema)));
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(JsonSchema, PropertiesKeepTheirOrderAndOptionalOnesMayBeLeftOut) {
    const char* schema = R"({"type": "object", "properties": {
        "name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array",
        "items": {"type": "string"}}}, "required": ["name"]})";
    EXPECT_TRUE(schema_accepts(schema, R"({"name": "Ann", "age": 31, "tags": ["a", "b"]})"));
    EXPECT_TRUE(schema_accepts(schema, R"({"name":"Ann"})"));
    EXPECT_TRUE(schema_accepts(schema, R"({"name": "Ann", "tags": []})"));
    EXPECT_TRUE(schema_accepts(schema, "{\n  \"name\": \"Ann\",\n  \"age\": 3\n}"));
    EXPECT_FALSE(schema_accepts(schema, R"({"age": 31, "name": "Ann"})"));  // order
    EXPECT_FALSE(schema_accepts(schema, R"({"age": 31})"));                 // required
    EXPECT_FALSE(schema_accepts(schema, R"({"name": "Ann", "x": 1})"));     // no additional
    EXPECT_FALSE(schema_accepts(schema, R"({"name": "Ann", "age": 3.5})"));
    EXPECT_FALSE(schema_accepts(schema, R"({"name": "Ann",})"));
}

TEST(JsonSchema, AdditionalPropertiesNeverRepeatDeclaredNames) {
    const char* schema = R"({"type": "object", "properties": {"id": {"type": "integer"},
        "idx": {"type": "integer"}}, "additionalProperties": {"type": "boolean"}})";
    EXPECT_TRUE(schema_accepts(schema, R"({"id": 1, "i": true, "idxx": false, "": true})"));
    EXPECT_TRUE(schema_accepts(schema, R"({"other": true})"));
    EXPECT_FALSE(schema_accepts(schema, R"({"id": 1, "id": true})"));
    EXPECT_FALSE(schema_accepts(schema, R"({"idx": true})"));
    EXPECT_FALSE(schema_accepts(schema, R"({"extra": 1})"));
    // With no properties declared, an object accepts any members.
    EXPECT_TRUE(schema_accepts(R"({"type": "object"})", R"({"a": [1, {"b": null}]})"));
}

TEST(JsonSchema, ScalarsEnumsAndConst) {
    EXPECT_TRUE(schema_accepts(R"({"enum": ["red", 2, null, {"a": 1}]})", R"("red")"));
    EXPECT_TRUE(schema_accepts(R"({"enum": ["red", 2, null, {"a": 1}]})", R"({"a":1})"));
    EXPECT_FALSE(schema_accepts(R"({"enum": ["red", 2]})", R"("blue")"));
    EXPECT_TRUE(schema_accepts(R"({"const": "x"})", R"("x")"));
    EXPECT_TRUE(schema_accepts(R"({"type": ["string", "null"]})", "null"));
    EXPECT_FALSE(schema_accepts(R"({"type": ["string", "null"]})", "1"));
    EXPECT_TRUE(schema_accepts(R"({"type": "boolean"})", "false"));
    EXPECT_TRUE(schema_accepts(R"({"type": "number"})", "-1.5e3"));
    EXPECT_FALSE(schema_accepts(R"({"type": "integer"})", "1.0"));
    EXPECT_TRUE(schema_accepts(R"({"type": "number", "minimum": 0})", "0.5"));
    EXPECT_FALSE(schema_accepts(R"({"type": "number", "minimum": 0})", "-0.5"));
}

TEST(JsonSchema, StringLengthsFormatsAndPatterns) {
    const char* lengths = R"({"type": "string", "minLength": 2, "maxLength": 3})";
    EXPECT_TRUE(schema_accepts(lengths, R"("ab")"));
    EXPECT_TRUE(schema_accepts(lengths, R"("é\n😀")"));
    EXPECT_FALSE(schema_accepts(lengths, R"("a")"));
    EXPECT_FALSE(schema_accepts(lengths, R"("abcd")"));
    EXPECT_TRUE(schema_accepts(R"({"format": "date"})", R"("2024-02-29")"));
    EXPECT_FALSE(schema_accepts(R"({"format": "date"})", R"("2024-13-01")"));
    EXPECT_TRUE(schema_accepts(R"({"type": "string", "format": "date-time"})",
                               R"("2024-02-29T23:59:01.5+02:00")"));
    EXPECT_TRUE(schema_accepts(R"({"type": "string", "format": "time"})", R"("08:30:00Z")"));
    EXPECT_TRUE(schema_accepts(R"({"type": "string", "format": "uuid"})",
                               R"("123e4567-e89b-12d3-a456-426614174000")"));
    const char* code = R"({"type": "string", "pattern": "^[A-Z]{2}-\\d{3,4}(x|yz)?$"})";
    EXPECT_TRUE(schema_accepts(code, R"("AB-123")"));
    EXPECT_TRUE(schema_accepts(code, R"("ZZ-9999yz")"));
    EXPECT_FALSE(schema_accepts(code, R"("AB-12")"));
    EXPECT_FALSE(schema_accepts(code, R"("ab-123")"));
    const char* unanchored = R"({"type": "string", "pattern": "a\"b+"})";
    EXPECT_TRUE(schema_accepts(unanchored, R"("xxa\"bbby")"));
    EXPECT_FALSE(schema_accepts(unanchored, R"("ab")"));
}

TEST(JsonSchema, ArraysCombinatorsAndReferences) {
    const char* bounded = R"({"type": "array", "items": {"type": "integer"}, "minItems": 1,
                              "maxItems": 3})";
    EXPECT_TRUE(schema_accepts(bounded, "[1]"));
    EXPECT_TRUE(schema_accepts(bounded, "[1, 2, 3]"));
    EXPECT_FALSE(schema_accepts(bounded, "[]"));
    EXPECT_FALSE(schema_accepts(bounded, "[1, 2, 3, 4]"));
    const char* any_of = R"({"anyOf": [{"type": "integer"}, {"type": "object", "properties":
                             {"k": {"const": true}}, "required": ["k"]}]})";
    EXPECT_TRUE(schema_accepts(any_of, "7"));
    EXPECT_TRUE(schema_accepts(any_of, R"({"k": true})"));
    EXPECT_FALSE(schema_accepts(any_of, R"({"k": false})"));
    const char* all_of = R"({"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}},
        "required": ["a"]}, {"properties": {"b": {"type": "string"}}, "required": ["b"]}]})";
    EXPECT_TRUE(schema_accepts(all_of, R"({"a": 1, "b": "x"})"));
    EXPECT_FALSE(schema_accepts(all_of, R"({"a": 1})"));
    const char* tree = R"({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
        "properties": {"v": {"type": "integer"}, "kids": {"type": "array",
        "items": {"$ref": "#/$defs/node"}}}, "required": ["v"]}}})";
    EXPECT_TRUE(schema_accepts(tree, R"({"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": []}]})"));
    EXPECT_FALSE(schema_accepts(tree, R"({"v": 1, "kids": [{"w": 2}]})"));
    const char* definitions = R"({"definitions": {"n": {"type": "null"}},
                                  "properties": {"x": {"$ref": "#/definitions/n"}}})";
    EXPECT_TRUE(schema_accepts(definitions, R"({"x": null})"));
}

TEST(JsonSchema, IntegerBoundsAreExact) {
    const std::vector<std::pair<int64_t, int64_t>> ranges = {
        {0, 0},   {0, 9},     {1, 100}, {-50, 1234}, {-1000, -7},
        {17, 17}, {95, 1305}, {-9, 9},  {100, 999},  {3, 25000}};
    for (const auto& [lo, hi] : ranges) {
        const std::string schema = "{\"type\": \"integer\", \"minimum\": " + std::to_string(lo) +
                                   ", \"maximum\": " + std::to_string(hi) + "}";
        const auto grammar = Grammar::parse(json_schema_to_gbnf(std::string_view(schema)));
        for (int64_t x = lo - 120; x <= hi + 120; x += (hi - lo > 3000 ? 7 : 1)) {
            GrammarMatcher m(grammar);
            const std::string text = std::to_string(x);
            const bool accepted = m.accepts(text) && (m.accept(text), m.is_complete());
            EXPECT_EQ(accepted, x >= lo && x <= hi) << schema << " with " << x;
        }
    }
    EXPECT_TRUE(schema_accepts(R"({"type": "integer", "exclusiveMinimum": 0})", "1"));
    EXPECT_FALSE(schema_accepts(R"({"type": "integer", "exclusiveMinimum": 0})", "0"));
    EXPECT_FALSE(schema_accepts(R"({"type": "integer", "minimum": 0})", "-0"));
}

TEST(JsonSchema, UnsupportedOrMalformedSchemasAreClearErrors) {
    EXPECT_EQ(conversion_error(R"({"properties": {"a": {"not": {"type": "null"}}}})"),
              "JSON schema at /properties/a: the keyword 'not' is not supported");
    EXPECT_EQ(conversion_error(R"({"$ref": "http://example.com/s.json"})"),
              "JSON schema: only local $ref values (\"#/...\") are supported, not "
              "'http://example.com/s.json'");
    EXPECT_EQ(conversion_error(R"({"$ref": "#/$defs/missing"})"),
              "JSON schema: $ref '#/$defs/missing' does not point into the schema");
    EXPECT_EQ(conversion_error(R"({"type": "array", "minItems": 3, "maxItems": 2})"),
              "JSON schema: minItems is larger than maxItems");
    EXPECT_EQ(conversion_error(R"({"type": "string", "pattern": "(?=a)b"})"),
              "unsupported \"pattern\" '(?=a)b': lookahead and lookbehind are not supported");
    EXPECT_EQ(conversion_error(R"({"type": "numbr"})"), "JSON schema: unknown type 'numbr'");
    EXPECT_EQ(conversion_error(R"({"type": "number", "maximum": 3})"),
              "JSON schema: maximum is supported for integers only");
    EXPECT_EQ(conversion_error(R"({"type": "array", "uniqueItems": 1})").rfind("JSON schema: ", 0),
              0u);
    EXPECT_NE(conversion_error("{\"type\": ").find("not valid JSON"), std::string::npos);
    EXPECT_EQ(conversion_error(R"({"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}})"),
              "grammar error: rule 'root' can never complete (every alternative recurses "
              "without end)");
}

TEST(JsonSchema, ValidatorReportsWhereAndWhy) {
    const auto schema = nlohmann::json::parse(R"({"type": "object", "properties": {
        "n": {"type": "integer", "minimum": 1}, "s": {"type": "string", "pattern": "^a"},
        "l": {"type": "array", "items": {"enum": [1, 2]}, "maxItems": 2}},
        "required": ["n"], "additionalProperties": false})");
    const auto check = [&](const char* text) {
        return validate_json_schema(nlohmann::json::parse(text), schema).value_or("ok");
    };
    EXPECT_EQ(check(R"({"n": 1, "s": "abc", "l": [2, 1]})"), "ok");
    EXPECT_EQ(check(R"({"s": "a"})"), "at /: the required property \"n\" is missing");
    EXPECT_EQ(check(R"({"n": 0})"), "at /n: 0.0 is below the minimum 1.0");
    EXPECT_EQ(check(R"({"n": "1"})"), "at /n: expected type integer, got string");
    EXPECT_EQ(check(R"({"n": 1, "s": "b"})"), "at /s: \"b\" does not match the pattern \"^a\"");
    EXPECT_EQ(check(R"({"n": 1, "l": [3]})"), "at /l/0: 3 is not one of [1,2]");
    EXPECT_EQ(check(R"({"n": 1, "l": [1, 1, 1]})"), "at /l: more than maxItems 2 items");
    EXPECT_EQ(check(R"({"n": 1, "z": 1})"), "at /: the property \"z\" is not allowed");
    EXPECT_EQ(validate_json_schema(nlohmann::json(2.0), nlohmann::json{{"type", "integer"}}),
              std::nullopt);
    EXPECT_NE(validate_json_schema(nlohmann::json(5), nlohmann::json::parse(
                                                          R"({"oneOf": [{"type": "integer"},
                                                              {"type": "number"}]})")),
              std::nullopt);
}

// Schemas for the random-sampling test; every output they produce must parse and validate.
const char* const kSampledSchemas[] = {
    R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "email": {"type": "string", "pattern": "^[a-z]{1,8}@[a-z]{1,8}\\.(com|org)$"},
        "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3}},
        "required": ["name", "age"]})",
    R"({"type": "array", "items": {"anyOf": [{"type": "number"}, {"type": "boolean"},
        {"type": "null"}, {"type": "string", "minLength": 1, "maxLength": 4}]},
        "minItems": 2, "maxItems": 5})",
    R"({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer",
        "minimum": -20, "maximum": 20}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"},
        "maxItems": 2}}, "required": ["v"]}}, "$ref": "#/$defs/node"})",
    R"({"type": "object", "properties": {"id": {"type": "string", "format": "uuid"},
        "when": {"type": "string", "format": "date-time"}, "day": {"format": "date"}},
        "additionalProperties": {"type": "boolean"}, "required": ["id"]})",
    R"({"allOf": [{"type": "object", "properties": {"a": {"const": "fixed"}}, "required": ["a"]},
        {"properties": {"b": {"type": ["integer", "null"], "exclusiveMinimum": 10}}}]})",
    R"({"type": "object", "properties": {"text": {"type": "string"}, "score": {"type": "number"},
        "ok": {"type": "boolean"}, "any": {}}, "required": ["text", "score", "ok", "any"]})",
};

void expect_sampled_outputs_validate(const Tokenizer& tokenizer, const char* vocab, int seeds) {
    auto trie = std::make_shared<const TokenTrie>(tokenizer);
    for (const char* schema_text : kSampledSchemas) {
        const auto schema = nlohmann::json::parse(schema_text);
        const auto grammar = Grammar::parse(json_schema_to_gbnf(std::string_view(schema_text)));
        for (int seed = 0; seed < seeds; ++seed) {
            const auto sampled = test::sample_with_random_logits(grammar, trie, seed, 2000);
            SCOPED_TRACE(std::string(vocab) + " seed " + std::to_string(seed) + " schema " +
                         schema_text + "\noutput: " + sampled.text);
            if (seed == 0)
                std::printf("[ schema  ] %s, %d tokens: %s\n", vocab, sampled.tokens,
                            sampled.text.substr(0, 300).c_str());
            ASSERT_TRUE(sampled.ended);
            nlohmann::json parsed;
            ASSERT_NO_THROW(parsed = nlohmann::json::parse(sampled.text));
            EXPECT_EQ(validate_json_schema(parsed, schema), std::nullopt);
        }
    }
}

TEST(JsonSchema, RandomSamplingWithGpt2VocabularyAlwaysValidates) {
    auto tokenizer = Tokenizer::from_gguf(
        *GgufFile::open(test::data_path("vocab/ggml-vocab-gpt-2.gguf").string()));
    expect_sampled_outputs_validate(*tokenizer, "gpt-2", 8);
}

TEST(JsonSchema, RandomSamplingWithSentencePieceVocabularyAlwaysValidates) {
    auto tokenizer = Tokenizer::from_file(test::data_path("models/stories260K.gguf").string());
    expect_sampled_outputs_validate(*tokenizer, "stories260K", 25);
}

}  // namespace
}  // namespace uma
