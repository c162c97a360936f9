#pragma once
// `uma serve`: an HTTP server speaking the Ollama API (/api/...) and the OpenAI API (/v1/...)
// over the models of a ModelManager.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "uma/runtime/model_manager.h"

namespace uma {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 11434;     // 0: any free port (reported to on_listening)
    std::string api_key;  // non-empty: every request needs "Authorization: Bearer <key>"
    // Origins allowed by CORS besides the local ones Ollama allows (localhost, 127.0.0.1 and
    // 0.0.0.0 on any port, app://, file://, tauri://, vscode-webview://); "*" allows any.
    std::vector<std::string> allowed_origins;
    size_t max_body_bytes = size_t{32} << 20;  // larger bodies are answered 413
    int http_threads = 0;                      // 0: enough for max_queue waiting clients
    ModelManagerOptions models;
};

// "host", "host:port", "http://host:port" (UMA_HOST's forms) into options.host and .port.
void parse_host(const std::string& text, ServerOptions& options);

class Server {
  public:
    explicit Server(ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and serves until stop(); throws uma::Error when the address cannot be bound.
    // `on_listening` receives the bound port once the server accepts connections.
    void run(const std::function<void(int port)>& on_listening = {});
    void stop();  // safe from any thread, also from a signal-watching one

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace uma
