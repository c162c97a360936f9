#pragma once
// Modelfiles: the recipe `uma create` builds a stored model from, in Ollama's syntax.
//
//   # comment
//   FROM ./model.gguf               (a GGUF path, relative to the Modelfile, or a model name)
//   PARAMETER temperature 0.7       (one per line; `stop` may repeat)
//   SYSTEM You are a helpful assistant.
//   TEMPLATE """{{ messages }}..."""  (a Jinja chat template replacing the GGUF's own)
//   MESSAGE user Hello              (a conversation to start from: system, user, assistant)
//   LICENSE """..."""
//
// Instructions are case-insensitive. A value is the rest of the line, a "quoted string" (escapes
// \\ \" \n \t \r) or a """triple-quoted string""" that may span lines and is taken verbatim.
// Modelfiles are untrusted input: every error names the line it is on.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uma/runtime/chat_prompt.h"

namespace uma {

struct GenerateOptions;

// Named generation parameters, as in a Modelfile's PARAMETER lines and the `options` object of
// Ollama's API (the same names). Values are checked against each parameter's type and range.
class ModelParameters {
  public:
    // A parameter as written in a Modelfile (text); `stop` adds one more stop sequence.
    void set_text(std::string_view key, std::string_view text);
    // A parameter as JSON (API options, stored manifests); `stop` takes a string or a list and
    // replaces the stop sequences.
    void set_json(std::string_view key, const nlohmann::json& value);
    static ModelParameters from_json(const nlohmann::json& object);
    static ModelParameters from_json(const nlohmann::ordered_json& object);  // keeps the order
    static bool known(std::string_view key);

    bool empty() const { return values_.empty(); }
    bool has(std::string_view key) const { return values_.contains(std::string(key)); }
    std::optional<int64_t> get_int(std::string_view key) const;
    std::optional<double> get_float(std::string_view key) const;
    std::vector<std::string> stop() const;
    const nlohmann::ordered_json& json() const { return values_; }

    // Parameters of `overrides` replace these, key by key.
    void merge(const ModelParameters& overrides);
    // Sampling and length parameters into generation options (num_ctx and num_thread are for
    // whoever creates the session).
    void apply_to(GenerateOptions& options) const;

    bool operator==(const ModelParameters& other) const { return values_ == other.values_; }

  private:
    nlohmann::ordered_json values_ = nlohmann::ordered_json::object();
};

struct Modelfile {
    std::string from;  // a GGUF path or a model name, as written
    int from_line = 0;
    ModelParameters parameters;
    std::optional<std::string> system;
    std::optional<std::string> template_text;
    std::optional<std::string> license;
    std::vector<ChatMessage> messages;

    // Throws uma::Error("<source>:<line>: ...") on any error.
    static Modelfile parse(std::string_view text, std::string_view source = "Modelfile");
    // Text that parses back to an equal Modelfile.
    std::string to_string() const;
};

// How a value is written in a Modelfile so that it reads back unchanged.
std::string modelfile_quote(std::string_view text);
// The "quoted string" form, with escapes.
std::string quote_escaped(std::string_view text);

}  // namespace uma
