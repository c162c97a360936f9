#include "http_util.h"

#include <ctime>
#include <random>

#include "uma/runtime/model_manager.h"
#include "uma/runtime/scheduler.h"

namespace uma::server {
namespace {

std::string openai_error_type(int status) {
    switch (status) {
        case 401:
            return "authentication_error";
        case 404:
            return "not_found_error";
        case 413:
            return "request_too_large";
        case 429:
        case 503:
            return "server_busy";
        default:
            return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

[[noreturn]] void wrong_type(const char* field, const char* expected, const Json& value) {
    throw HttpError(400, std::string("field '") + field + "' must be " + expected + ", got " +
                             std::string(value.type_name()));
}

const Json* field_of(const Json& body, const char* field) {
    const auto it = body.find(field);
    if (it == body.end() || it->is_null()) return nullptr;
    return &*it;
}

}  // namespace

Json error_body(ApiFlavor flavor, int status, const std::string& message) {
    if (flavor == ApiFlavor::Ollama) return Json{{"error", message}};
    return Json{{"error",
                 {{"message", message},
                  {"type", openai_error_type(status)},
                  {"param", nullptr},
                  {"code", nullptr}}}};
}

void send_json(httplib::Response& res, const Json& body, int status) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, ApiFlavor flavor, int status, const std::string& message) {
    send_json(res, error_body(flavor, status, message), status);
}

int status_of(const std::exception& e) {
    if (const auto* http = dynamic_cast<const HttpError*>(&e)) return http->status();
    if (dynamic_cast<const ModelNotFoundError*>(&e)) return 404;
    if (dynamic_cast<const QueueFullError*>(&e)) return 503;
    if (dynamic_cast<const Error*>(&e)) return 400;
    return 500;
}

httplib::Server::Handler guarded(ApiFlavor flavor, httplib::Server::Handler handler) {
    return [flavor, handler = std::move(handler)](const httplib::Request& req,
                                                  httplib::Response& res) {
        try {
            handler(req, res);
        } catch (const std::bad_alloc&) {
            send_error(res, flavor, 500, "out of memory while handling the request");
        } catch (const std::exception& e) {
            const int status = status_of(e);
            send_error(res, flavor, status,
                       status == 500 ? std::string("internal error: ") + e.what() : e.what());
        }
    };
}

Json parse_body(const httplib::Request& req) {
    if (req.body.empty()) throw HttpError(400, "the request body is empty: send a JSON object");
    Json body;
    try {
        body = Json::parse(req.body);
    } catch (const nlohmann::json::parse_error& e) {
        throw HttpError(400, std::string("invalid JSON in the request body: ") + e.what());
    }
    if (!body.is_object())
        throw HttpError(
            400, std::string("the request body must be a JSON object, got ") + body.type_name());
    return body;
}

std::optional<std::string> get_string(const Json& body, const char* field) {
    const Json* v = field_of(body, field);
    if (!v) return std::nullopt;
    if (!v->is_string()) wrong_type(field, "a string", *v);
    return v->get<std::string>();
}

std::optional<bool> get_bool(const Json& body, const char* field) {
    const Json* v = field_of(body, field);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) wrong_type(field, "true or false", *v);
    return v->get<bool>();
}

std::optional<int64_t> get_int(const Json& body, const char* field) {
    const Json* v = field_of(body, field);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) return v->get<int64_t>();
    if (v->is_number_float() &&
        v->get<double>() == static_cast<double>(static_cast<int64_t>(v->get<double>())))
        return static_cast<int64_t>(v->get<double>());
    wrong_type(field, "an integer", *v);
}

std::optional<double> get_number(const Json& body, const char* field) {
    const Json* v = field_of(body, field);
    if (!v) return std::nullopt;
    if (!v->is_number()) wrong_type(field, "a number", *v);
    return v->get<double>();
}

const Json* get_object(const Json& body, const char* field) {
    const Json* v = field_of(body, field);
    if (v && !v->is_object()) wrong_type(field, "an object", *v);
    return v;
}

const Json* get_array(const Json& body, const char* field) {
    const Json* v = field_of(body, field);
    if (v && !v->is_array()) wrong_type(field, "an array", *v);
    return v;
}

std::string require_string(const Json& body, const char* field) {
    auto v = get_string(body, field);
    if (!v) throw HttpError(400, std::string("field '") + field + "' is required");
    return *v;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
    const auto since_epoch = t.time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs);
    const std::time_t tt = secs.count();
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char date[32], out[48];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(out, sizeof out, "%s.%09lldZ", date, static_cast<long long>(nanos.count()));
    return out;
}

int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

int64_t nanoseconds(double seconds) {
    return static_cast<int64_t>(seconds * 1e9);
}

std::string random_id(size_t length) {
    static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device device;
    std::mt19937_64 rng(device());
    std::uniform_int_distribution<size_t> pick(0, sizeof kChars - 2);
    std::string out;
    for (size_t i = 0; i < length; ++i) out.push_back(kChars[pick(rng)]);
    return out;
}

}  // namespace uma::server
