#pragma once
// Structured output: JSON Schema -> GBNF grammar (for GrammarConstraint), the generic JSON
// grammar behind Ollama's `format: "json"`, and a validator for the same schema subset.
//
// Supported by the converter: type (object, array, string, number, integer, boolean, null, and
// lists of them), properties + required (properties in the order given; optional ones may be
// left out), additionalProperties (false unless given when there are properties, so output is
// predictable; true or a schema when given), items, minItems, maxItems, enum, const, anyOf, oneOf
// (as anyOf: the branches should not overlap), allOf (merged), $ref to #/definitions/...,
// #/$defs/... or any local JSON pointer (recursion allowed), minLength, maxLength, pattern (a
// regular expression subset: literals, ., classes, \d \w \s, groups, |, quantifiers, ^ and $),
// format (date, time, date-time, uuid), integer minimum/maximum/exclusiveMinimum/exclusiveMaximum,
// number minimum 0.
// Annotations (title, description, default, examples, ...) are ignored; keywords that would
// constrain the output in ways the grammar cannot follow are an error rather than ignored.
//
// Whitespace between tokens is bounded (at most a line break and 20 blanks), numbers have at
// most 16 integer and 16 fraction digits, so a model cannot loop on them forever.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace uma {

// GBNF for any JSON object (Ollama's `format: "json"`); rule `root`.
std::string json_object_gbnf();
// GBNF for any JSON value; rule `root`.
std::string json_value_gbnf();

// GBNF (rule `root`) for the values `schema` accepts. Throws uma::Error naming the unsupported or
// malformed part of the schema. Property order follows the schema: pass it as ordered_json (or as
// text) so that the order is kept.
std::string json_schema_to_gbnf(const nlohmann::ordered_json& schema);
std::string json_schema_to_gbnf(std::string_view schema_text);

// Ollama's `format` field: "json" (any object) or a JSON schema object.
std::string format_to_gbnf(const nlohmann::ordered_json& format);

// Checks `instance` against `schema` (the subset above plus minimum/maximum, multipleOf,
// uniqueItems, minProperties/maxProperties and not). Returns a message such as
// "at /items/2: expected type integer, got string", or nullopt when the instance is valid.
std::optional<std::string> validate_json_schema(const nlohmann::json& instance,
                                                const nlohmann::json& schema);
std::optional<std::string> validate_json_schema(const nlohmann::ordered_json& instance,
                                                const nlohmann::ordered_json& schema);

}  // namespace uma
