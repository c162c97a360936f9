#include "server_client.h"

#include <httplib.h>

#include <cstdlib>

#include "uma/core/error.h"
#include "uma/server/server.h"

namespace uma::cli {
namespace {

constexpr const char* kDefaultAddress = "127.0.0.1:11434";  // uma serve's

std::string base_url(const ServerAddress& a) {
    const bool ipv6 = a.host.find(':') != std::string::npos;
    return a.scheme + "://" + (ipv6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

}  // namespace

std::string ServerAddress::display() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    return (scheme == "https" ? "https://" : "") + (ipv6 ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
}

ServerAddress server_address(const Args& args) {
    const auto host = args.value("--host");
    const auto url = args.value("--url");
    if (host && url) throw Error("give --host or --url, not both");
    ServerAddress address;
    std::string text;
    if (url) {
        text = *url;
        if (text.rfind("https://", 0) == 0) address.scheme = "https";
        const size_t scheme_end = text.find("://");
        const size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
        const size_t path = text.find('/', host_start);
        if (path != std::string::npos) text = text.substr(0, path);
    } else if (host) {
        text = *host;
    } else {
        const char* env = std::getenv("UMA_HOST");
        text = env && *env ? env : kDefaultAddress;
        if (text.rfind("https://", 0) == 0) address.scheme = "https";
    }
    ServerOptions where;
    parse_host(text, where);
    address.host = where.host == "0.0.0.0" ? "127.0.0.1" : where.host;
    address.port = where.port;
    return address;
}

ServerClient::ServerClient(ServerAddress address, int connect_timeout_s, int read_timeout_s)
    : address_(std::move(address)),
      connect_timeout_s_(connect_timeout_s),
      read_timeout_s_(read_timeout_s) {}

std::string ServerClient::get(const std::string& path) const {
    httplib::Client client(base_url(address_));
    client.set_connection_timeout(connect_timeout_s_, 0);
    client.set_read_timeout(read_timeout_s_, 0);
    httplib::Headers headers;
    if (const char* key = std::getenv("UMA_API_KEY"); key && *key)
        headers.emplace("Authorization", std::string("Bearer ") + key);
    const auto res = client.Get(path.c_str(), headers);
    const std::string where = address_.display();
    if (!res)
        throw Error("no server at " + where + " (start one with 'uma serve'; UMA_HOST moves it)");
    if (res->status != 200) {
        std::string detail = res->body;
        const auto body = nlohmann::json::parse(res->body, nullptr, false);
        if (body.is_object() && body.contains("error")) detail = body["error"].dump();
        if (detail.size() > 200) detail = detail.substr(0, 200) + "...";
        throw Error("the server at " + where + " answered " + std::to_string(res->status) +
                    " to GET " + path + (detail.empty() ? "" : ": " + detail));
    }
    return res->body;
}

nlohmann::json ServerClient::get_json(const std::string& path) const {
    const std::string body = get(path);
    auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded())
        throw Error("the server at " + address_.display() + " did not answer GET " + path +
                    " with JSON");
    return json;
}

}  // namespace uma::cli
