#include "uma/runtime/modelfile.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "uma/core/error.h"
#include "uma/runtime/session.h"

namespace uma {
namespace {

enum class ParamKind { Int, Float, Bool, StopList };

struct ParamSpec {
    std::string_view name;
    ParamKind kind;
    double min, max;  // inclusive range of Int and Float values
};

// Ollama's parameter names, so that existing Modelfiles and API clients work unchanged. uma
// applies the sampling ones; the others are kept and shown.
constexpr double kBig = 1e18;
constexpr ParamSpec kParams[] = {
    {"num_ctx", ParamKind::Int, 1, 1 << 24},
    {"num_batch", ParamKind::Int, 1, 1 << 20},
    {"num_thread", ParamKind::Int, 0, 4096},
    {"num_gpu", ParamKind::Int, -1, 1 << 20},
    {"main_gpu", ParamKind::Int, 0, 1024},
    {"num_keep", ParamKind::Int, -1, 1 << 24},
    {"num_predict", ParamKind::Int, -2, kBig},
    {"seed", ParamKind::Int, -1, kBig},
    {"top_k", ParamKind::Int, 0, 1 << 30},
    {"top_p", ParamKind::Float, 0, 1},
    {"min_p", ParamKind::Float, 0, 1},
    {"typical_p", ParamKind::Float, 0, 1},
    {"tfs_z", ParamKind::Float, 0, kBig},
    {"temperature", ParamKind::Float, 0, 1000},
    {"repeat_last_n", ParamKind::Int, -1, 1 << 24},
    {"repeat_penalty", ParamKind::Float, 0, 1000},
    {"presence_penalty", ParamKind::Float, -1000, 1000},
    {"frequency_penalty", ParamKind::Float, -1000, 1000},
    {"mirostat", ParamKind::Int, 0, 2},
    {"mirostat_tau", ParamKind::Float, 0, 1000},
    {"mirostat_eta", ParamKind::Float, 0, 1000},
    {"penalize_newline", ParamKind::Bool, 0, 0},
    {"use_mmap", ParamKind::Bool, 0, 0},
    {"stop", ParamKind::StopList, 0, 0},
};

const ParamSpec* find_spec(std::string_view key) {
    for (const auto& spec : kParams)
        if (spec.name == key) return &spec;
    return nullptr;
}

const ParamSpec& require_spec(std::string_view key) {
    if (const auto* spec = find_spec(key)) return *spec;
    std::string known;
    for (const auto& spec : kParams) known += (known.empty() ? "" : ", ") + std::string(spec.name);
    throw Error("unknown parameter '" + std::string(key) + "' (known: " + known + ")");
}

std::string range_text(const ParamSpec& spec) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%g to %g", spec.min, spec.max);
    return buf;
}

nlohmann::json checked_number(const ParamSpec& spec, double value, std::string_view shown) {
    if (!std::isfinite(value) || value < spec.min || value > spec.max)
        throw Error("parameter " + std::string(spec.name) + " must be " + range_text(spec) +
                    ", got " + std::string(shown));
    if (spec.kind == ParamKind::Int) return static_cast<int64_t>(value);
    return value;
}

bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80           ? 1
                   : (c >> 5) == 0x6  ? 2
                   : (c >> 4) == 0xE  ? 3
                   : (c >> 3) == 0x1E ? 4
                                      : 0;
        if (n == 0 || i + n > s.size()) return false;
        uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
        for (size_t k = 1; k < n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        i += n;
    }
    return true;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Reads a Modelfile line by line; a value may continue over later lines (triple quotes).
class Parser {
  public:
    Parser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

    Modelfile parse() {
        Modelfile mf;
        while (next_line()) {
            std::string_view rest = trim(line_);
            if (rest.empty() || rest.front() == '#') continue;
            const std::string_view word = take_word(rest);
            const std::string instruction = lower(word);
            rest = trim(rest);
            if (instruction == "from") {
                if (!mf.from.empty())
                    fail("a Modelfile has one FROM (the first is on line " +
                         std::to_string(mf.from_line) + ")");
                mf.from_line = line_number_;
                mf.from = value(rest, "FROM needs a GGUF file path or a model name");
            } else if (instruction == "parameter") {
                const std::string key = lower(take_word(rest));
                if (key.empty()) fail("PARAMETER needs a name and a value");
                const int line = line_number_;
                const std::string text = value(trim(rest), "PARAMETER " + key + " needs a value");
                try {
                    mf.parameters.set_text(key, text);
                } catch (const Error& e) {
                    fail_at(line, e.what());
                }
            } else if (instruction == "system") {
                mf.system = value(rest, "SYSTEM needs a message");
            } else if (instruction == "template") {
                mf.template_text = value(rest, "TEMPLATE needs a template");
            } else if (instruction == "license") {
                mf.license = value(rest, "LICENSE needs text");
            } else if (instruction == "message") {
                const std::string role = lower(take_word(rest));
                if (role != "system" && role != "user" && role != "assistant" && role != "tool")
                    fail(role.empty() ? "MESSAGE needs a role and a message"
                                      : "MESSAGE role must be system, user, assistant or tool, "
                                        "got '" +
                                            role + "'");
                mf.messages.push_back({role, value(trim(rest), "MESSAGE needs a message")});
            } else if (instruction == "adapter") {
                fail("ADAPTER (LoRA adapters) is not supported yet");
            } else if (instruction == "requires") {
                value(rest,
                      "REQUIRES needs a version");  // a minimum Ollama version: no meaning here
            } else {
                fail("unknown instruction '" + printable(word) +
                     "' (expected FROM, PARAMETER, SYSTEM, TEMPLATE, MESSAGE, LICENSE)");
            }
        }
        if (mf.from.empty())
            throw Error(std::string(source_) +
                        ": no FROM line (it names the "
                        "GGUF file or model to build on)");
        return mf;
    }

  private:
    bool next_line() {
        if (pos_ >= text_.size()) return false;
        const size_t end = std::min(text_.find('\n', pos_), text_.size());
        line_ = text_.substr(pos_, end - pos_);
        if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);  // CRLF files
        pos_ = end + 1;
        ++line_number_;
        if (!valid_utf8(line_)) fail("the text is not valid UTF-8");
        if (line_.find('\0') != std::string_view::npos) fail("the line contains a NUL byte");
        return true;
    }

    static std::string_view take_word(std::string_view& rest) {
        size_t n = 0;
        while (n < rest.size() && !is_space(rest[n])) ++n;
        const std::string_view word = rest.substr(0, n);
        rest.remove_prefix(n);
        return word;
    }

    // The value starting at `rest`: triple-quoted (may continue on later lines), quoted, or bare.
    std::string value(std::string_view rest, const std::string& missing) {
        if (rest.empty()) fail(missing);
        if (rest.substr(0, 3) == "\"\"\"") return triple_quoted(rest.substr(3));
        if (rest.front() == '"') return quoted(rest.substr(1));
        return std::string(rest);
    }

    std::string triple_quoted(std::string_view rest) {
        const int start_line = line_number_;
        std::string out;
        for (;;) {
            if (const size_t close = rest.find("\"\"\""); close != std::string_view::npos) {
                out.append(rest.substr(0, close));
                if (!trim(rest.substr(close + 3)).empty())
                    fail("unexpected text after the closing \"\"\"");
                return out;
            }
            out.append(rest);
            if (!next_line())
                fail_at(start_line, "the \"\"\" string starting here is never closed");
            out.push_back('\n');
            rest = line_;
        }
    }

    std::string quoted(std::string_view rest) {
        std::string out;
        for (size_t i = 0; i < rest.size(); ++i) {
            const char c = rest[i];
            if (c == '"') {
                if (!trim(rest.substr(i + 1)).empty()) fail("unexpected text after the closing \"");
                return out;
            }
            if (c != '\\' || i + 1 == rest.size()) {
                out.push_back(c);
                continue;
            }
            const char e = rest[++i];
            switch (e) {
                case 'n':
                    out.push_back('\n');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case '\\':
                    out.push_back('\\');
                    break;
                case '"':
                    out.push_back('"');
                    break;
                default:  // not an escape: kept as written (Windows paths)
                    out.push_back('\\');
                    out.push_back(e);
            }
        }
        fail("the quoted string is never closed (use \"\"\" for text over several lines)");
    }

    static std::string printable(std::string_view s) {
        std::string out;
        for (const char c : s.substr(0, 40))
            out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
        return out;
    }

    [[noreturn]] void fail(const std::string& message) const { fail_at(line_number_, message); }
    [[noreturn]] void fail_at(int line, const std::string& message) const {
        throw Error(std::string(source_) + ":" + std::to_string(line) + ": " + message);
    }

    std::string_view text_, source_, line_;
    size_t pos_ = 0;
    int line_number_ = 0;
};

}  // namespace

void ModelParameters::set_text(std::string_view key, std::string_view text) {
    const ParamSpec& spec = require_spec(key);
    const std::string value(text);
    switch (spec.kind) {
        case ParamKind::StopList:
            if (value.empty()) throw Error("parameter stop needs a non-empty text");
            if (!values_.contains("stop")) values_["stop"] = nlohmann::ordered_json::array();
            values_["stop"].push_back(value);
            return;
        case ParamKind::Bool: {
            const std::string v = lower(value);
            if (v != "true" && v != "false")
                throw Error("parameter " + std::string(key) + " must be true or false, got '" +
                            value + "'");
            values_[std::string(key)] = v == "true";
            return;
        }
        case ParamKind::Int:
        case ParamKind::Float: {
            char* end = nullptr;
            errno = 0;
            const double number = spec.kind == ParamKind::Int
                                      ? static_cast<double>(std::strtoll(value.c_str(), &end, 10))
                                      : std::strtod(value.c_str(), &end);
            if (errno != 0 || end == value.c_str() || *end != '\0')
                throw Error("parameter " + std::string(key) + " expects " +
                            (spec.kind == ParamKind::Int ? "an integer" : "a number") + ", got '" +
                            value + "'");
            values_[std::string(key)] = checked_number(spec, number, value);
            return;
        }
    }
}

void ModelParameters::set_json(std::string_view key, const nlohmann::json& value) {
    const ParamSpec& spec = require_spec(key);
    const std::string name(key);
    switch (spec.kind) {
        case ParamKind::StopList: {
            auto list = nlohmann::ordered_json::array();
            if (value.is_string())
                list.push_back(value.get<std::string>());
            else if (value.is_array() && std::all_of(value.begin(), value.end(),
                                                     [](const auto& v) { return v.is_string(); }))
                for (const auto& v : value) list.push_back(v.get<std::string>());
            else
                throw Error("parameter stop must be a string or a list of strings");
            values_[name] = list;
            return;
        }
        case ParamKind::Bool:
            if (!value.is_boolean()) throw Error("parameter " + name + " must be true or false");
            values_[name] = value.get<bool>();
            return;
        case ParamKind::Int:
            if (!value.is_number_integer() &&
                !(value.is_number_float() &&
                  std::floor(value.get<double>()) == value.get<double>()))
                throw Error("parameter " + name + " must be an integer, got " + value.dump());
            values_[name] = checked_number(spec, value.get<double>(), value.dump());
            return;
        case ParamKind::Float:
            if (!value.is_number())
                throw Error("parameter " + name + " must be a number, got " + value.dump());
            values_[name] = checked_number(spec, value.get<double>(), value.dump());
            return;
    }
}

ModelParameters ModelParameters::from_json(const nlohmann::json& object) {
    if (!object.is_object()) throw Error("parameters must be a JSON object");
    ModelParameters p;
    for (const auto& [key, value] : object.items()) p.set_json(key, value);
    return p;
}

ModelParameters ModelParameters::from_json(const nlohmann::ordered_json& object) {
    if (!object.is_object()) throw Error("parameters must be a JSON object");
    ModelParameters p;
    for (const auto& [key, value] : object.items())
        p.set_json(key, nlohmann::json::parse(value.dump()));
    return p;
}

bool ModelParameters::known(std::string_view key) {
    return find_spec(key) != nullptr;
}

std::optional<int64_t> ModelParameters::get_int(std::string_view key) const {
    const auto it = values_.find(std::string(key));
    if (it == values_.end() || !it->is_number()) return std::nullopt;
    return it->get<int64_t>();
}

std::optional<double> ModelParameters::get_float(std::string_view key) const {
    const auto it = values_.find(std::string(key));
    if (it == values_.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
}

std::vector<std::string> ModelParameters::stop() const {
    std::vector<std::string> out;
    if (const auto it = values_.find("stop"); it != values_.end())
        for (const auto& s : *it) out.push_back(s.get<std::string>());
    return out;
}

void ModelParameters::merge(const ModelParameters& overrides) {
    for (const auto& [key, value] : overrides.values_.items()) values_[key] = value;
}

void ModelParameters::apply_to(GenerateOptions& options) const {
    SamplerParams& s = options.sampling;
    if (auto v = get_float("temperature")) s.temperature = static_cast<float>(*v);
    if (auto v = get_int("top_k")) s.top_k = static_cast<int32_t>(*v);
    if (auto v = get_float("top_p")) s.top_p = static_cast<float>(*v);
    if (auto v = get_float("min_p")) s.min_p = static_cast<float>(*v);
    if (auto v = get_float("repeat_penalty")) s.repeat_penalty = static_cast<float>(*v);
    if (auto v = get_int("repeat_last_n")) s.repeat_last_n = static_cast<int32_t>(*v);
    if (auto v = get_int("seed"); v && *v >= 0) s.seed = static_cast<uint64_t>(*v);
    if (auto v = get_int("num_predict")) options.max_tokens = *v < 0 ? -1 : *v;
    if (has("stop")) options.stop = stop();
}

Modelfile Modelfile::parse(std::string_view text, std::string_view source) {
    return Parser(text, source).parse();
}

std::string modelfile_quote(std::string_view text) {
    const bool bare_ok = !text.empty() && text.find('\n') == std::string_view::npos &&
                         trim(text) == text && text.front() != '"' &&
                         text.find('\r') == std::string_view::npos;
    if (bare_ok) return std::string(text);
    // Triple quotes keep text verbatim, unless it holds """ or ends in a quote (which would
    // read as part of the closing quotes).
    if (text.find("\"\"\"") == std::string_view::npos &&
        text.find('\r') == std::string_view::npos && (text.empty() || text.back() != '"'))
        return "\"\"\"" + std::string(text) + "\"\"\"";
    return quote_escaped(text);
}

std::string quote_escaped(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            default:
                out.push_back(c);
        }
    }
    return out + "\"";
}

std::string Modelfile::to_string() const {
    std::string out = "FROM " + modelfile_quote(from) + "\n";
    if (template_text) out += "TEMPLATE " + modelfile_quote(*template_text) + "\n";
    if (system) out += "SYSTEM " + modelfile_quote(*system) + "\n";
    for (const auto& [key, value] : parameters.json().items()) {
        if (key == "stop") {
            // Always quoted, so that stop texts with spaces or quotes stay exact.
            for (const auto& s : value)
                out += "PARAMETER stop " + quote_escaped(s.get<std::string>()) + "\n";
        } else {
            out += "PARAMETER " + key + " " + value.dump() + "\n";
        }
    }
    for (const auto& m : messages)
        out += "MESSAGE " + m.role + " " + modelfile_quote(m.content) + "\n";
    if (license) out += "LICENSE " + modelfile_quote(*license) + "\n";
    return out;
}

}  // namespace uma
