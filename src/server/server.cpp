// The HTTP server: listening, the thread pool, CORS and API-key checks in front of every route,
// and JSON answers for what httplib itself rejects (unknown routes, oversized bodies).
#include "uma/server/server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>

#include "routes.h"

namespace uma {
namespace {

using server::ApiFlavor;

ApiFlavor flavor_of(const httplib::Request& req) {
    return req.path.rfind("/v1/", 0) == 0 ? ApiFlavor::OpenAI : ApiFlavor::Ollama;
}

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

// Ollama's default CORS policy: local origins on any port and the app schemes of desktop tools.
bool is_local_origin(const std::string& origin) {
    for (const char* scheme :
         {"app://", "file://", "tauri://", "vscode-webview://", "vscode-file://"})
        if (starts_with(origin, scheme)) return true;
    for (const char* scheme : {"http://", "https://"}) {
        if (!starts_with(origin, scheme)) continue;
        const std::string host = origin.substr(std::string(scheme).size());
        for (const char* local : {"localhost", "127.0.0.1", "0.0.0.0", "[::1]"}) {
            const std::string l = local;
            if (host == l || starts_with(host, l + ":")) return true;
        }
    }
    return false;
}

bool origin_allowed(const std::string& origin, const std::vector<std::string>& allowed) {
    if (is_local_origin(origin)) return true;
    for (const auto& pattern : allowed) {
        if (pattern == "*" || pattern == origin) return true;
        if (!pattern.empty() && pattern.back() == '*' &&
            starts_with(origin, pattern.substr(0, pattern.size() - 1)))
            return true;
    }
    return false;
}

// Compares without stopping at the first difference, so response times do not leak the key.
bool same_secret(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i)
        diff |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

}  // namespace

void parse_host(const std::string& text, ServerOptions& options) {
    std::string rest = text;
    for (const char* scheme : {"http://", "https://"})
        if (starts_with(rest, scheme)) rest = rest.substr(std::string(scheme).size());
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.empty()) throw Error("UMA_HOST: empty address");
    std::string host = rest, port;
    if (rest.front() == '[') {  // [::1]:11434
        const size_t close = rest.find(']');
        if (close == std::string::npos) throw Error("UMA_HOST: unclosed [ in '" + text + "'");
        host = rest.substr(1, close - 1);
        if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
    } else if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    if (!host.empty()) options.host = host;
    if (!port.empty()) {
        try {
            size_t used = 0;
            const int value = std::stoi(port, &used);
            if (used != port.size() || value < 0 || value > 65535) throw std::out_of_range(port);
            options.port = value;
        } catch (const std::exception&) {
            throw Error("UMA_HOST: '" + port + "' is not a port number");
        }
    }
}

struct Server::Impl {
    ServerOptions options;
    ServerMetrics metrics;  // before the models, whose schedulers update it
    ModelManager models;
    server::ServerContext context{models, options, metrics};
    httplib::Server http;

    explicit Impl(ServerOptions o) : options(std::move(o)), models(options.models, &metrics) {}

    void install() {
        const size_t threads = options.http_threads > 0
                                   ? static_cast<size_t>(options.http_threads)
                                   : std::min<size_t>(1024, options.models.max_queue + 64);
        http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
        http.set_payload_max_length(options.max_body_bytes);
        http.set_keep_alive_max_count(1000);
        http.set_read_timeout(60, 0);
        http.set_write_timeout(60, 0);

        http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            const std::string origin = req.get_header_value("Origin");
            if (!origin.empty()) {
                if (!origin_allowed(origin, options.allowed_origins)) {
                    server::send_error(
                        res, flavor_of(req), 403,
                        "origin '" + origin +
                            "' is not allowed (allow it with --origins or UMA_ORIGINS)");
                    return httplib::Server::HandlerResponse::Handled;
                }
                res.set_header("Access-Control-Allow-Origin", origin);
                res.set_header("Vary", "Origin");
            }
            if (req.method == "OPTIONS") {  // CORS preflight: no key needed
                res.set_header("Access-Control-Allow-Methods",
                               "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS");
                const std::string asked = req.get_header_value("Access-Control-Request-Headers");
                res.set_header(
                    "Access-Control-Allow-Headers",
                    asked.empty()
                        ? "Authorization, Content-Type, User-Agent, Accept, X-Requested-With"
                        : asked);
                res.set_header("Access-Control-Max-Age", "43200");
                res.status = 204;
                return httplib::Server::HandlerResponse::Handled;
            }
            if (!options.api_key.empty() && req.path != "/") {
                const std::string auth = req.get_header_value("Authorization");
                const std::string bearer = "Bearer ";
                if (!starts_with(auth, bearer) ||
                    !same_secret(auth.substr(bearer.size()), options.api_key)) {
                    res.set_header("WWW-Authenticate", "Bearer");
                    server::send_error(res, flavor_of(req), 401,
                                       auth.empty()
                                           ? "missing API key: send 'Authorization: Bearer <key>'"
                                           : "invalid API key");
                    return httplib::Server::HandlerResponse::Handled;
                }
            }
            return httplib::Server::HandlerResponse::Unhandled;
        });

        http.set_error_handler(httplib::Server::HandlerWithResponse(
            [this](const httplib::Request& req, httplib::Response& res) {
                if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
                std::string message;
                switch (res.status) {
                    case 404:
                        message = "not found: " + req.method + " " + req.path;
                        break;
                    case 413:
                        message = "the request body is larger than the limit of " +
                                  std::to_string(options.max_body_bytes) + " bytes";
                        break;
                    default:
                        message = "HTTP error " + std::to_string(res.status);
                }
                server::send_error(res, flavor_of(req), res.status, message);
                return httplib::Server::HandlerResponse::Handled;
            }));

        // Every answer, also the ones refused above or by httplib, just before it is sent.
        http.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            metrics.count_request(server::endpoint_label(req.path), res.status);
        });

        server::register_model_routes(http, context);
        server::register_ollama_routes(http, context);
        server::register_openai_routes(http, context);
        server::register_metrics_routes(http, context);
    }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    impl_->install();
}

namespace {

// Debian's cpp-httplib is a shared library built to listen with a queue of 5 connections: a burst
// of clients (an editor opening several at once, a load test) overflowed it and some connections
// were reset. Linux enlarges the queue when listen() is called again on the listening socket,
// which httplib does not expose, so it is found among this process's sockets by its port.
void widen_listen_queue(int port) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        int fd = -1;
        try {
            fd = std::stoi(entry.path().filename().string());
        } catch (const std::exception&) {
            continue;
        }
        int accepting = 0;
        socklen_t length = sizeof accepting;
        if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0 || !accepting)
            continue;
        sockaddr_storage address{};
        socklen_t address_length = sizeof address;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0)
            continue;
        int bound = -1;
        if (address.ss_family == AF_INET)
            bound = ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
        else if (address.ss_family == AF_INET6)
            bound = ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
        if (bound == port) ::listen(fd, SOMAXCONN);
    }
}

}  // namespace

Server::~Server() {
    stop();
}

void Server::run(const std::function<void(int port)>& on_listening) {
    auto& o = impl_->options;
    int port = o.port;
    if (port == 0) {
        port = impl_->http.bind_to_any_port(o.host);
        if (port < 0) throw Error("cannot listen on " + o.host + ": no free port");
    } else if (!impl_->http.bind_to_port(o.host, port)) {
        throw Error("cannot listen on " + o.host + ":" + std::to_string(port) +
                    " (is another server using it? set UMA_HOST or --port)");
    }
    widen_listen_queue(port);
    if (on_listening) on_listening(port);
    impl_->http.listen_after_bind();
}

void Server::stop() {
    if (impl_) impl_->http.stop();
}

}  // namespace uma
