// JSON Schema -> GBNF. Every value rule ends with bounded whitespace (`ws`), like llama.cpp's
// json-schema-to-grammar, so keys, separators and values never need whitespace of their own.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "sampling/json_schema_internal.h"
#include "uma/core/error.h"
#include "uma/sampling/json_schema.h"

namespace uma {
namespace {

using Json = nlohmann::ordered_json;
using namespace json_schema_detail;

constexpr size_t kMaxSchemaDepth = 128;
// Schemas can refer to themselves through merges (allOf, anyOf with siblings, $ref with
// siblings), which are expanded rather than named: bound the total work.
constexpr size_t kMaxSchemaVisits = 20000;
constexpr int64_t kMaxCount = 10000;  // minItems/maxItems/minLength/maxLength the grammar follows
constexpr int64_t kIntegerLimit = 9999999999999999;  // 16 digits, as the integer rule allows

struct Primitive {
    const char* name;
    const char* body;
    std::vector<const char*> uses;
};

// Output order of the shared rules; a rule is written when a schema rule uses it.
const std::vector<Primitive>& primitives() {
    static const std::vector<Primitive> table = {
        {"value",
         "object | array | string | number | boolean | null",
         {"object", "array", "string", "number", "boolean", "null"}},
        {"object",
         R"("{" ws ( string ":" ws value ( "," ws string ":" ws value )* )? "}" ws)",
         {"string", "value", "ws"}},
        {"array", R"("[" ws ( value ( "," ws value )* )? "]" ws)", {"value", "ws"}},
        {"string", R"("\"" char* "\"" ws)", {"char", "ws"}},
        {"number",
         R"("-"? integral ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,2} )? ws)",
         {"integral", "ws"}},
        {"integer", R"("-"? integral ws)", {"integral", "ws"}},
        {"boolean", R"(( "true" | "false" ) ws)", {"ws"}},
        {"null", R"("null" ws)", {"ws"}},
        {"integral", R"("0" | [1-9] [0-9]{0,15})", {}},
        // One JSON string character; \u escapes are well-formed UTF-16 (surrogates in pairs).
        {"char",
         R"([^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" unicode-escape ))",
         {"unicode-escape"}},
        {"unicode-escape",
         R"([0-9a-cA-Ce-fE-F] hex{3} | [dD] [0-7] hex{2} | [dD] [89abAB] hex{2} "\\u" [dD] [c-fC-F] hex{2})",
         {"hex"}},
        // A key character with one spelling only (no \u, no \/), so keys can be compared.
        {"key-char", R"([^"\\\x00-\x1F] | "\\" ["\\bfnrt])", {}},
        {"hex", "[0-9a-fA-F]", {}},
        {"date",
         R"([0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ))",
         {}},
        {"time",
         R"(( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ))",
         {}},
        {"date-time", R"(date "T" time)", {"date", "time"}},
        {"uuid", R"(hex{8} "-" hex{4} "-" hex{4} "-" hex{4} "-" hex{12})", {"hex"}},
        // At most one line break and 20 blanks: a model cannot loop on whitespace.
        {"ws", R"(| " " | "\n" [ \t]{0,20})", {}},
    };
    return table;
}

const Primitive* find_primitive(std::string_view name) {
    for (const auto& p : primitives())
        if (name == p.name) return &p;
    return nullptr;
}

const std::set<std::string>& unsupported_keywords() {
    static const std::set<std::string> keywords = {"not",
                                                   "if",
                                                   "then",
                                                   "else",
                                                   "patternProperties",
                                                   "dependentRequired",
                                                   "dependentSchemas",
                                                   "dependencies",
                                                   "propertyNames",
                                                   "minProperties",
                                                   "maxProperties",
                                                   "contains",
                                                   "minContains",
                                                   "maxContains",
                                                   "prefixItems",
                                                   "unevaluatedProperties",
                                                   "unevaluatedItems",
                                                   "$dynamicRef",
                                                   "$recursiveRef"};
    return keywords;
}

// Keywords that say nothing about which values are valid.
bool is_annotation(const std::string& key) {
    static const std::set<std::string> keys = {
        "title",      "description", "default",   "examples",    "$schema", "$id",     "$comment",
        "deprecated", "readOnly",    "writeOnly", "definitions", "$defs",   "$anchor", "nullable"};
    return keys.count(key) > 0;
}

std::vector<std::string> types_of(const Json& schema) {
    std::vector<std::string> types;
    const auto it = schema.find("type");
    if (it == schema.end()) return types;
    if (it->is_string())
        types.push_back(it->get<std::string>());
    else if (it->is_array())
        for (const auto& t : *it) {
            if (!t.is_string()) throw Error("\"type\" must be a string or a list of strings");
            types.push_back(t.get<std::string>());
        }
    else
        throw Error("\"type\" must be a string or a list of strings");
    return types;
}

class SchemaConverter {
  public:
    explicit SchemaConverter(const Json& root) : root_(root) {
        for (const auto& p : primitives()) names_.insert(p.name);
        names_.insert("root");
    }

    std::string convert() {
        const std::string root_expression = visit(root_, "root", "", 0);
        std::string out = "root ::= " + root_expression + "\n";
        for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
        for (const auto& p : primitives())
            if (used_.count(p.name)) out += std::string(p.name) + " ::= " + p.body + "\n";
        return out;
    }

  private:
    [[noreturn]] static void fail(const std::string& path, const std::string& message) {
        throw Error("JSON schema" + (path.empty() ? std::string() : " at " + path) + ": " +
                    message);
    }

    std::string use(const std::string& primitive) {
        if (used_.insert(primitive).second)
            for (const char* dependency : find_primitive(primitive)->uses) use(dependency);
        return primitive;
    }

    std::string unique_name(const std::string& hint) {
        std::string name;
        for (char c : hint) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-';
            if (!ok) c = '-';
            if (c == '-' && (name.empty() || name.back() == '-')) continue;
            name += c;
        }
        while (!name.empty() && name.back() == '-') name.pop_back();
        if (name.size() > 48) name.resize(48);
        if (name.empty()) name = "rule";
        std::string candidate = name;
        for (int n = 1; names_.count(candidate); ++n) candidate = name + "-" + std::to_string(n);
        names_.insert(candidate);
        return candidate;
    }

    // A rule for `body`, shared with any earlier rule of the same body.
    std::string add_rule(const std::string& hint, const std::string& body) {
        const auto it = body_names_.find(body);
        if (it != body_names_.end()) return it->second;
        const std::string name = unique_name(hint);
        rules_.push_back({name, body});
        body_names_.emplace(body, name);
        return name;
    }

    static std::string alternatives(const std::vector<std::string>& options) {
        std::string out;
        for (size_t i = 0; i < options.size(); ++i) out += (i ? " | " : "") + options[i];
        return out;
    }

    // --- $ref and allOf ---

    const Json& resolve(const std::string& ref, const std::string& path) {
        if (ref == "#") return root_;
        if (ref.rfind("#/", 0) != 0)
            fail(path, "only local $ref values (\"#/...\") are supported, not '" + ref + "'");
        try {
            return root_.at(Json::json_pointer(ref.substr(1)));
        } catch (const nlohmann::json::exception&) {
            fail(path, "$ref '" + ref + "' does not point into the schema");
        }
    }

    // `schema` itself when it is not a bare $ref; follows chains of $ref up to a limit.
    const Json& dereference(const Json& schema, const std::string& path) {
        const Json* current = &schema;
        for (int hops = 0; current->is_object() && current->contains("$ref"); ++hops) {
            if (hops > 32) fail(path, "$ref chain too long or circular");
            if (!(*current)["$ref"].is_string()) fail(path, "$ref must be a string");
            current = &resolve((*current)["$ref"].get<std::string>(), path);
        }
        return *current;
    }

    // The schema that both `a` and `b` describe, for the simple cases allOf is used for.
    Json merge(const Json& a_in, const Json& b_in, const std::string& path) {
        const Json& a = dereference(a_in, path);
        const Json& b = dereference(b_in, path);
        if (a.is_boolean() || b.is_boolean()) {
            if (a == false || b == false) fail(path, "allOf with a false schema allows no value");
            return a.is_boolean() ? b : a;
        }
        Json out = a;
        for (const auto& [key, value] : b.items()) {
            if (!out.contains(key) || out[key] == value || is_annotation(key)) {
                if (!out.contains(key)) out[key] = value;
                continue;
            }
            Json& mine = out[key];
            if (key == "properties") {
                for (const auto& [name, sub] : value.items())
                    mine[name] = mine.contains(name) ? Json{{"allOf", {mine[name], sub}}} : sub;
            } else if (key == "required") {
                for (const auto& name : value)
                    if (std::find(mine.begin(), mine.end(), name) == mine.end())
                        mine.push_back(name);
            } else if (key == "type") {
                std::vector<std::string> both;
                for (const auto& t : types_of(a))
                    for (const auto& u : types_of(b)) {
                        if (t == u)
                            both.push_back(t);
                        else if ((t == "integer" && u == "number") ||
                                 (t == "number" && u == "integer"))
                            both.push_back("integer");
                    }
                if (both.empty()) fail(path, "allOf combines types that do not overlap");
                mine = both.size() == 1 ? Json(both[0]) : Json(both);
            } else if (key == "minLength" || key == "minItems" || key == "minimum") {
                mine = std::max(mine, value);
            } else if (key == "maxLength" || key == "maxItems" || key == "maximum") {
                mine = std::min(mine, value);
            } else if (key == "items" || key == "additionalProperties") {
                if (mine == false || value == false)
                    mine = false;
                else if (mine == true)
                    mine = value;
                else if (value != true)
                    mine = Json{{"allOf", {mine, value}}};
            } else if (key == "enum") {
                Json kept = Json::array();
                for (const auto& v : mine)
                    if (std::find(value.begin(), value.end(), v) != value.end()) kept.push_back(v);
                mine = kept;
            } else {
                fail(path, "allOf with different values for '" + key + "' is not supported");
            }
        }
        return out;
    }

    Json flatten_all_of(const Json& schema, const std::string& path, size_t depth) {
        if (depth > kMaxSchemaDepth || ++visits_ > kMaxSchemaVisits)
            fail(path, "allOf is nested too deeply");
        const Json& all = schema["allOf"];
        if (!all.is_array() || all.empty()) fail(path, "allOf must be a non-empty list");
        Json merged = schema;
        merged.erase("allOf");
        for (const auto& part : all) {
            const Json& target = dereference(part, path);
            merged = merge(merged,
                           target.is_object() && target.contains("allOf")
                               ? flatten_all_of(target, path, depth + 1)
                               : target,
                           path);
        }
        return merged;
    }

    std::string ref_rule(const std::string& ref, const std::string& path, size_t depth) {
        const auto it = ref_names_.find(ref);
        if (it != ref_names_.end()) return it->second;
        const std::string name = unique_name(ref.substr(ref.find_last_of('/') + 1));
        ref_names_.emplace(ref, name);
        const size_t index = rules_.size();
        rules_.push_back({name, ""});  // the body may refer back to `name` (recursion)
        const std::string body = visit(resolve(ref, path), name, ref.substr(1), depth + 1);
        rules_[index].second = body;
        return name;
    }

    // --- Schemas ---

    // A GBNF expression (usually a rule name) for the values `schema` accepts.
    std::string visit(const Json& schema, const std::string& hint, const std::string& path,
                      size_t depth) {
        if (depth > kMaxSchemaDepth) fail(path, "the schema is nested too deeply");
        if (++visits_ > kMaxSchemaVisits) fail(path, "the schema is too complex");
        if (schema.is_boolean()) {
            if (!schema.get<bool>()) fail(path, "the schema false allows no value");
            return use("value");
        }
        if (!schema.is_object()) fail(path, "a schema must be an object or a boolean");
        for (const auto& [key, value] : schema.items()) {
            if (unsupported_keywords().count(key))
                fail(path, "the keyword '" + key + "' is not supported");
        }
        if (schema.contains("$ref")) {
            if (!schema["$ref"].is_string()) fail(path, "$ref must be a string");
            const std::string ref = schema["$ref"].get<std::string>();
            bool has_siblings = false;
            for (const auto& [key, value] : schema.items())
                if (key != "$ref" && !is_annotation(key)) has_siblings = true;
            if (!has_siblings) return ref_rule(ref, path, depth);
            Json rest = schema;
            rest.erase("$ref");
            return visit(merge(rest, resolve(ref, path), path), hint, path, depth + 1);
        }
        if (schema.contains("allOf"))
            return visit(flatten_all_of(schema, path, depth), hint, path, depth + 1);
        for (const char* key : {"anyOf", "oneOf"}) {
            if (!schema.contains(key)) continue;
            const Json& branches = schema[key];
            if (!branches.is_array() || branches.empty())
                fail(path, std::string(key) + " must be a non-empty list");
            Json siblings = schema;
            siblings.erase(key);
            bool plain = true;
            for (const auto& [k, v] : siblings.items())
                if (!is_annotation(k)) plain = false;
            std::vector<std::string> options;
            for (size_t i = 0; i < branches.size(); ++i) {
                const std::string branch_path = path + "/" + key + "/" + std::to_string(i);
                // A (B | C) is A B | A C: sibling keywords apply to every branch.
                options.push_back(
                    plain
                        ? visit(branches[i], hint + "-" + std::to_string(i), branch_path, depth + 1)
                        : visit(merge(siblings, branches[i], branch_path),
                                hint + "-" + std::to_string(i), branch_path, depth + 1));
            }
            return add_rule(hint, alternatives(options));
        }
        if (schema.contains("const"))
            return add_rule(hint, gbnf_literal(schema["const"].dump()) + " " + use("ws"));
        if (schema.contains("enum")) {
            const Json& values = schema["enum"];
            if (!values.is_array() || values.empty()) fail(path, "enum must be a non-empty list");
            std::vector<std::string> options;
            for (const auto& v : values) options.push_back(gbnf_literal(v.dump()));
            return add_rule(hint, "( " + alternatives(options) + " ) " + use("ws"));
        }

        std::vector<std::string> types = types_of(schema);
        if (types.empty()) {
            const auto has = [&](std::initializer_list<const char*> keys) {
                return std::any_of(keys.begin(), keys.end(),
                                   [&](const char* k) { return schema.contains(k); });
            };
            if (has({"properties", "additionalProperties", "required"}))
                types = {"object"};
            else if (has({"items", "minItems", "maxItems"}))
                types = {"array"};
            else if (has({"minLength", "maxLength", "pattern", "format"}))
                types = {"string"};
            else
                return use("value");
        }
        if (types.size() > 1) {
            std::vector<std::string> options;
            for (const auto& t : types)
                options.push_back(typed(schema, t, hint + "-" + t, path, depth));
            return add_rule(hint, alternatives(options));
        }
        return typed(schema, types[0], hint, path, depth);
    }

    std::string typed(const Json& schema, const std::string& type, const std::string& hint,
                      const std::string& path, size_t depth) {
        if (type == "object") return object_rule(schema, hint, path, depth);
        if (type == "array") return array_rule(schema, hint, path, depth);
        if (type == "string") return string_rule(schema, hint, path);
        if (type == "integer") return integer_rule(schema, hint, path);
        if (type == "number") return number_rule(schema, hint, path);
        if (type == "boolean") return use("boolean");
        if (type == "null") return use("null");
        fail(path, "unknown type '" + type + "'");
    }

    static int64_t count(const Json& schema, const char* key, int64_t otherwise,
                         const std::string& path) {
        if (!schema.contains(key)) return otherwise;
        const Json& v = schema[key];
        if (!v.is_number_integer() || v.get<int64_t>() < 0)
            fail(path, std::string(key) + " must be a non-negative integer");
        if (v.get<int64_t>() > kMaxCount)
            fail(path,
                 std::string(key) + " above " + std::to_string(kMaxCount) + " is not supported");
        return v.get<int64_t>();
    }

    static std::string repeat(const std::string& item, int64_t min, int64_t max) {
        if (max < 0)
            return min == 0   ? item + "*"
                   : min == 1 ? item + "+"
                              : item + "{" + std::to_string(min) + ",}";
        if (min == max)
            return min == 0 ? "" : min == 1 ? item : item + "{" + std::to_string(min) + "}";
        if (min == 0 && max == 1) return item + "?";
        return item + "{" + std::to_string(min) + "," + std::to_string(max) + "}";
    }

    std::string array_rule(const Json& schema, const std::string& hint, const std::string& path,
                           size_t depth) {
        if (schema.value("uniqueItems", false)) fail(path, "uniqueItems is not supported");
        std::string item = use("value");
        if (schema.contains("items")) {
            if (schema["items"].is_array())
                fail(path, "\"items\" as a list (tuples) is not supported");
            item = visit(schema["items"], hint + "-item", path + "/items", depth + 1);
        }
        const int64_t min = count(schema, "minItems", 0, path);
        const int64_t max = count(schema, "maxItems", -1, path);
        if (max >= 0 && min > max) fail(path, "minItems is larger than maxItems");
        if (max == 0) return add_rule(hint, "\"[\" " + use("ws") + " \"]\" " + use("ws"));
        const std::string more = repeat("( \",\" " + use("ws") + " " + item + " )",
                                        std::max<int64_t>(min, 1) - 1, max < 0 ? -1 : max - 1);
        std::string list = item + (more.empty() ? "" : " " + more);
        if (min == 0) list = "( " + list + " )?";
        return add_rule(hint, "\"[\" " + use("ws") + " " + list + " \"]\" " + use("ws"));
    }

    std::string string_rule(const Json& schema, const std::string& hint, const std::string& path) {
        const std::string quote = "\"\\\"\"";
        const bool has_length = schema.contains("minLength") || schema.contains("maxLength");
        if (schema.contains("format") && schema["format"].is_string()) {
            const std::string format = schema["format"].get<std::string>();
            if (format == "date" || format == "time" || format == "date-time" || format == "uuid") {
                if (has_length || schema.contains("pattern"))
                    fail(path, "format together with pattern or lengths is not supported");
                return add_rule(hint, quote + " " + use(format) + " " + quote + " " + use("ws"));
            }
        }
        if (schema.contains("pattern")) {
            if (!schema["pattern"].is_string()) fail(path, "pattern must be a string");
            if (has_length)
                fail(path, "pattern together with minLength or maxLength is not supported");
            const std::string expression =
                pattern_to_gbnf(schema["pattern"].get<std::string>(), use("char"));
            return add_rule(hint, quote + " " + expression + " " + quote + " " + use("ws"));
        }
        if (!has_length) return use("string");
        const int64_t min = count(schema, "minLength", 0, path);
        const int64_t max = count(schema, "maxLength", -1, path);
        if (max >= 0 && min > max) fail(path, "minLength is larger than maxLength");
        const std::string body = repeat(use("char"), min, max);
        return add_rule(hint,
                        quote + (body.empty() ? "" : " " + body) + " " + quote + " " + use("ws"));
    }

    std::string integer_rule(const Json& schema, const std::string& hint, const std::string& path) {
        if (schema.contains("multipleOf")) fail(path, "multipleOf is not supported");
        int64_t lo = -kIntegerLimit, hi = kIntegerLimit;
        const auto bound = [&](const char* key) -> std::optional<double> {
            if (!schema.contains(key)) return std::nullopt;
            if (!schema[key].is_number()) fail(path, std::string(key) + " must be a number");
            return schema[key].get<double>();
        };
        const auto clamp = [](double v) {
            return static_cast<int64_t>(std::clamp(v, -1e17, 1e17));
        };
        if (auto v = bound("minimum")) lo = std::max(lo, clamp(std::ceil(*v)));
        if (auto v = bound("maximum")) hi = std::min(hi, clamp(std::floor(*v)));
        // exclusiveMinimum/Maximum: a number (draft 6 and later) or a flag on minimum (draft 4).
        if (schema.contains("exclusiveMinimum") && schema["exclusiveMinimum"].is_boolean()) {
            if (schema["exclusiveMinimum"].get<bool>() && bound("minimum"))
                lo = std::max(lo, clamp(std::floor(*bound("minimum")) + 1));
        } else if (auto v = bound("exclusiveMinimum")) {
            lo = std::max(lo, clamp(std::floor(*v) + 1));
        }
        if (schema.contains("exclusiveMaximum") && schema["exclusiveMaximum"].is_boolean()) {
            if (schema["exclusiveMaximum"].get<bool>() && bound("maximum"))
                hi = std::min(hi, clamp(std::ceil(*bound("maximum")) - 1));
        } else if (auto v = bound("exclusiveMaximum")) {
            hi = std::min(hi, clamp(std::ceil(*v) - 1));
        }
        lo = std::max(lo, -kIntegerLimit);
        hi = std::min(hi, kIntegerLimit);
        if (lo > hi) fail(path, "no integer lies within minimum and maximum");
        if (lo == -kIntegerLimit && hi == kIntegerLimit) return use("integer");
        return add_rule(hint, integer_range_gbnf(lo, hi) + " " + use("ws"));
    }

    std::string number_rule(const Json& schema, const std::string& hint, const std::string& path) {
        for (const char* key : {"maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
            if (schema.contains(key))
                fail(path, std::string(key) + " is supported for integers only");
        if (!schema.contains("minimum")) return use("number");
        if (schema["minimum"] != 0)
            fail(path, "minimum other than 0 is supported for integers only");
        use("number");
        return add_rule(hint, R"(integral ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,2} )? ws)");
    }

    // --- Objects ---

    std::string object_rule(const Json& schema, const std::string& hint, const std::string& path,
                            size_t depth) {
        struct Property {
            std::string name;
            std::string kv_rule;
            bool required;
        };
        std::vector<Property> properties;
        const Json empty = Json::object();
        const Json& declared = schema.contains("properties") ? schema["properties"] : empty;
        if (!declared.is_object()) fail(path, "properties must be an object");
        std::vector<std::string> required;
        if (schema.contains("required")) {
            if (!schema["required"].is_array()) fail(path, "required must be a list of names");
            for (const auto& r : schema["required"]) {
                if (!r.is_string()) fail(path, "required must be a list of names");
                required.push_back(r.get<std::string>());
            }
        }
        const auto is_required = [&](const std::string& name) {
            return std::find(required.begin(), required.end(), name) != required.end();
        };
        const auto add_property = [&](const std::string& name, const Json& sub) {
            const std::string value =
                visit(sub, hint + "-" + name, path + "/properties/" + name, depth + 1);
            const std::string kv = gbnf_literal(Json(name).dump()) + " " + use("ws") + " \":\" " +
                                   use("ws") + " " + value;
            properties.push_back(
                {name, add_rule(hint + "-" + name + "-kv", kv), is_required(name)});
        };
        for (const auto& [name, sub] : declared.items()) add_property(name, sub);
        for (const auto& name : required)  // required but not described: any value
            if (!declared.contains(name)) add_property(name, true);

        // Unless given, additional properties are allowed only when no property is declared.
        const Json additional = schema.contains("additionalProperties")
                                    ? schema["additionalProperties"]
                                    : Json(properties.empty());
        if (properties.empty() && additional == true) return use("object");
        std::string additional_kv;
        if (additional != false) {
            std::vector<std::string> names;
            for (const auto& p : properties) names.push_back(p.name);
            const std::string value = additional == true
                                          ? use("value")
                                          : visit(additional, hint + "-additional",
                                                  path + "/additionalProperties", depth + 1);
            additional_kv =
                add_rule(hint + "-additional-kv",
                         other_key_rule(hint, names) + " \":\" " + use("ws") + " " + value);
        }

        // Properties in order, each optional one may be left out: tail(i, first) is the text
        // from property i on, `first` when nothing was written before (so no comma).
        std::map<std::pair<size_t, bool>, std::string> memo;
        const std::string comma = "\",\" " + use("ws") + " ";
        std::function<std::string(size_t, bool)> tail = [&](size_t i, bool first) -> std::string {
            const auto key = std::make_pair(i, first);
            if (const auto it = memo.find(key); it != memo.end()) return it->second;
            std::string expression;
            if (i == properties.size()) {
                if (!additional_kv.empty()) {
                    const std::string more = "( " + comma + additional_kv + " )*";
                    expression = first ? "( " + additional_kv + " " + more + " )?" : more;
                }
            } else {
                const std::string after = tail(i + 1, false);
                const std::string with_this = (first ? "" : comma) + properties[i].kv_rule +
                                              (after.empty() ? "" : " " + after);
                if (properties[i].required) {
                    expression = with_this;
                } else {
                    const std::string without = tail(i + 1, first);
                    expression = without.empty() ? "( " + with_this + " )?"
                                                 : "( " + with_this + " | " + without + " )";
                }
                if (i + 1 < properties.size() || !additional_kv.empty())
                    expression = add_rule(hint + "-rest", expression);
            }
            memo.emplace(key, expression);
            return expression;
        };
        const std::string members = tail(0, true);
        return add_rule(hint, "\"{\" " + use("ws") + (members.empty() ? "" : " " + members) +
                                  " \"}\" " + use("ws"));
    }

    // A key (with its quotes and whitespace) that is none of `names`: a trie over the names'
    // JSON spellings, where each node may end (unless a name ends there) or leave the trie.
    std::string other_key_rule(const std::string& hint, const std::vector<std::string>& names) {
        if (names.empty()) return use("string");
        const std::string quote = "\"\\\"\"";
        struct Node {
            std::map<std::string, size_t> children;
            bool is_name = false;
        };
        std::vector<Node> trie(1);
        for (const auto& name : names) {
            const std::string spelled = Json(name).dump();
            const std::string_view inner(spelled.data() + 1, spelled.size() - 2);
            size_t node = 0;
            bool reachable = true;
            for (size_t i = 0; i < inner.size() && reachable;) {
                size_t length = 1;
                const auto c = static_cast<unsigned char>(inner[i]);
                if (c == '\\')
                    length = inner[i + 1] == 'u' ? 6 : 2;
                else if (c >= 0xF0)
                    length = 4;
                else if (c >= 0xE0)
                    length = 3;
                else if (c >= 0xC0)
                    length = 2;
                const std::string unit(inner.substr(i, length));
                if (unit.size() == 6) reachable = false;  // key-char cannot spell \u escapes
                i += length;
                if (!reachable) break;
                auto [it, inserted] = trie[node].children.emplace(unit, trie.size());
                if (inserted) trie.emplace_back();
                node = it->second;
            }
            if (reachable) trie[node].is_name = true;
        }
        use("key-char");
        std::vector<std::string> rule_names(trie.size());
        for (size_t n = trie.size(); n-- > 0;) {  // children are created after their parents
            std::vector<std::string> options;
            if (!trie[n].is_name) options.push_back(quote);  // the key ends here
            CodepointRanges excluded;
            std::string escapes = "\"\\bfnrt";
            for (const auto& [unit, child] : trie[n].children) {
                options.push_back(gbnf_literal(unit) + " " + rule_names[child]);
                if (unit[0] == '\\') {
                    escapes.erase(escapes.find(unit[1]), 1);
                } else {
                    size_t pos = 0;
                    const uint32_t cp = decode_first(unit, pos);
                    excluded.push_back({cp, cp});
                }
            }
            // Leave the trie: a character no name continues with, then any characters.
            const CodepointRanges others = intersect(json_safe_ranges(), complement(excluded));
            std::string leave = gbnf_class(others);
            if (!escapes.empty()) {
                CodepointRanges letters;
                for (char e : escapes) letters.push_back({uint32_t(e), uint32_t(e)});
                leave = "( " + leave + " | \"\\\\\" " + gbnf_class(normalized(letters)) + " )";
            }
            options.push_back(leave + " key-char* " + quote);
            rule_names[n] = add_rule(hint + "-other-key", alternatives(options));
        }
        return "\"\\\"\" " + rule_names[0] + " " + use("ws");
    }

    static uint32_t decode_first(const std::string& s, size_t& pos) {
        const auto lead = static_cast<unsigned char>(s[pos]);
        const size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        uint32_t cp = length == 1 ? lead : lead & (0x3F >> (length - 1));
        for (size_t i = 1; i < length && pos + i < s.size(); ++i)
            cp = (cp << 6) | (s[pos + i] & 0x3F);
        pos += length;
        return cp;
    }

    const Json& root_;
    std::vector<std::pair<std::string, std::string>> rules_;
    std::map<std::string, std::string> body_names_;
    std::set<std::string> names_;
    std::set<std::string> used_;
    std::map<std::string, std::string> ref_names_;
    size_t visits_ = 0;
};

std::string primitive_grammar(const std::string& root) {
    Json schema = root == "object" ? Json{{"type", "object"}} : Json::object();
    return json_schema_to_gbnf(schema);
}

}  // namespace

std::string json_object_gbnf() {
    return primitive_grammar("object");
}
std::string json_value_gbnf() {
    return primitive_grammar("value");
}

std::string json_schema_to_gbnf(const nlohmann::ordered_json& schema) {
    try {
        return SchemaConverter(schema).convert();
    } catch (const nlohmann::json::exception& e) {  // e.g. a keyword holding the wrong type
        throw Error(std::string("JSON schema: ") + e.what());
    }
}

std::string json_schema_to_gbnf(std::string_view schema_text) {
    nlohmann::ordered_json schema;
    try {
        schema = nlohmann::ordered_json::parse(schema_text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("the JSON schema is not valid JSON: ") + e.what());
    }
    return json_schema_to_gbnf(schema);
}

std::string format_to_gbnf(const nlohmann::ordered_json& format) {
    if (format.is_string() && format.get<std::string>() == "json") return json_object_gbnf();
    if (format.is_object()) return json_schema_to_gbnf(format);
    throw Error("format must be \"json\" or a JSON schema object");
}

}  // namespace uma
