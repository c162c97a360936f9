// A JSON Schema validator for the subset structured output uses (and a few more keywords that
// are cheap to check), so the server and the tests can double-check generated output.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cmath>
#include <memory>
#include <set>

#include "uma/sampling/json_schema.h"

namespace uma {
namespace {

constexpr size_t kMaxDepth = 256;
// Self-referring schemas with several branches (anyOf of two "#" refs) would take exponential
// time: bound the number of (value, schema) checks.
constexpr size_t kMaxChecks = 1000000;

// Unanchored search, as JSON Schema's "pattern" means; nullopt when the pattern does not compile.
std::optional<bool> regex_search(const std::string& pattern, const std::string& text) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)> code(
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                      PCRE2_UTF | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr),
        &pcre2_code_free);
    if (!code) return std::nullopt;
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
        pcre2_match_data_create_from_pattern(code.get(), nullptr), &pcre2_match_data_free);
    const int rc = pcre2_match(code.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                               0, 0, match.get(), nullptr);
    return rc >= 0;
}

size_t codepoint_count(const std::string& s) {
    size_t n = 0;
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    return n;
}

const char* format_regex(const std::string& format) {
    if (format == "date") return R"(^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$)";
    if (format == "time")
        return R"(^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$)";
    if (format == "date-time")
        return R"(^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$)";
    if (format == "uuid")
        return R"(^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)";
    return nullptr;  // other formats are annotations
}

template <class Json>
class Validator {
  public:
    explicit Validator(const Json& root) : root_(root) {}

    std::optional<std::string> check(const Json& value, const Json& schema, const std::string& path,
                                     size_t depth) const {
        const auto error = [&](const std::string& message) -> std::optional<std::string> {
            return "at " + (path.empty() ? std::string("/") : path) + ": " + message;
        };
        if (depth > kMaxDepth) return error("the schema recursion is too deep");
        if (++checks_ > kMaxChecks) return error("the schema is too complex to check");
        if (schema.is_boolean()) {
            if (schema.template get<bool>()) return std::nullopt;
            return error("no value is allowed here");
        }
        if (!schema.is_object()) return error("the schema is not an object");

        if (schema.contains("$ref")) {
            const Json* target = resolve(schema["$ref"]);
            if (!target) return error("unresolvable $ref " + schema["$ref"].dump());
            if (auto e = check(value, *target, path, depth + 1)) return e;
        }
        if (schema.contains("type") && !type_matches(value, schema["type"]))
            return error("expected type " + type_list(schema["type"]) + ", got " +
                         type_name(value));
        if (schema.contains("const") && value != schema["const"])
            return error("expected the constant " + schema["const"].dump());
        if (schema.contains("enum")) {
            const Json& options = schema["enum"];
            if (std::find(options.begin(), options.end(), value) == options.end())
                return error(value.dump() + " is not one of " + options.dump());
        }
        if (value.is_number()) {
            if (auto e = check_number(value.template get<double>(), schema)) return error(*e);
        }
        if (value.is_string()) {
            if (auto e = check_string(value.template get<std::string>(), schema)) return error(*e);
        }
        if (value.is_array()) {
            if (auto e = check_array(value, schema, path, depth)) return e;
        }
        if (value.is_object()) {
            if (auto e = check_object(value, schema, path, depth)) return e;
        }
        return check_combinators(value, schema, path, depth);
    }

  private:
    const Json* resolve(const Json& ref) const {
        if (!ref.is_string()) return nullptr;
        const std::string text = ref.template get<std::string>();
        if (text == "#") return &root_;
        if (text.rfind("#/", 0) != 0) return nullptr;
        try {
            return &root_.at(typename Json::json_pointer(text.substr(1)));
        } catch (const nlohmann::json::exception&) {
            return nullptr;
        }
    }

    static std::string type_name(const Json& v) {
        if (v.is_number_integer()) return "integer";
        if (v.is_number()) return "number";
        return v.type_name();
    }

    static std::string type_list(const Json& type) {
        if (type.is_string()) return type.template get<std::string>();
        std::string out;
        for (const auto& t : type) out += (out.empty() ? "" : " or ") + t.dump();
        return out;
    }

    static bool one_type_matches(const Json& v, const std::string& type) {
        if (type == "integer")
            return v.is_number_integer() ||
                   (v.is_number_float() && std::isfinite(v.template get<double>()) &&
                    std::floor(v.template get<double>()) == v.template get<double>());
        if (type == "number") return v.is_number();
        if (type == "string") return v.is_string();
        if (type == "boolean") return v.is_boolean();
        if (type == "null") return v.is_null();
        if (type == "array") return v.is_array();
        if (type == "object") return v.is_object();
        return false;
    }

    static bool type_matches(const Json& v, const Json& type) {
        if (type.is_string()) return one_type_matches(v, type.template get<std::string>());
        if (!type.is_array()) return false;
        for (const auto& t : type)
            if (t.is_string() && one_type_matches(v, t.template get<std::string>())) return true;
        return false;
    }

    static std::optional<std::string> check_number(double x, const Json& schema) {
        const auto number = [&](const char* key) -> std::optional<double> {
            if (!schema.contains(key) || !schema[key].is_number()) return std::nullopt;
            return schema[key].template get<double>();
        };
        const bool draft4_exclusive_min = schema.value("exclusiveMinimum", Json(false)) == true;
        const bool draft4_exclusive_max = schema.value("exclusiveMaximum", Json(false)) == true;
        const std::string shown = Json(x).dump();
        if (auto m = number("minimum"); m && (x < *m || (draft4_exclusive_min && x == *m)))
            return shown + " is below the minimum " + Json(*m).dump();
        if (auto m = number("maximum"); m && (x > *m || (draft4_exclusive_max && x == *m)))
            return shown + " is above the maximum " + Json(*m).dump();
        if (auto m = number("exclusiveMinimum"); m && x <= *m)
            return shown + " is not above " + Json(*m).dump();
        if (auto m = number("exclusiveMaximum"); m && x >= *m)
            return shown + " is not below " + Json(*m).dump();
        if (auto m = number("multipleOf"); m && *m > 0) {
            const double q = x / *m;
            if (std::fabs(q - std::round(q)) > 1e-9 * std::max(1.0, std::fabs(q)))
                return shown + " is not a multiple of " + Json(*m).dump();
        }
        return std::nullopt;
    }

    static std::optional<std::string> check_string(const std::string& s, const Json& schema) {
        const size_t length = codepoint_count(s);
        if (schema.contains("minLength") && schema["minLength"].is_number() &&
            length < schema["minLength"].template get<double>())
            return "the string is shorter than minLength " + schema["minLength"].dump();
        if (schema.contains("maxLength") && schema["maxLength"].is_number() &&
            length > schema["maxLength"].template get<double>())
            return "the string is longer than maxLength " + schema["maxLength"].dump();
        if (schema.contains("pattern") && schema["pattern"].is_string()) {
            const auto found = regex_search(schema["pattern"].template get<std::string>(), s);
            if (!found) return "the pattern " + schema["pattern"].dump() + " does not compile";
            if (!*found)
                return Json(s).dump() + " does not match the pattern " + schema["pattern"].dump();
        }
        if (schema.contains("format") && schema["format"].is_string()) {
            const std::string format = schema["format"].template get<std::string>();
            if (const char* regex = format_regex(format); regex && !*regex_search(regex, s))
                return Json(s).dump() + " is not a valid " + format;
        }
        return std::nullopt;
    }

    std::optional<std::string> check_array(const Json& array, const Json& schema,
                                           const std::string& path, size_t depth) const {
        const auto error = [&](const std::string& message) -> std::optional<std::string> {
            return "at " + (path.empty() ? std::string("/") : path) + ": " + message;
        };
        const double size = static_cast<double>(array.size());
        if (schema.contains("minItems") && schema["minItems"].is_number() &&
            size < schema["minItems"].template get<double>())
            return error("fewer than minItems " + schema["minItems"].dump() + " items");
        if (schema.contains("maxItems") && schema["maxItems"].is_number() &&
            size > schema["maxItems"].template get<double>())
            return error("more than maxItems " + schema["maxItems"].dump() + " items");
        size_t prefix = 0;
        const Json* tuple = schema.contains("prefixItems") ? &schema["prefixItems"]
                            : schema.contains("items") && schema["items"].is_array()
                                ? &schema["items"]
                                : nullptr;
        if (tuple) {
            for (; prefix < tuple->size() && prefix < array.size(); ++prefix)
                if (auto e = check(array[prefix], (*tuple)[prefix],
                                   path + "/" + std::to_string(prefix), depth + 1))
                    return e;
        }
        const Json* rest =
            schema.contains("items") && !schema["items"].is_array() ? &schema["items"]
            : tuple && schema.contains("additionalItems")           ? &schema["additionalItems"]
                                                                    : nullptr;
        if (rest) {
            for (size_t i = prefix; i < array.size(); ++i)
                if (auto e = check(array[i], *rest, path + "/" + std::to_string(i), depth + 1))
                    return e;
        }
        if (schema.value("uniqueItems", Json(false)) == true) {
            for (size_t i = 0; i < array.size(); ++i)
                for (size_t j = i + 1; j < array.size(); ++j)
                    if (array[i] == array[j])
                        return error("items " + std::to_string(i) + " and " + std::to_string(j) +
                                     " are equal (uniqueItems)");
        }
        if (schema.contains("contains")) {
            bool any = false;
            for (const auto& item : array)
                any = any || !check(item, schema["contains"], path, depth + 1);
            if (!any) return error("no item matches \"contains\"");
        }
        return std::nullopt;
    }

    std::optional<std::string> check_object(const Json& object, const Json& schema,
                                            const std::string& path, size_t depth) const {
        const auto error = [&](const std::string& message) -> std::optional<std::string> {
            return "at " + (path.empty() ? std::string("/") : path) + ": " + message;
        };
        if (schema.contains("required") && schema["required"].is_array()) {
            for (const auto& name : schema["required"])
                if (name.is_string() && !object.contains(name.template get<std::string>()))
                    return error("the required property " + name.dump() + " is missing");
        }
        const double size = static_cast<double>(object.size());
        if (schema.contains("minProperties") && schema["minProperties"].is_number() &&
            size < schema["minProperties"].template get<double>())
            return error("fewer properties than minProperties");
        if (schema.contains("maxProperties") && schema["maxProperties"].is_number() &&
            size > schema["maxProperties"].template get<double>())
            return error("more properties than maxProperties");
        const Json empty = Json::object();
        const Json& properties = schema.contains("properties") && schema["properties"].is_object()
                                     ? schema["properties"]
                                     : empty;
        const Json& patterns =
            schema.contains("patternProperties") && schema["patternProperties"].is_object()
                ? schema["patternProperties"]
                : empty;
        for (const auto& [key, item] : object.items()) {
            const std::string item_path = path + "/" + key;
            bool described = false;
            if (properties.contains(key)) {
                described = true;
                if (auto e = check(item, properties[key], item_path, depth + 1)) return e;
            }
            for (const auto& [pattern, sub] : patterns.items()) {
                if (regex_search(pattern, key).value_or(false)) {
                    described = true;
                    if (auto e = check(item, sub, item_path, depth + 1)) return e;
                }
            }
            if (!described && schema.contains("additionalProperties")) {
                const Json& additional = schema["additionalProperties"];
                if (additional == false)
                    return error("the property \"" + key + "\" is not allowed");
                if (auto e = check(item, additional, item_path, depth + 1)) return e;
            }
            if (schema.contains("propertyNames")) {
                if (auto e = check(Json(key), schema["propertyNames"], item_path, depth + 1))
                    return e;
            }
        }
        return std::nullopt;
    }

    std::optional<std::string> check_combinators(const Json& value, const Json& schema,
                                                 const std::string& path, size_t depth) const {
        const auto error = [&](const std::string& message) -> std::optional<std::string> {
            return "at " + (path.empty() ? std::string("/") : path) + ": " + message;
        };
        if (schema.contains("allOf")) {
            for (const auto& sub : schema["allOf"])
                if (auto e = check(value, sub, path, depth + 1)) return e;
        }
        if (schema.contains("anyOf")) {
            std::optional<std::string> first_error;
            bool any = false;
            for (const auto& sub : schema["anyOf"]) {
                auto e = check(value, sub, path, depth + 1);
                if (!e) {
                    any = true;
                    break;
                }
                if (!first_error) first_error = e;
            }
            if (!any)
                return error("no anyOf branch matches (first: " + first_error.value_or("") + ")");
        }
        if (schema.contains("oneOf")) {
            size_t matching = 0;
            for (const auto& sub : schema["oneOf"])
                if (!check(value, sub, path, depth + 1)) ++matching;
            if (matching != 1)
                return error(std::to_string(matching) + " oneOf branches match, not exactly one");
        }
        if (schema.contains("not") && !check(value, schema["not"], path, depth + 1))
            return error("the value matches the \"not\" schema");
        if (schema.contains("if")) {
            const bool condition = !check(value, schema["if"], path, depth + 1);
            const char* branch = condition ? "then" : "else";
            if (schema.contains(branch))
                if (auto e = check(value, schema[branch], path, depth + 1)) return e;
        }
        return std::nullopt;
    }

    const Json& root_;
    mutable size_t checks_ = 0;  // work done so far, against kMaxChecks
};

template <class Json>
std::optional<std::string> validate(const Json& instance, const Json& schema) {
    try {
        return Validator<Json>(schema).check(instance, schema, "", 0);
    } catch (const nlohmann::json::exception& e) {  // e.g. a keyword holding the wrong type
        return std::string("the schema is malformed: ") + e.what();
    }
}

}  // namespace

std::optional<std::string> validate_json_schema(const nlohmann::json& instance,
                                                const nlohmann::json& schema) {
    return validate(instance, schema);
}

std::optional<std::string> validate_json_schema(const nlohmann::ordered_json& instance,
                                                const nlohmann::ordered_json& schema) {
    return validate(instance, schema);
}

}  // namespace uma
