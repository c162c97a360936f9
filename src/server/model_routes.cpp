// What models there are and which are loaded: /api/tags, /api/ps, /api/show, /api/version and
// OpenAI's /v1/models.
#include <cstdio>

#include "routes.h"
#include "uma/core/gguf.h"
#include "uma/runtime/chat_prompt.h"

namespace uma::server {
namespace {

constexpr const char* kVersion = "0.1.0";

std::string parameter_size(int64_t parameters) {
    char text[32];
    if (parameters >= 1'000'000'000)
        std::snprintf(text, sizeof text, "%.1fB", parameters / 1e9);
    else if (parameters >= 1'000'000)
        std::snprintf(text, sizeof text, "%.1fM", parameters / 1e6);
    else
        std::snprintf(text, sizeof text, "%.1fK", parameters / 1e3);
    return text;
}

struct FileFacts {
    std::string architecture;
    int64_t parameters = 0;
    std::string quantization;
};

FileFacts facts_of(const GgufFile& file) {
    FileFacts f;
    f.architecture = file.get_string("general.architecture", "");
    std::map<GgmlType, size_t> bytes;
    for (const auto& t : file.tensors()) {
        f.parameters += t.n_elements();
        bytes[t.type] += t.n_bytes;
    }
    size_t best = 0;
    for (const auto& [type, n] : bytes)
        if (n > best) {
            best = n;
            f.quantization = std::string(type_name(type));
        }
    return f;
}

Json details_of(const FileFacts& f) {
    return Json{{"parent_model", ""},
                {"format", "gguf"},
                {"family", f.architecture},
                {"families", Json::array({f.architecture})},
                {"parameter_size", parameter_size(f.parameters)},
                {"quantization_level", f.quantization}};
}

std::chrono::system_clock::time_point system_time(std::filesystem::file_time_type t) {
    return std::chrono::time_point_cast<std::chrono::system_clock::duration>(
        std::chrono::file_clock::to_sys(t));
}

std::string digest_of(const ResolvedModel& m) {
    return m.digest.rfind("sha256:", 0) == 0 ? m.digest.substr(7) : m.digest;
}

Json gguf_value_json(const GgufValue& v) {
    switch (v.type) {
        case GgufValueType::STRING:
            return v.string_value;
        case GgufValueType::BOOL:
            return v.uint_value != 0;
        case GgufValueType::FLOAT32:
        case GgufValueType::FLOAT64:
            return v.float_value;
        case GgufValueType::INT8:
        case GgufValueType::INT16:
        case GgufValueType::INT32:
        case GgufValueType::INT64:
            return v.int_value;
        case GgufValueType::ARRAY:
            return nullptr;  // vocabularies: far too large to show
        default:
            return v.uint_value;
    }
}

void tags(ServerContext& ctx, httplib::Response& res) {
    Json models = Json::array();
    for (const auto& stored : ctx.models.store().list()) {
        Json m{{"name", stored.name.display()}, {"model", stored.name.display()}};
        m["modified_at"] = rfc3339(system_time(stored.modified));
        m["size"] = stored.size;
        try {
            if (const auto resolved = ctx.models.store().find(stored.name)) {
                m["digest"] = digest_of(*resolved);
                m["details"] = details_of(facts_of(*GgufFile::open(resolved->gguf_path.string())));
            }
        } catch (const Error&) {
            m["details"] = nullptr;  // a damaged model is still listed
        }
        models.push_back(std::move(m));
    }
    send_json(res, Json{{"models", models}});
}

void ps(ServerContext& ctx, httplib::Response& res) {
    Json models = Json::array();
    for (const auto& r : ctx.models.running()) {
        FileFacts facts{r.architecture, r.parameters, r.quantization};
        Json m{{"name", r.resolved.name},
               {"model", r.resolved.name},
               {"size", r.size},
               {"digest", digest_of(r.resolved)},
               {"details", details_of(facts)},
               {"expires_at", r.expires_at ? rfc3339(*r.expires_at) : "forever"},
               {"size_vram", 0},
               {"context_length", r.context_length},
               {"parallel", r.parallel},
               {"active_requests", r.active},
               {"queued_requests", r.queued}};
        models.push_back(std::move(m));
    }
    send_json(res, Json{{"models", models}});
}

void show(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    std::string name = get_string(body, "model").value_or("");
    if (name.empty()) name = get_string(body, "name").value_or("");
    if (name.empty()) throw HttpError(400, "field 'model' is required");
    const ResolvedModel m = ctx.models.resolve(name);
    std::unique_ptr<GgufFile> file;
    try {
        file = GgufFile::open(m.gguf_path.string());
    } catch (const Error& e) {
        throw HttpError(500, "reading model '" + name + "': " + e.what());
    }
    const FileFacts facts = facts_of(*file);
    Json info = Json::object();
    for (const auto& key : file->keys()) {
        const GgufValue* v = file->find(key);
        if (v && v->type != GgufValueType::ARRAY) info[key] = gguf_value_json(*v);
    }
    info["general.parameter_count"] = facts.parameters;
    const std::string chat_template = m.template_text ? *m.template_text : chat_template_of(*file);
    std::string parameters;
    for (const auto& [key, value] : m.parameters.json().items()) {
        if (value.is_array())
            for (const auto& v : value) parameters += key + " " + v.dump() + "\n";
        else
            parameters +=
                key + " " + (value.is_string() ? value.get<std::string>() : value.dump()) + "\n";
    }
    Json capabilities = Json::array({"completion"});
    if (chat_template.find("tools") != std::string::npos) capabilities.push_back("tools");
    Json reply{
        {"license", m.license.value_or("")},
        {"modelfile", m.to_modelfile().to_string()},
        {"parameters", parameters},
        {"template", chat_template.empty() ? "(none: the ChatML fallback applies)" : chat_template},
        {"system", m.system.value_or("")},
        {"details", details_of(facts)},
        {"model_info", info},
        {"capabilities", capabilities}};
    send_json(res, reply);
}

Json openai_model(const std::string& id, int64_t created) {
    return Json{{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "uma"}};
}

void openai_models(ServerContext& ctx, httplib::Response& res) {
    Json data = Json::array();
    for (const auto& stored : ctx.models.store().list()) {
        data.push_back(
            openai_model(stored.name.display(), unix_seconds(system_time(stored.modified))));
    }
    // Models loaded by path are usable too: list them after the stored ones.
    for (const auto& r : ctx.models.running())
        if (!r.resolved.in_store)
            data.push_back(
                openai_model(r.resolved.name, unix_seconds(std::chrono::system_clock::now())));
    send_json(res, Json{{"object", "list"}, {"data", data}});
}

}  // namespace

void register_model_routes(httplib::Server& http, ServerContext& ctx) {
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content("Ollama is running (uma)", "text/plain");
    });
    http.Get("/api/version", guarded(ApiFlavor::Ollama, [](const auto&, auto& res) {
                 send_json(res, Json{{"version", kVersion}});
             }));
    http.Get("/api/tags",
             guarded(ApiFlavor::Ollama, [&ctx](const auto&, auto& res) { tags(ctx, res); }));
    http.Get("/api/ps",
             guarded(ApiFlavor::Ollama, [&ctx](const auto&, auto& res) { ps(ctx, res); }));
    http.Post("/api/show", guarded(ApiFlavor::Ollama,
                                   [&ctx](const auto& req, auto& res) { show(ctx, req, res); }));
    http.Get("/v1/models", guarded(ApiFlavor::OpenAI,
                                   [&ctx](const auto&, auto& res) { openai_models(ctx, res); }));
    http.Get(R"(/v1/models/(.+))", guarded(ApiFlavor::OpenAI, [&ctx](const auto& req, auto& res) {
                 const std::string id = req.matches[1];
                 const ResolvedModel m = ctx.models.resolve(id);
                 send_json(res,
                           openai_model(m.name, unix_seconds(std::chrono::system_clock::now())));
             }));
}

}  // namespace uma::server
