#pragma once
// Request parsing and error answers shared by the Ollama and OpenAI routes.
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "uma/core/error.h"

namespace uma::server {

using Json = nlohmann::ordered_json;

// An error with the HTTP status it is answered with.
class HttpError : public Error {
  public:
    HttpError(int status, const std::string& message) : Error(message), status_(status) {}
    int status() const { return status_; }

  private:
    int status_;
};

// The two error shapes: Ollama's {"error": "..."} and OpenAI's {"error": {"message", "type"}}.
enum class ApiFlavor { Ollama, OpenAI };

Json error_body(ApiFlavor flavor, int status, const std::string& message);
void send_error(httplib::Response& res, ApiFlavor flavor, int status, const std::string& message);
void send_json(httplib::Response& res, const Json& body, int status = 200);

// The status a caught exception is answered with (HttpError, ModelNotFoundError: 404,
// QueueFullError: 503, other uma::Error: 400, anything else: 500).
int status_of(const std::exception& e);

// Wraps a route so that every exception becomes a JSON error of the route's flavor.
httplib::Server::Handler guarded(ApiFlavor flavor, httplib::Server::Handler handler);

// The request body as a JSON object; 400 naming the problem when it is not one.
Json parse_body(const httplib::Request& req);

// Typed optional fields: absent or null gives nullopt, a value of the wrong type a 400 that names
// the field and the type expected.
std::optional<std::string> get_string(const Json& body, const char* field);
std::optional<bool> get_bool(const Json& body, const char* field);
std::optional<int64_t> get_int(const Json& body, const char* field);
std::optional<double> get_number(const Json& body, const char* field);
const Json* get_object(const Json& body, const char* field);
const Json* get_array(const Json& body, const char* field);
std::string require_string(const Json& body, const char* field);

// "2024-05-01T12:00:00.123456789Z"
std::string rfc3339(std::chrono::system_clock::time_point t);
int64_t unix_seconds(std::chrono::system_clock::time_point t);
int64_t nanoseconds(double seconds);
// A random identifier suffix for response ids ("chatcmpl-<this>").
std::string random_id(size_t length = 24);

}  // namespace uma::server
