// `uma ps`: the models a running `uma serve` has loaded (its /api/ps).
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "args.h"
#include "commands.h"
#include "format.h"
#include "uma/core/error.h"
#include "uma/server/server.h"

namespace uma::cli {

int cmd_ps(int argc, char** argv) {
    Args args(argc, argv, 2, {}, {"--host"});
    ServerOptions where;
    const char* env_host = std::getenv("UMA_HOST");
    parse_host(args.get("--host", env_host && *env_host ? env_host : "127.0.0.1:11434"), where);
    const std::string host = where.host == "0.0.0.0" ? "127.0.0.1" : where.host;
    httplib::Client client(host, where.port);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(10, 0);
    httplib::Headers headers;
    if (const char* key = std::getenv("UMA_API_KEY"); key && *key)
        headers.emplace("Authorization", std::string("Bearer ") + key);
    const auto res = client.Get("/api/ps", headers);
    const std::string address = host + ":" + std::to_string(where.port);
    if (!res)
        throw Error("no server at " + address + " (start one with 'uma serve'; UMA_HOST moves it)");
    nlohmann::json body;
    try {
        body = nlohmann::json::parse(res->body);
    } catch (const nlohmann::json::exception&) {
        throw Error("the server at " + address + " did not answer with JSON (status " +
                    std::to_string(res->status) + ")");
    }
    if (res->status != 200)
        throw Error("the server at " + address + " answered " + std::to_string(res->status) + ": " +
                    body.value("error", nlohmann::json()).dump());
    std::printf("%-32s %-12s %-8s %-9s %-7s %s\n", "NAME", "SIZE", "CONTEXT", "PARALLEL", "ACTIVE",
                "UNTIL");
    for (const auto& m : body.value("models", nlohmann::json::array())) {
        std::printf("%-32s %-12s %-8lld %-9lld %-7lld %s\n", m.value("name", "").c_str(),
                    human_bytes(m.value("size", size_t{0})).c_str(),
                    static_cast<long long>(m.value("context_length", 0)),
                    static_cast<long long>(m.value("parallel", 0)),
                    static_cast<long long>(m.value("active_requests", 0)),
                    m.value("expires_at", "").c_str());
    }
    return 0;
}

}  // namespace uma::cli
